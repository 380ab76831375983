// A run-length core, measured before it is built (docs/BENCHMARKS.md, "Phase 11:
// a run-length core"). Format 3.0 stores every event's kind and time in the core
// body; in `stress` ~68% of events are of the side kinds (their fold is seq and
// time only), in runs of ~3. This bench re-encodes a stretch of a trace's chunks
// with each maximal run of side-kind events as ONE core entry: the kind column
// holds a run marker (0; events' kind*2+full+1) then the run's length, and the
// time column one delta per entry (a run's: its last event's time); the run's
// events' kinds and the times of all but its last go to the side body, before
// its cpu .. s columns. Both layouts are deflated as the writer deflates
// (Deflater at EVENTS_LEVEL) and compared on this thread's CPU clock:
//   (a) inflate + decode of the core (today's: decodeEventBody core-only, as
//       readCore; the run-length one: one loop over entries, kind and time
//       together, writing a run's marker at its first event and its time at
//       its last: columns indexed by event as today, the run's other events'
//       kind and time unset until the side body fills them);
//   (b) the fold loop, the shape of the scan's `span` (applyInertRun per run of
//       inert kinds, fillEvent + applyEvent for the rest; no checks) from the
//       stretch's snapshot, each chunk decoded (untimed) just before its fold
//       (timed), as the scan's thread folds what the decode worker has just
//       written: today's walks every event's kind, the run-length one steps
//       over a run entry at once (non-side inert kinds still run as today);
//   (c) bytes per event of the chunks (core + side, deflated);
//   (d) the writer's deflate of both bodies, CPU ns/event.
// Each measure interleaves the two layouts, R rounds, and prints every round and
// the medians; --stages splits the run-length decode's time (inflate + msgpack,
// the entry loop, the other columns), --no-fill drops its zero fills (a measure
// of their cost only: a .. c of core events that do not store them are then
// wrong). The two decodes are checked to agree before anything is timed. Usage:
//   npx bun bench/runs-core.ts [--trace FILE] [--from SEQ] [--chunks N] [--rounds R] [--stages] [--no-fill]
// (default: bench/out/stress-10000000.ktrace from seq 0, every chunk, 7 rounds.)

import { loadavg } from "node:os";
import { applyEvent, applyInertRun, INERT_KINDS } from "../src/kernel/apply.ts";
import type { KEvent } from "../src/kernel/types.ts";
import { EVENTS_LEVEL } from "../src/trace/compress.ts";
import { Deflater } from "../src/trace/deflate-fflate.ts";
import {
  ChunkBuilder,
  columnsToEvents,
  decodeEventBody,
  type EventColumns,
  fillEvent,
  Scratch,
  type SlotTable,
  slotTable,
} from "../src/trace/event-codec.ts";
import { packr } from "../src/trace/format.ts";
import { Inflater } from "../src/trace/inflate.ts";
import { unpackPlain } from "../src/trace/msgpack-fast.ts";
import { openTrace } from "../src/trace/reader.ts";

/** --stages: where the run-length decode's time goes (it stops after stage 1, inflate + msgpack, or 2, + the entry loop). */
let stage = 9;

import { EVENT_BODY_SHAPE } from "../src/trace/validate.ts";

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
/** --no-fill: the run-length decode does not zero a column's unlisted events first (a side event's cpu .. c wait for the side anyway). */
const noFill = argv.includes("--no-fill");
const path = opt("--trace") ?? "bench/out/stress-10000000.ktrace";
const rounds = Number(opt("--rounds") ?? 7);
const r = openTrace(path);
const from = Number(opt("--from") ?? 0);
const c0 = from > 0 ? r.chunkOf(r.loadSnapshot(from).seq + 1) : 0;
const chunks = Math.min(Number(opt("--chunks") ?? r.chunkCount), r.chunkCount - c0);
const slots = slotTable(r.meta.kinds);
const side = slots.side;

