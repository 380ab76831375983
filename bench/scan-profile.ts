// Where the first-violation scan's time goes, per event, in CPU time (a
// shared machine's wall clock says little): each stage adds one step to the
// one before, on the same events, and the differences are the steps' costs.
//   read      inflate + decode every chunk into reused columns (readColumns)
//   fill      + copy each event into one reused KEvent (fillEvent)
//   fold      + applyEvent on every event
//   quiet     read, then fill + applyEvent as the scan folds: the quiet
//             kinds (INERT_KINDS, no hook) by applyInert, without an event
//   check     quiet + the Checker around applyEvent, with the invariants the
//             scan runs (every one; data-race left out when the trace has
//             no memory access, as firstViolation does)
//   scan      firstViolation itself (walk, checkRange: the above and their bookkeeping)
// and, per invariant, check with that invariant alone, less check with none
// (every built-in one, the opt-in ones too, and the trace's own).
// With --compare DIR (another checkout, e.g. `git worktree add --detach /tmp/old
// main` with node_modules linked), it instead runs firstViolation alternately
// from DIR's sources and from these, in one process (R rounds, default 9;
// the order swapped every round), and prints each one's CPU ns/event on this
// thread and the median ratio of the rounds: an A/B that a loaded machine
// disturbs less than separate runs.
// With --without NAME, instead, the check stage (the Checker around the fold,
// as the scan runs it) on the first --events events with every invariant the
// scan runs and with all of them but NAME, alternately in one process (R
// rounds, default 11; the order swapped every round), on this thread's CPU
// clock: what NAME alone costs the scan, which the per-invariant rows (best of
// separate runs) cannot resolve below a few ns/event on a loaded machine.
// Usage: npx bun bench/scan-profile.ts [--trace FILE] [--events N] [--runs R] [--per-invariant] [--json] [--compare DIR] [--without NAME]
// (default: bench/out/stress-10000000.ktrace, as bench/seek.ts records it; the
// per-invariant rows on the first --events events, default 3M).

import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { applyEvent, applyInert } from "../src/kernel/apply.ts";
import { initState } from "../src/kernel/state.ts";
import type { KEvent } from "../src/kernel/types.ts";
import { BUILT_IN, Checker, firstViolation, type Invariant, invariantsOf, openSource } from "../src/replay/index.ts";
import { planFor } from "../src/replay/invariants.ts";
import { fillEvent } from "../src/trace/index.ts";

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const path = opt("--trace") ?? "bench/out/stress-10000000.ktrace";
const runs = Number(opt("--runs") ?? 3);
const perInvEvents = Number(opt("--events") ?? 3_000_000);
const json = argv.includes("--json");

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3; // ms
};

type Stage = "read" | "fill" | "fold" | "quiet" | "check";

/** One pass over the first `limit` events of the trace up to `stage`; returns the events seen. */
function pass(stage: Stage, limit: number, invs: readonly Invariant[] = []): number {
  const src = openSource(path);
  const st = initState(src.meta.config);
  const ck = stage === "check" || stage === "quiet" ? new Checker(stage === "quiet" ? [] : invs) : null;
  const ev: KEvent = { seq: 0, time: 0, cpu: -1, tid: -1, kind: 0, a: 0, b: 0, c: 0, s: "" };
  let seen = 0;
  let sink = 0;
  for (let ci = 0; ci < src.chunkFirstSeqs.length && seen < limit; ci++) {
    const cols = src.readColumns(ci);
    const n = Math.min(cols.n, limit - seen);
    seen += n;
    if (stage === "read") {
      for (let i = 0; i < n; i++) if (reports !== null && reports[cols.kind[i]!] === 1) accesses++;
      sink += cols.kind[0]!;
      continue;
    }
    for (let i = 0; i < n; i++) {
      if (ck !== null) {
        const q = ck.quietOn(st)[cols.kind[i]!];
        if (q === 1 && applyInert(st, cols.firstSeq + i, cols.time[i]!)) {
          ck.folded++;
          continue;
        }
        if (q === 2 || q === 3) {
          const e = fillEvent(cols, i, ev);
          if (q === 3 && ck.preOnly(st, e) !== null) throw new Error(`violation at ${e.seq}`);
          applyEvent(st, e);
          ck.folded++;
          continue;
        }
      }
      const e = fillEvent(cols, i, ev);
      if (stage === "fill") {
        sink += e.kind;
        continue;
      }
      if (ck !== null && ck.before(st, e) !== null) throw new Error(`violation at ${e.seq}`);
      applyEvent(st, e);
      if (ck !== null && ck.after(st, e) !== null) throw new Error(`violation at ${e.seq}`);
    }
  }
  src.close();
  if (sink === -1) console.log("");
  return seen;
}

