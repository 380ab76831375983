// Runs the first-violation search over many seeds of every seed scenario:
// every fixed variant must be clean, and every buggy run that fails must be
// flagged at its root cause (the invariant expected for its scenario).
// Usage: npx bun scripts/check-variants.ts [--seeds A..B] [--json]
// Exit 1 when a fixed variant has a violation or a failing buggy run is not
// flagged as expected.

import { applyEvent, initState } from "../src/kernel/index.ts";
import { prepare, run } from "../src/record/index.ts";
import { Checker, INVARIANTS, type Violation } from "../src/replay/index.ts";

const argv = process.argv.slice(2);
const json = argv.includes("--json");
const si = argv.indexOf("--seeds");
const [lo, hi] = (si >= 0 ? argv[si + 1]! : "1..500").split("..").map(Number) as [number, number];

const VARIANTS: { scenario: string; fix: string; opts?: string[]; expect: string | null }[] = [
  { scenario: "cpython-fork-serenity", fix: "", expect: "recursive-mutex-owner" },
  { scenario: "cpython-fork-serenity", fix: "reinit-lock", expect: null },
  { scenario: "cpython-fork-serenity", fix: "linux", expect: null },
  { scenario: "tcmalloc-fork", fix: "", expect: "lock-owner-alive" },
  { scenario: "tcmalloc-fork", fix: "atfork-2.17", expect: null },
  { scenario: "tcmalloc-fork", fix: "posix-spawn", expect: null },
  { scenario: "rcore-kstack", fix: "", expect: "kstack-in-use" },
  { scenario: "rcore-kstack", fix: "", opts: ["stack=flush"], expect: "kstack-in-use" },
  { scenario: "rcore-kstack", fix: "", opts: ["stack=reuse"], expect: "kstack-in-use" },
  { scenario: "rcore-kstack", fix: "pr146", expect: null },
  { scenario: "rcore-kstack", fix: "pr146", opts: ["stack=flush"], expect: null },
  { scenario: "rcore-kstack", fix: "pr146", opts: ["stack=reuse"], expect: null },
  { scenario: "asterinas-procfs", fix: "", expect: "vmar-live" },
  { scenario: "asterinas-procfs", fix: "none-check", expect: null },
];

const rows = [];
let bad = 0;
for (const v of VARIANTS) {
  const tally: Record<string, number> = {};
  const problems: string[] = [];
  for (let seed = lo; seed <= hi; seed++) {
    const p = await prepare({ target: v.scenario, fix: v.fix || undefined, seed, opts: v.opts });
    const st = initState(p.world.config);
    const ck = new Checker(INVARIANTS);
    let found: Violation | null = null;
    const end = run(p, (ev) => {
      if (found) return;
      found = ck.before(st, ev);
      applyEvent(st, ev);
      found ??= ck.after(st, ev);
    });
    const f = found as Violation | null;
    const outcome = end.outcome?.kind ?? "ok";
    const key = `${f ? f.invariant : "clean"} / ${outcome}`;
    tally[key] = (tally[key] ?? 0) + 1;
    const failed = outcome !== "ok" && outcome !== "budget";
    if (v.expect === null && f) problems.push(`seed ${seed}: ${f.invariant} at seq ${f.seq}: ${f.message}`);
    if (v.expect !== null && failed && f?.invariant !== v.expect)
      problems.push(`seed ${seed}: ${outcome} but first violation is ${f ? f.invariant : "none"}`);
    if (v.expect !== null && f && f.invariant !== v.expect)
      problems.push(`seed ${seed}: ${f.invariant} instead of ${v.expect}`);
  }
  bad += problems.length;
  const name = `${v.scenario}${v.fix ? ` --fix ${v.fix}` : ""}${v.opts ? ` --opt ${v.opts.join(" ")}` : ""}`;
  rows.push({ variant: name, seeds: `${lo}..${hi}`, tally, problems: problems.slice(0, 5) });
  if (!json) {
    console.log(
      `${problems.length ? "FAIL" : "ok  "} ${name}: ${Object.entries(tally)
        .map(([k, n]) => `${n} ${k}`)
        .join(", ")}`,
    );
    for (const p of problems.slice(0, 5)) console.log(`       ${p}`);
  }
}
if (json) console.log(JSON.stringify({ seeds: `${lo}..${hi}`, rows, problems: bad }, null, 2));
process.exit(bad ? 1 : 0);
