// Measures candidate encodings of event chunks (bytes/event, decode speed),
// to choose the .ktrace event chunk format, and the cost of format 2's
// msgpack framing (format 2 body against the same columns laid out as in
// format 1, under the same compressor). Results go to docs/FORMAT.md.
//
//   npx bun bench/encodings.ts [--events N] [--chunk N] [--synthetic]
//
// Events come from the stress scenario (or, with --synthetic, from the
// random generator in test/support/synth.ts, which compresses worse).

import { deflateRawSync, inflateRawSync } from "node:zlib";
import { inflateSync } from "fflate";
import { Packr } from "msgpackr";
import { toPlain } from "../src/kernel/state.ts";
import { EVENT_KINDS, type KEvent } from "../src/kernel/types.ts";
import { prepare, run } from "../src/record/index.ts";
import { ByteReader, ByteWriter } from "../src/trace/bytes.ts";
import { deflate, EVENTS_LEVEL, type Level } from "../src/trace/compress.ts";
import { ChunkBuilder, columnsToEvents, decodeEventBody, slotTable } from "../src/trace/event-codec.ts";
import { currentKinds } from "../src/trace/writer.ts";
import { synth } from "../test/support/synth.ts";
import { format1Body } from "./format1-layout.ts";

const argv = process.argv.slice(2);
const arg = (name: string, dflt: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const N = arg("--events", 1_000_000);
const CHUNK = arg("--chunk", 4096);
const K = arg("--snapshot-every", 4096);

const events: KEvent[] = [];
const snaps: Uint8Array[] = [];
const snapPackr = new Packr({ useRecords: false });
const source = argv.includes("--synthetic") ? "synthetic" : "stress";
if (source === "synthetic") {
  for (const [ev, st] of synth(N, 7)) {
    events.push(ev);
    if ((ev.seq + 1) % K === 0) snaps.push(snapPackr.pack(toPlain(st)));
  }
} else {
  run(await prepare({ target: "stress", maxEvents: N }), (ev, st) => {
    events.push({ ...ev });
    if ((ev.seq + 1) % K === 0) snaps.push(snapPackr.pack(toPlain(st)));
  });
}
const chunks: KEvent[][] = [];
for (let i = 0; i < events.length; i += CHUNK) chunks.push(events.slice(i, i + CHUNK));

type Codec = {
  name: string;
  enc: (evs: KEvent[]) => Uint8Array;
  dec: (b: Uint8Array, first: number, n: number) => KEvent[];
};

const STR_OF = EVENT_KINDS.map((k) => k.str !== undefined);
const NARGS = EVENT_KINDS.map((k) => k.args.length);

function columnar(kindAware: boolean): Codec {
  const w = new ByteWriter();
  return {
    name: kindAware ? "columnar, kind-aware slots" : "columnar, all slots",
    enc(evs) {
      w.reset();
      const n = evs.length;
      const full = (e: KEvent) => {
        const na = NARGS[e.kind];
        if (!kindAware || na === undefined) return true;
        return (
          (na < 1 && e.a !== 0) || (na < 2 && e.b !== 0) || (na < 3 && e.c !== 0) || (!STR_OF[e.kind] && e.s !== "")
        );
      };
      const fl = evs.map(full);
      for (let i = 0; i < n; i++) w.uvar((evs[i]!.kind << 1) | (fl[i] ? 1 : 0));
      for (let i = 0; i < n; i++) w.svar(evs[i]!.cpu);
      for (let i = 0; i < n; i++) w.svar(evs[i]!.tid);
      let t = 0;
      for (let i = 0; i < n; i++) {
        w.svar(evs[i]!.time - t);
        t = evs[i]!.time;
      }
      for (let i = 0; i < n; i++) if (fl[i] || NARGS[evs[i]!.kind]! >= 1) w.svar(evs[i]!.a);
      for (let i = 0; i < n; i++) if (fl[i] || NARGS[evs[i]!.kind]! >= 2) w.svar(evs[i]!.b);
      for (let i = 0; i < n; i++) if (fl[i] || NARGS[evs[i]!.kind]! >= 3) w.svar(evs[i]!.c);
      const dict = new Map<string, number>();
      const idx: number[] = [];
      for (let i = 0; i < n; i++) {
        const e = evs[i]!;
        if (!(fl[i] || STR_OF[e.kind])) continue;
        if (e.s === "") {
          idx.push(0);
          continue;
        }
        let k = dict.get(e.s);
        if (k === undefined) {
          k = dict.size + 1;
          dict.set(e.s, k);
        }
        idx.push(k);
      }
      w.uvar(dict.size);
      for (const s of dict.keys()) {
        const b = new TextEncoder().encode(s);
        w.uvar(b.length);
        w.bytes(b);
      }
      for (const k of idx) w.uvar(k);
      return w.toBytes();
    },
    dec(b, first, n) {
      const r = new ByteReader(b);
      const kind = new Int32Array(n),
        fl = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const x = r.uvar();
        kind[i] = x >>> 1;
        fl[i] = x & 1;
      }
      const cpu = new Float64Array(n),
        tid = new Float64Array(n),
        time = new Float64Array(n);
      const a = new Float64Array(n),
        bb = new Float64Array(n),
        c = new Float64Array(n);
      for (let i = 0; i < n; i++) cpu[i] = r.svar();
      for (let i = 0; i < n; i++) tid[i] = r.svar();
      let t = 0;
      for (let i = 0; i < n; i++) {
        t += r.svar();
        time[i] = t;
      }
      for (let i = 0; i < n; i++) if (fl[i] || NARGS[kind[i]!]! >= 1) a[i] = r.svar();
      for (let i = 0; i < n; i++) if (fl[i] || NARGS[kind[i]!]! >= 2) bb[i] = r.svar();
      for (let i = 0; i < n; i++) if (fl[i] || NARGS[kind[i]!]! >= 3) c[i] = r.svar();
      const m = r.uvar();
      const strs = [""];
      for (let i = 0; i < m; i++) strs.push(new TextDecoder().decode(r.bytes(r.uvar())));
      const out: KEvent[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const k = kind[i]!;
        const s = fl[i] || STR_OF[k] ? strs[r.uvar()]! : "";
        out[i] = {
          seq: first + i,
          time: time[i]!,
          cpu: cpu[i]!,
          tid: tid[i]!,
          kind: k,
          a: a[i]!,
          b: bb[i]!,
          c: c[i]!,
          s,
        };
      }
      return out;
    },
  };
}

