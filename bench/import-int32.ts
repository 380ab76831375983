// Which integers of an import reach the hot path as doubles (Bun only).
// Usage: npx bun bench/import-int32.ts [--events N] [--parse-thread]
//
// JavaScriptCore keeps a number either as an int32 or as a double. A value that
// may be NaN (or is merged with one) is compiled as a double, and the integers
// it holds then stay doubles wherever they go: into records, ops, the kernel
// events, the reducer's maps and the chunk encoder, whose code was compiled for
// int32 and exits on them (about 100 exits in each, then a recompilation).
// This reads the bench input (bench/import.ts's, generated when missing) through
// the parser, the mapper and the converter, and samples one in 50 of each
// stage's integer fields (not times: those exceed int32) with bun:jsc's
// jscDescribe (--parse-thread: records parsed on the parse thread and decoded
// here, record-codec.ts). It prints the fields found as doubles and exits 1 when there are
// any (0: every sampled integer was an int32).

import { Converter, importSummary, TraceInput } from "../src/import/index.ts";
import { EVENT_KINDS } from "../src/kernel/types.ts";
import { writeInput } from "./import-input.ts";

if (typeof (globalThis as { Bun?: unknown }).Bun === "undefined") {
  console.log("import-int32: Bun only (it asks JavaScriptCore how a number is held)");
  process.exit(0);
}
const jscModule = "bun:jsc";
const { jscDescribe } = (await import(jscModule)) as { jscDescribe(v: unknown): string };

const argv = process.argv.slice(2);
const i = argv.indexOf("--events");
const N = i >= 0 ? Number(argv[i + 1]) : 1_000_000;
const parseThread = argv.includes("--parse-thread");
const file = `bench/out/import-${N}.txt`;
await writeInput(file, N, false);

const found = new Map<string, number>();
const check = (where: string, v: unknown) => {
  if (typeof v !== "number") return;
  const d = jscDescribe(v);
  if (!d.startsWith("Int32")) found.set(where, (found.get(where) ?? 0) + 1);
};

let n = 0;
const input = TraceInput.open(file, { parseThread });
for await (const batch of input.records()) {
  for (const r of batch) {
    if (++n % 50 !== 0) continue;
    check(`record ${r.name}.cpu`, r.cpu);
    check(`record ${r.name}.tid`, r.tid);
    check(`record ${r.name}.pid`, r.pid);
    for (const k in r.fields) check(`record ${r.name}.fields.${k}`, r.fields[k]);
  }
}
let conv: Converter | undefined;
let m = 0;
let e = 0;
await importSummary(file, { parseThread }, (ops) => {
  conv ??= new Converter(4, (ev) => {
    if (++e % 50 !== 0) return;
    const kind = EVENT_KINDS[ev.kind]?.name ?? ev.kind;
    for (const k of ["cpu", "tid", "a", "b", "c", "kind", "seq"] as const) check(`event ${kind}.${k}`, ev[k]);
  });
  for (const o of ops) {
    if (++m % 50 === 0)
      for (const [k, v] of Object.entries(o)) if (k !== "ts" && k !== "line") check(`op ${o.op}.${k}`, v);
    conv.op(o);
  }
});
console.log(`import-int32: ${n} records, ${m} ops, ${e} events (one in 50 of each sampled)`);
if (found.size === 0) console.log("  every sampled integer is an int32");
else for (const [k, c] of [...found].sort((a, b) => b[1] - a[1])) console.log(`  ${k}: ${c} doubles`);
process.exit(found.size === 0 ? 0 : 1);