const thread = process as unknown as { threadCpuUsage?(): { user: number; system: number } };
const cpuNs = () => {
  const u = thread.threadCpuUsage ? thread.threadCpuUsage() : process.cpuUsage();
  return (u.user + u.system) * 1000;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

// ---- encode both layouts ----

interface Enc {
  first: number;
  n: number;
  core: Uint8Array; // deflated
  coreLen: number;
  side: Uint8Array; // deflated
  sideLen: number;
  /** Both bodies as the writer hands them to deflate (for (d)). */
  raw: [Uint8Array, Uint8Array];
}
const zc = new Deflater();
const zs = new Deflater();
const squeeze = (z: Deflater, b: Uint8Array) => z.deflate(b, EVENTS_LEVEL).slice();

const uvar = (out: number[], v: number) => {
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
};
const svar = (out: number[], v: number) => uvar(out, v < 0 ? -2 * v - 1 : 2 * v);

const old: Enc[] = [];
const rl: Enc[] = [];
let events = 0;
let entries = 0;
let runs = 0;
const builder = new ChunkBuilder(Math.max(...r.chunkCounts), slots);
for (let ci = c0; ci < c0 + chunks; ci++) {
  const evs = columnsToEvents(r.readColumns(ci));
  const n = evs.length;
  const first = evs[0]!.seq;
  events += n;
  builder.reset();
  for (const e of evs) builder.push(e);
  const body = builder.encode();
  const coreRaw = body.slice(0, builder.coreLength);
  const sideRaw = body.slice(builder.coreLength);
  old.push({
    first,
    n,
    core: squeeze(zc, coreRaw),
    coreLen: coreRaw.length,
    side: squeeze(zs, sideRaw),
    sideLen: sideRaw.length,
    raw: [coreRaw, sideRaw],
  });
  // The run-length layout: today's arrays with the kind and time columns replaced, and the side's led by kind and time.
  const doc = unpackPlain(coreRaw, EVENT_BODY_SHAPE) as unknown[];
  const sdoc = unpackPlain(sideRaw, EVENT_BODY_SHAPE) as unknown[];
  const scale = doc[2] as number;
  const K: number[] = [];
  const T: number[] = [];
  const SK: number[] = [];
  const ST: number[] = [];
  let prev = 0; // time of the last entry (core) and of the last event (side)
  for (let i = 0; i < n; ) {
    const e = evs[i]!;
    if (e.kind < side.length && side[e.kind] === 1) {
      let j = i;
      let pt = prev;
      while (j < n && evs[j]!.kind < side.length && side[evs[j]!.kind] === 1) {
        uvar(SK, evs[j]!.kind);
        if (j + 1 < n && evs[j + 1]!.kind < side.length && side[evs[j + 1]!.kind] === 1) {
          svar(ST, (evs[j]!.time - pt) / scale);
          pt = evs[j]!.time;
        }
        j++;
      }
      K.push(0);
      uvar(K, j - i);
      svar(T, (evs[j - 1]!.time - prev) / scale);
      prev = evs[j - 1]!.time;
      entries++;
      runs++;
      i = j;
      continue;
    }
    // kind*2+full+1: the full bit as today's (the core's K byte).
    const full = (() => {
      const { nargs, str } = slots;
      const k = e.kind;
      if (k >= nargs.length) return 1;
      const na = nargs[k]!;
      return (na < 1 && e.a !== 0) || (na < 2 && e.b !== 0) || (na < 3 && e.c !== 0) || (!str[k] && e.s !== "") ? 1 : 0;
    })();
    uvar(K, e.kind * 2 + full + 1);
    svar(T, (e.time - prev) / scale);
    prev = e.time;
    entries++;
    i++;
  }
  doc[4] = Uint8Array.from(K);
  doc[7] = Uint8Array.from(T);
  const coreRL = packr.pack(doc).slice();
  const sideRL = packr.pack([Uint8Array.from(SK), Uint8Array.from(ST), ...sdoc.slice(0, 6)]).slice();
  rl.push({
    first,
    n,
    core: squeeze(zc, coreRL),
    coreLen: coreRL.length,
    side: squeeze(zs, sideRL),
    sideLen: sideRL.length,
    raw: [coreRL, sideRL],
  });
}

// ---- decode: today's core-only, and the run-length core ----

const inf = new Inflater();
const sc = new Scratch();
const decodeOld = (c: Enc): EventColumns =>
  decodeEventBody(3, inf.inflate(c.core, c.coreLen), c.n, c.first, slots, sc, null);

/** The run-length core's columns: kind[i] = -len at a run's first event, time[] at its last; the rest as readCore's. */
const sr = new Scratch();
let at = 0;
function slowU(raw: Uint8Array, p: number): number {
  let v = 0;
  let mul = 1;
  for (;;) {
    const x = raw[p++]!;
    v += (x & 0x7f) * mul;
    mul *= 128;
    if (x < 0x80) break;
  }
  at = p;
  return v;
}
function slowS(raw: Uint8Array, p: number): number {
  const u = slowU(raw, p);
  return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
}
function readColumnListed(raw: Uint8Array, p: number, out: Float64Array, n: number, idx: Int32Array, m: number) {
  if (!noFill) out.fill(0, 0, n);
  for (let j = 0; j < m; j++) {
    let u = raw[p++]!;
    if (u >= 0x80) {
      u = slowS(raw, p - 1);
      p = at;
      out[idx[j]!] = u;
      continue;
    }
    out[idx[j]!] = (u >>> 1) ^ -(u & 1);
  }
  return p;
}
function decodeRL(c: Enc, sl: SlotTable): EventColumns {
  const raw = inf.inflate(c.core, c.coreLen);
  const n = c.n;
  sr.grow(n);
  const doc = unpackPlain(raw, EVENT_BODY_SHAPE) as unknown[];
  if (stage === 1) return null as unknown as EventColumns;
  const scale = doc[2] as number;
  const K = doc[4] as Uint8Array;
  const TM = doc[7] as Uint8Array;
  const { kind, time, ia, ib, ic, is, ie } = sr;
  const use = sl.use;
  const nk = use.length;
  let ca = 0,
    cb = 0,
    cc = 0,
    cs = 0,
    ce = 0;
  let p = 0;
  let q = 0;
  let t = 0;
  let i = 0;
  while (i < n) {
    let v = K[p]!;
    if (v < 0x80) p++;
    else {
      v = slowU(K, p);
      p = at;
    }
    // The entry's time delta.
    let u = TM[q++]!;
    if (u >= 0x80) {
      let y = TM[q++]!;
      u = (u & 0x7f) | ((y & 0x7f) << 7);
      if (y >= 0x80) {
        y = TM[q++]!;
        u |= (y & 0x7f) << 14;
        if (y >= 0x80) {
          y = TM[q++]!;
          u |= (y & 0x7f) << 21;
          if (y >= 0x80) {
            u = -1;
          }
        }
      }
    }
    if (u === -1) {
      t += slowS(TM, q - 4) * scale;
      q = at;
    } else t += ((u >>> 1) ^ -(u & 1)) * scale;
    if (v === 0) {
      let len = K[p]!;
      if (len < 0x80) p++;
      else {
        len = slowU(K, p);
        p = at;
      }
      kind[i] = -len;
      i += len;
      time[i - 1] = t;
      continue;
    }
    v--;
    const k = v >>> 1;
    kind[i] = k;
    time[i] = t;
    const uu = (v & 1) === 0 && k < nk ? use[k]! : 7;
    const na = uu & 3;
    ie[ce++] = i;
    ia[ca] = i;
    ca += (na + 3) >> 2;
    ib[cb] = i;
    cb += (na + 2) >> 2;
    ic[cc] = i;
    cc += (na + 1) >> 2;
    is[cs] = i;
    cs += uu >> 2;
    i++;
  }
  if (i !== n || p !== K.length || q !== TM.length) throw new Error(`chunk at ${c.first}: bad run-length core`);
  if (stage === 2) return null as unknown as EventColumns;
  readColumnListed(doc[5] as Uint8Array, 0, sr.cpu, n, ie, ce);
  readColumnListed(doc[6] as Uint8Array, 0, sr.tid, n, ie, ce);
  readColumnListed(doc[8] as Uint8Array, 0, sr.a, n, ia, ca);
  readColumnListed(doc[9] as Uint8Array, 0, sr.b, n, ib, cb);
  readColumnListed(doc[10] as Uint8Array, 0, sr.c, n, ic, cc);
  const S = doc[11] as Uint8Array;
  sr.sIdx.fill(0, 0, n);
  for (let j = 0, ps = 0; j < cs; j++) {
    let x = S[ps]!;
    if (x < 0x80) ps++;
    else {
      x = slowU(S, ps);
      ps = at;
    }
    sr.sIdx[is[j]!] = x;
  }
  const table = doc[3] as string[];
  return {
    firstSeq: c.first,
    n,
    kind: sr.kind,
    cpu: sr.cpu,
    tid: sr.tid,
    time: sr.time,
    a: sr.a,
    b: sr.b,
    c: sr.c,
    sIdx: sr.sIdx,
    strings: ["", ...table],
    pending: null,
  };
}

// The two decodes agree on every non-side event and on each run's last time.
for (let x = 0; x < old.length; x++) {
  const a = decodeOld(old[x]!);
  const b = decodeRL(rl[x]!, slots);
  for (let i = 0; i < a.n; ) {
    if (b.kind[i]! < 0) {
      const len = -b.kind[i]!;
      for (let j = i; j < i + len; j++)
        if (side[a.kind[j]!] !== 1) throw new Error(`chunk ${x} event ${j}: a run holds a core event`);
      if (a.time[i + len - 1] !== b.time[i + len - 1]) throw new Error(`chunk ${x} event ${i}: run time`);
      i += len;
      continue;
    }
    if (a.kind[i] !== b.kind[i] || a.time[i] !== b.time[i] || a.cpu[i] !== b.cpu[i] || a.a[i] !== b.a[i])
      throw new Error(`chunk ${x} event ${i}: differs`);
    if (a.strings[a.sIdx[i]!] !== b.strings[b.sIdx[i]!]) throw new Error(`chunk ${x} event ${i}: string differs`);
    i++;
  }
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
console.log(
  `${path} (format ${r.formatVersion}), chunks ${c0}..${c0 + chunks - 1}: ${events} events, ${entries} core entries ` +
    `(${((entries / events) * 100).toFixed(1)}%), ${runs} runs of side kinds (mean ${((events - (entries - runs)) / runs).toFixed(2)} events); load ${load()}`,
);

// (c) bytes
const sum = (xs: Enc[], f: (e: Enc) => number) => xs.reduce((s, e) => s + f(e), 0);
for (const [name, xs] of [
  ["3.0 (re-encoded)", old],
  ["run-length", rl],
] as const) {
  const cz = sum(xs, (e) => e.core.length);
  const sz = sum(xs, (e) => e.side.length);
  console.log(
    `(c) ${name}: core ${(cz / events).toFixed(3)} B/event deflated (${(sum(xs, (e) => e.coreLen) / events).toFixed(3)} raw), ` +
      `side ${(sz / events).toFixed(3)} (${(sum(xs, (e) => e.sideLen) / events).toFixed(3)} raw), both ${((cz + sz) / events).toFixed(3)}`,
  );
}

// (a) inflate + decode of the core
const passDecode = (f: () => void) => {
  const t0 = cpuNs();
  f();
  return (cpuNs() - t0) / events;
};
const decA: number[] = [];
const decB: number[] = [];
const infA: number[] = [];
const infB: number[] = [];
for (let k = 0; k < rounds + 1; k++) {
  const order = k % 2 === 0 ? [0, 1] : [1, 0];
  for (const w of order) {
    if (w === 0) {
      const d = passDecode(() => {
        for (const c of old) decodeOld(c);
      });
      const f = passDecode(() => {
        for (const c of old) inf.inflate(c.core, c.coreLen);
      });
      if (k > 0) {
        decA.push(d);
        infA.push(f);
      }
    } else {
      const d = passDecode(() => {
        for (const c of rl) decodeRL(c, slots);
      });
      const f = passDecode(() => {
        for (const c of rl) inf.inflate(c.core, c.coreLen);
      });
      if (k > 0) {
        decB.push(d);
        infB.push(f);
      }
    }
  }
}
const f1 = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(" ");
console.log(`(a) inflate + decode, ns/event: 3.0 ${f1(decA)} (median ${median(decA).toFixed(1)})`);
console.log(`    run-length ${f1(decB)} (median ${median(decB).toFixed(1)})`);
console.log(
  `    of which inflate alone: 3.0 median ${median(infA).toFixed(1)}, run-length ${median(infB).toFixed(1)}; load ${load()}`,
);

if (argv.includes("--stages")) {
  const at1: number[] = [];
  const at2: number[] = [];
  const all: number[] = [];
  const un: number[] = [];
  for (let k = 0; k < rounds; k++) {
    for (const s of [1, 2, 9]) {
      stage = s;
      const d = passDecode(() => {
        for (const c of rl) decodeRL(c, slots);
      });
      (s === 1 ? at1 : s === 2 ? at2 : all).push(d);
    }
    un.push(
      passDecode(() => {
        for (const c of old) unpackPlain(inf.inflate(c.core, c.coreLen), EVENT_BODY_SHAPE);
      }),
    );
  }
  stage = 9;
  console.log(
    `    stages, medians: 3.0 inflate + msgpack ${median(un).toFixed(1)}; run-length inflate + msgpack ${median(at1).toFixed(1)}, ` +
      `+ entry loop ${median(at2).toFixed(1)}, + other columns ${median(all).toFixed(1)}`,
  );
}

// (b) the fold loop: each chunk decoded (untimed) just before its fold (timed), as the scan's
// thread folds a chunk the decode worker has just written.
const ev: KEvent = { seq: 0, time: 0, cpu: -1, tid: -1, kind: 0, a: 0, b: 0, c: 0, s: "" };
const quiet = INERT_KINDS;
const start = old[0]!.first - 1;
function foldOld(): number {
  const st = r.loadSnapshot(start).state;
  let dt = 0;
  for (const c of old) {
    const cols = decodeOld(c);
    const t0 = cpuNs();
    const first = cols.firstSeq;
    const kinds = cols.kind;
    const j = cols.n;
    for (let k = 0; k < j; k++) {
      const kind = kinds[k]!;
      if (quiet[kind] === 1) {
        let m = k + 1;
        while (m < j && quiet[kinds[m]!] === 1) m++;
        if (applyInertRun(st, first + k, first + m - 1, cols.time[m - 1]!)) {
          k = m - 1;
          continue;
        }
      }
      applyEvent(st, fillEvent(cols, k, ev));
    }
    dt += cpuNs() - t0;
  }
  return dt;
}
function foldRL(): number {
  const st = r.loadSnapshot(start).state;
  let dt = 0;
  for (const c of rl) {
    const cols = decodeRL(c, slots);
    const t0 = cpuNs();
    const first = cols.firstSeq;
    const kinds = cols.kind;
    const j = cols.n;
    for (let k = 0; k < j; k++) {
      const kind = kinds[k]!;
      if (kind < 0) {
        // A run entry: one step, no inner loop.
        const m = k - kind;
        if (!applyInertRun(st, first + k, first + m - 1, cols.time[m - 1]!)) throw new Error("run does not fold");
        k = m - 1;
        continue;
      }
      if (quiet[kind] === 1) {
        if (applyInertRun(st, first + k, first + k, cols.time[k]!)) continue;
      }
      applyEvent(st, fillEvent(cols, k, ev));
    }
    dt += cpuNs() - t0;
  }
  return dt;
}
if (start >= 0 && r.loadSnapshot(start).seq !== start) {
  console.log(`(b) skipped: no snapshot at seq ${start} (pass --from a snapshot's seq + 1, or 0)`);
} else {
  const fa: number[] = [];
  const fb: number[] = [];
  for (let k = 0; k < rounds + 1; k++) {
    const order = k % 2 === 0 ? [0, 1] : [1, 0];
    for (const w of order) {
      const dt = w === 0 ? foldOld() : foldRL();
      if (k > 0) (w === 0 ? fa : fb).push(dt / events);
    }
  }
  console.log(`(b) fold loop, ns/event: 3.0 ${f1(fa)} (median ${median(fa).toFixed(1)})`);
  console.log(`    run-length ${f1(fb)} (median ${median(fb).toFixed(1)}); load ${load()}`);
}

// (d) the writer's deflate of both bodies (what recording pays; the encode itself is left out)
{
  const da: number[] = [];
  const db: number[] = [];
  for (let k = 0; k < rounds + 1; k++) {
    for (const w of k % 2 === 0 ? [0, 1] : [1, 0]) {
      const xs = w === 0 ? old : rl;
      const d = passDecode(() => {
        for (const c of xs) {
          zc.deflate(c.raw[0], EVENTS_LEVEL);
          zs.deflate(c.raw[1], EVENTS_LEVEL);
        }
      });
      if (k > 0) (w === 0 ? da : db).push(d);
    }
  }
  console.log(`(d) deflate of core + side, ns/event: 3.0 ${f1(da)} (median ${median(da).toFixed(1)})`);
  console.log(`    run-length ${f1(db)} (median ${median(db).toFixed(1)}); load ${load()}`);
}