/** The event codec (event-codec.ts) in format 1 or 2 layout, compressed with fflate at a level (compress.ts). */
function format(major: 1 | 2, level: Level): Codec {
  const kinds = currentKinds();
  const slots = slotTable(kinds);
  const b = new ChunkBuilder(1 << 16, slots);
  return {
    name: `format ${major} body (${major === 2 ? "msgpack array" : "columns concatenated"}) + fflate ${level}${major === 2 && level === EVENTS_LEVEL ? " (**written**)" : ""}`,
    enc(evs) {
      b.reset();
      for (const e of evs) b.push(e);
      const body = b.encode();
      return deflate(major === 2 ? body : format1Body(body), level);
    },
    dec: (buf, first, n) => columnsToEvents(decodeEventBody(major, inflateRawSync(buf), n, first, slots)),
  };
}

/** Framing cost of format 2: raw and compressed bytes per chunk over the format 1 layout of the same columns. */
function framing(): string {
  const b = new ChunkBuilder(1 << 16, slotTable(currentKinds()));
  let raw1 = 0,
    raw2 = 0,
    z1 = 0,
    z2 = 0,
    z1n = 0,
    z2n = 0;
  for (const ch of chunks) {
    b.reset();
    for (const e of ch) b.push(e);
    const v2 = b.encode().slice();
    const v1 = format1Body(v2);
    raw1 += v1.length;
    raw2 += v2.length;
    z1 += deflate(v1, EVENTS_LEVEL).length;
    z2 += deflate(v2, EVENTS_LEVEL).length;
    z1n += deflateRawSync(v1, { level: 6 }).length;
    z2n += deflateRawSync(v2, { level: 6 }).length;
  }
  const c = chunks.length;
  const per = (x: number) => (x / c).toFixed(1);
  return (
    `msgpack framing of format 2, per ${CHUNK}-event chunk: ${per(raw2 - raw1)} B raw (${(((raw2 - raw1) / raw1) * 100).toFixed(2)}% of the body), ` +
    `${per(z2 - z1)} B after fflate ${EVENTS_LEVEL} (${(((z2 - z1) / z1) * 100).toFixed(2)}%: ${(z1 / N).toFixed(4)} -> ${(z2 / N).toFixed(4)} B/event), ` +
    `${per(z2n - z1n)} B after zlib 6 (${(((z2n - z1n) / z1n) * 100).toFixed(2)}%)`
  );
}