/** Best (least) CPU ms of `runs` runs of f. */
function best(f: () => unknown): number {
  let m = Infinity;
  for (let r = 0; r < runs; r++) {
    const t = cpu();
    f();
    m = Math.min(m, cpu() - t);
  }
  return m;
}

/** CPU ns of this thread so far (Linux; the process's elsewhere). */
function threadNs(): number {
  try {
    return Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]);
  } catch {
    return cpu() * 1e6;
  }
}

const compareDir = opt("--compare");
if (compareDir !== undefined) {
  type Scan = { openSource: typeof openSource; firstViolation: typeof firstViolation };
  const trees: [string, Scan][] = [
    [compareDir, (await import(join(resolve(compareDir), "src/replay/index.ts"))) as Scan],
    ["this tree", { openSource, firstViolation }],
  ];
  const rounds = Number(opt("--runs") ?? 9);
  const got: number[][] = [[], []];
  for (let r = 0; r < rounds; r++)
    for (const w of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const { openSource: open, firstViolation: scan } = trees[w]![1];
      const t = threadNs();
      const s = open(path);
      const v = scan(s);
      const n = s.eventCount;
      s.close();
      if (v.violation) throw new Error("the trace must run clean");
      got[w]!.push((threadNs() - t) / n);
    }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  // The first round compiles: left out of the medians.
  const ratios = got[1]!.slice(1).map((x, i) => x / got[0]![i + 1]!);
  const load = loadavg().map((x) => +x.toFixed(2));
  console.log(`firstViolation A/B on ${path}, CPU ns/event on this thread, load average ${load.join(" ")}`);
  for (let w = 0; w < 2; w++)
    console.log(
      `  ${trees[w]![0].padEnd(30)} median ${median(got[w]!.slice(1)).toFixed(1)}  (rounds: ${got[w]!.map((x) => x.toFixed(1)).join(" ")})`,
    );
  console.log(`  this tree / ${compareDir}: median ratio ${median(ratios).toFixed(3)} over ${ratios.length} rounds`);
  // Load only adds time: on a busy machine the least of each side's rounds is the steadier figure.
  const least = (xs: number[]) => Math.min(...xs.slice(1));
  console.log(
    `  least: ${least(got[0]!).toFixed(1)} / this tree ${least(got[1]!).toFixed(1)}, ratio ${(least(got[1]!) / least(got[0]!)).toFixed(3)}`,
  );
  process.exit(0);
}

const src0 = openSource(path);
const total = src0.eventCount;
const every = invariantsOf(src0);
src0.close();

