// Whether a state rebuilt from a snapshot (fromPlain: what the split scan and
// a seek start from) has the engine's shapes of the state the fold makes from
// the start: folds TRACE's first events as the scan does (decoded columns, one
// reused event), then compares, object by object, the JSC structure of each
// thread, process (and its lists), lock, kernel stack, cpu and the maps with
// those of the snapshot's state at the same seq. A difference means the
// fold's compiled code exits (BadCache, BadIndexingType) at a segment start
// and is compiled again (docs/BENCHMARKS.md, "Phase 7: one shape per object").
// Usage: npx bun bench/shapes.ts [TRACE] [--events N] (default: bench/out/stress-10000000.ktrace, 1,000,000 events).
// Bun only (bun:jsc's describe).

import { applyEvent } from "../src/kernel/apply.ts";
import { initState } from "../src/kernel/state.ts";
import type { KEvent, KState } from "../src/kernel/types.ts";
import { fillEvent } from "../src/trace/event-codec.ts";
import { openTrace } from "../src/trace/reader.ts";

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const path =
  argv.find((a, i) => !a.startsWith("--") && !(i > 0 && argv[i - 1]!.startsWith("--"))) ??
  "bench/out/stress-10000000.ktrace";
const jscName = "bun:jsc"; // (not a module tsc knows)
const { describe } = (await import(jscName)) as { describe(x: unknown): string };

const r = openTrace(path);
const want = Number(opt("--events") ?? 1_000_000);
const snaps = r.snapshotSeqs;
// The last snapshot at or before the wanted event: fold to it, compare there.
let at = -1;
for (const q of snaps) if (q < want) at = q;
const s = initState(r.meta.config);
const ev: KEvent = { seq: 0, time: 0, cpu: -1, tid: -1, kind: 0, a: 0, b: 0, c: 0, s: "" };
for (let ci = 0; s.seq < at; ci++) {
  const cols = r.readColumns(ci);
  for (let i = 0; i < cols.n && s.seq < at; i++) applyEvent(s, fillEvent(cols, i, ev));
}
const snap = r.loadSnapshot(at).state;

const structure = (x: unknown) => {
  const d = describe(x);
  const id = /StructureID: (\d+)/.exec(d)?.[1];
  const what = /\[0x[0-9a-f]+\/\d+, ([^\]]*)\]/.exec(d)?.[1] ?? d.slice(0, 80);
  return { id, what: what.replace(/Proto:0x[0-9a-f]+/, "").replace(/0x[0-9a-f]+/g, "") };
};
const rows = new Map<string, { same: number; differ: number; example?: string }>();
function compare(kind: string, a: unknown, b: unknown): void {
  const x = structure(a);
  const y = structure(b);
  const row = rows.get(kind) ?? { same: 0, differ: 0 };
  if (x.id === y.id) row.same++;
  else {
    row.differ++;
    row.example ??= `folded ${x.what} | rebuilt ${y.what}`;
  }
  rows.set(kind, row);
}
function compareStates(a: KState, b: KState): void {
  compare("state", a, b);
  for (const k of ["threads", "procs", "locks", "kstacks", "vars", "objs", "pipes"] as const)
    compare(`map ${k}`, a[k], b[k]);
  compare("cpus list", a.cpus, b.cpus);
  for (let i = 0; i < a.cpus.length; i++) compare("cpu", a.cpus[i], b.cpus[i]);
  for (const [tid, t] of a.threads) {
    const u = b.threads.get(tid);
    if (!u) continue;
    compare("thread", t, u);
    if (t.woken && u.woken) compare("thread.woken", t.woken, u.woken);
    if (t.waitOn && u.waitOn) compare("thread.waitOn", t.waitOn, u.waitOn);
  }
  for (const [pid, p] of a.procs) {
    const q = b.procs.get(pid);
    if (!q) continue;
    compare("proc", p, q);
    compare("proc.threads", p.threads, q.threads);
    compare("proc.tcaches", p.tcaches, q.tcaches);
  }
  for (const [id, l] of a.locks) if (b.locks.has(id)) compare("lock", l, b.locks.get(id));
  for (const [id, k] of a.kstacks) if (b.kstacks.has(id)) compare("kstack", k, b.kstacks.get(id));
}
compareStates(s, snap);
r.close();
console.log(`${path}: the state after event ${at}, folded from the start against the snapshot's, by JSC structure`);
let differ = 0;
for (const [kind, row] of rows) {
  differ += row.differ;
  console.log(
    `  ${kind.padEnd(14)} ${String(row.same).padStart(4)} same, ${String(row.differ).padStart(4)} differ${row.example ? `: ${row.example}` : ""}`,
  );
}
console.log(differ === 0 ? "one shape: every object alike" : `${differ} objects differ in shape`);