function records(): Codec {
  const p = new Packr({ useRecords: true });
  return {
    name: "msgpackr records of KEvent",
    enc: (evs) => p.pack(evs),
    dec: (b) => new Packr({ useRecords: true }).unpack(b) as KEvent[],
  };
}

function deflated(c: Codec, level = 6): Codec {
  return {
    name: `${c.name} + deflate(${level})`,
    enc: (evs) => deflateRawSync(c.enc(evs), { level }),
    dec: (b, first, n) => c.dec(inflateRawSync(b), first, n),
  };
}

/** Format 2 event chunk bodies, uncompressed. */
function bodies(): Uint8Array[] {
  const b = new ChunkBuilder(1 << 16, slotTable(currentKinds()));
  return chunks.map((ch) => {
    b.reset();
    for (const e of ch) b.push(e);
    return b.encode().slice();
  });
}

/** Events per second of f over every chunk, best of 3 passes. */
function speed<T>(items: T[], f: (x: T) => unknown): string {
  let ms = Infinity;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    for (const x of items) f(x);
    ms = Math.min(ms, performance.now() - t0);
  }
  return `${(((N / ms) * 1000) / 1e6).toFixed(1)}M events/s`;
}

/** Compressing: fflate's levels on format 2 event chunk bodies (size and speed); reading: native raw inflate against fflate's. */
function compressSpeeds(): string {
  const raw = bodies();
  const lines = ([1, 2, 3, 4, 6] as const).map((level) => {
    const size = raw.reduce((s, r) => s + deflate(r, level).length, 0);
    return `  fflate level ${level}: ${(size / N).toFixed(3)} B/event, compress ${speed(raw, (r) => deflate(r, level))}${level === EVENTS_LEVEL ? " (written)" : ""}`;
  });
  const zs = raw.map((r) => deflate(r, EVENTS_LEVEL));
  lines.push(
    `  inflate: native (node:zlib inflateRawSync) ${speed(zs, (z) => inflateRawSync(z))}, fflate inflateSync ${speed(zs, (z) => inflateSync(z))}`,
  );
  return `event chunk bodies (format 2), compression only, best of 3:\n${lines.join("\n")}`;
}

const codecs: Codec[] = [
  records(),
  deflated(records()),
  columnar(false),
  deflated(columnar(false)),
  columnar(true),
  deflated(columnar(true)),
  deflated(columnar(true), 1),
  format(1, EVENTS_LEVEL),
  format(1, 6),
  format(2, 1),
  format(2, 2),
  format(2, 3),
  format(2, 4),
  format(2, 6),
];
const snapBytes = snaps.reduce((s, b) => s + b.length, 0);
const snapZ = snaps.reduce((s, b) => s + deflateRawSync(b).length, 0);
console.log(
  `${N} ${source} events, ${chunks.length} chunks of ${CHUNK}; ${snaps.length} snapshots every ${K}: ${(snapBytes / snaps.length).toFixed(0)} B each msgpack, ${(snapZ / snaps.length).toFixed(0)} B deflated (${(snapZ / N).toFixed(3)} B/event)`,
);
console.log(`JSON lines: ${(events.reduce((s, e) => s + JSON.stringify(e).length + 1, 0) / N).toFixed(1)} B/event`);
console.log(framing());
console.log(compressSpeeds());
console.log("| encoding | B/event (events only) | encode ev/s | decode ev/s |");
console.log("|---|---:|---:|---:|");
for (const c of codecs) {
  let t0 = performance.now();
  const enc = chunks.map((ch) => c.enc(ch));
  const tEnc = performance.now() - t0;
  const bytes = enc.reduce((s, b) => s + b.length, 0);
  // check + warm up
  const back = c.dec(enc[1]!, chunks[1]![0]!.seq, chunks[1]!.length);
  if (JSON.stringify(back) !== JSON.stringify(chunks[1])) throw new Error(`${c.name}: round trip differs`);
  let best = Infinity;
  for (let rep = 0; rep < 3; rep++) {
    t0 = performance.now();
    let sink = 0;
    for (let i = 0; i < enc.length; i++) sink += c.dec(enc[i]!, chunks[i]![0]!.seq, chunks[i]!.length).length;
    best = Math.min(best, performance.now() - t0);
    if (sink !== N) throw new Error("count");
  }
  console.log(
    `| ${c.name} | ${(bytes / N).toFixed(2)} | ${(((N / tEnc) * 1000) / 1e6).toFixed(1)}M | ${(((N / best) * 1000) / 1e6).toFixed(1)}M |`,
  );
}