const without = opt("--without");
if (without !== undefined) {
  // The invariants the scan runs on this trace (data-race left out when it has no memory access: checkWhole's rule).
  const lim = Math.min(total, perInvEvents);
  let acc = 0;
  const rep = planFor(every).reports;
  const s = openSource(path);
  for (let ci = 0, seen = 0; ci < s.chunkFirstSeqs.length && seen < lim; ci++) {
    const cols = s.readColumns(ci);
    for (let i = 0; i < cols.n && seen < lim; i++, seen++) if (rep !== null && rep[cols.kind[i]!] === 1) acc++;
  }
  s.close();
  const with_ = acc === 0 ? planFor(every).split : [...every];
  if (!with_.some((i) => i.name === without)) throw new Error(`no invariant ${without} among those the scan runs`);
  const sides = [with_, with_.filter((i) => i.name !== without)];
  const rounds = Number(opt("--runs") ?? 11);
  const got: number[][] = [[], []];
  pass("check", Math.min(lim, 1_000_000), with_); // warm-up (JIT)
  for (let r = 0; r < rounds; r++)
    for (const w of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const t = threadNs();
      pass("check", lim, sides[w]);
      got[w]!.push((threadNs() - t) / lim);
    }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const diffs = got[0]!.map((x, i) => x - got[1]![i]!);
  const load = loadavg().map((x) => +x.toFixed(2));
  console.log(
    `check stage with and without ${without}, first ${lim.toLocaleString("en-US")} events of ${path}, CPU ns/event on this thread, load average ${load.join(" ")}`,
  );
  console.log(
    `  with     median ${median(got[0]!).toFixed(2)}  (rounds: ${got[0]!.map((x) => x.toFixed(1)).join(" ")})`,
  );
  console.log(
    `  without  median ${median(got[1]!).toFixed(2)}  (rounds: ${got[1]!.map((x) => x.toFixed(1)).join(" ")})`,
  );
  console.log(
    `  ${without} costs: median of the rounds' differences ${median(diffs).toFixed(2)} ns/event (least with ${Math.min(...got[0]!).toFixed(2)}, least without ${Math.min(...got[1]!).toFixed(2)})`,
  );
  process.exit(0);
}
/** The kinds data-race can report at (the read stage counts them), and how many the trace has. */
const reports = planFor(every).reports;
let accesses = 0;
const ns = (msv: number, n: number) => +((msv * 1e6) / n).toFixed(1);

pass("check", Math.min(total, 1_000_000), every); // warm-up (JIT)
const stages: Record<string, number> = {};
stages.read = ns(
  best(() => pass("read", total)),
  total,
);
// The invariants firstViolation runs over this trace (checkWhole).
const all = accesses === 0 ? planFor(every).split : every;
for (const s of ["fill", "fold", "quiet", "check"] as const)
  stages[s] = ns(
    best(() => pass(s, total, all)),
    total,
  );
stages.scan = ns(
  best(() => {
    const s = openSource(path);
    const r = firstViolation(s);
    s.close();
    if (r.violation) throw new Error("the trace must run clean");
  }),
  total,
);

const perInvariant: Record<string, number> = {};
if (argv.includes("--per-invariant")) {
  const lim = Math.min(total, perInvEvents);
  const none = best(() => pass("check", lim, []));
  for (const inv of new Set([...BUILT_IN, ...every]))
    perInvariant[inv.name] = ns(best(() => pass("check", lim, [inv])) - none, lim);
}

const load = loadavg().map((x) => +x.toFixed(2));
const steps = {
  "inflate + decode": stages.read!,
  "fill the event": +(stages.fill! - stages.read!).toFixed(1),
  applyEvent: +(stages.fold! - stages.fill!).toFixed(1),
  "fill + fold as the scan does (quiet kinds by applyInert)": +(stages.quiet! - stages.read!).toFixed(1),
  [`Checker (${accesses === 0 ? "every invariant but data-race: no memory access" : "every invariant"})`]: +(
    stages.check! - stages.quiet!
  ).toFixed(1),
  "walk / checkRange bookkeeping": +(stages.scan! - stages.check!).toFixed(1),
  "scan (firstViolation) total": stages.scan!,
};
if (json)
  console.log(JSON.stringify({ path, events: total, loadAverage: load, nsPerEvent: steps, perInvariant }, null, 2));
else {
  console.log(
    `scan profile: ${path}, ${total.toLocaleString("en-US")} events, CPU ns/event (best of ${runs}), load average ${load.join(" ")}`,
  );
  for (const [k, v] of Object.entries(steps)) console.log(`  ${k.padEnd(60)} ${v.toFixed(1).padStart(7)}`);
  if (Object.keys(perInvariant).length > 0) {
    console.log(
      `  per invariant (the check stage with it alone, less with none; first ${Math.min(total, perInvEvents).toLocaleString("en-US")} events):`,
    );
    for (const [k, v] of Object.entries(perInvariant)) console.log(`    ${k.padEnd(30)} ${v.toFixed(1).padStart(7)}`);
  }
}
