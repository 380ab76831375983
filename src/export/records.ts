// Events as plain records, one per event, for tools that know nothing of
// ktrace (pandas, DuckDB, jq, any msgpack library): `ktrace export --format
// msgpack|jsonl`. Schema: docs/FORMAT.md, "Exported records".
//
// A record is the shape of `ktrace events --json` without `desc`:
//   {seq, time, cpu, tid, kind: name, args: {named slots}}
// (the named slots go under `args` because a kind's slot names can be the
// event's own field names: thread-new's `tid` is the new thread, the event's
// `tid` the one creating it).
//
// msgpack: one standard msgpack map per event, back to back (a msgpack
// stream: msgpackr's unpackMultiple, Python's msgpack.Unpacker). jsonl: one
// JSON object per line (through jsonText: strings stay exact, and no control
// character reaches a terminal raw). Memory is bounded: one chunk's records
// and one output piece of 64 to 128 KB, handed to `write` (which may wait).
// A damaged trace's missing events (gaps) have no record: the events are
// read through the replay layer's walk, which steps over them.

import type { KEvent } from "../kernel/types.ts";
import { type EventJson, eventArgs, forEachEvent, kindName, type ReplaySource } from "../replay/index.ts";
import { ByteWriter } from "../trace/bytes.ts";
import { packr } from "../trace/format.ts";
import { jsonText } from "../util/safe-text.ts";

export const RECORD_FORMATS = ["msgpack", "jsonl"] as const;
export type RecordFormat = (typeof RECORD_FORMATS)[number];

/**
 * One exported event: seq, time (virtual ns), cpu and tid (-1: none), kind by
 * name (`kind#N` for a code this build does not know), args (the kind's slots
 * by name; a, b, c, s for an unknown kind).
 */
export type EventRecord = Omit<EventJson, "desc">;

export function eventRecord(ev: KEvent): EventRecord {
  return { seq: ev.seq, time: ev.time, cpu: ev.cpu, tid: ev.tid, kind: kindName(ev.kind), args: eventArgs(ev) };
}

/** Output piece size. */
const PIECE = 1 << 16;
/** Records encoded at a time (one msgpackr call or one join: several times faster than one per record). */
const BATCH = 512;

/**
 * The encoding of records back to back. For msgpack: the records packed as
 * one array, less the array's header (what follows it is each record's own
 * msgpack, in order).
 */
function encodeBatch(recs: EventRecord[], format: RecordFormat, enc: TextEncoder): Uint8Array {
  if (format === "jsonl") return enc.encode(jsonText(recs.map((r) => JSON.stringify(r)).join("\n") + "\n"));
  const b = packr.pack(recs);
  const t = b[0]!;
  return b.subarray(t >= 0x90 && t <= 0x9f ? 1 : t === 0xdc ? 3 : 5);
}

/**
 * Streams the events of `src` as records to `write`, in pieces of 64 KB
 * and at most one batch more, awaiting each write. Events missing from a
 * damaged trace are skipped. Returns the number of events written.
 */
export async function writeRecords(
  src: ReplaySource,
  format: RecordFormat,
  write: (piece: Uint8Array) => void | Promise<void>,
): Promise<number> {
  const w = new ByteWriter(PIECE * 2);
  const enc = new TextEncoder();
  let batch: EventRecord[] = [];
  let n = 0;
  const firsts = src.chunkFirstSeqs;
  for (let ci = 0; ci < firsts.length; ci++) {
    // One chunk's records at a time (walk reuses its event object: records are copies).
    const recs: EventRecord[] = [];
    const last = Math.min(src.eventCount, firsts[ci + 1] ?? src.eventCount) - 1;
    forEachEvent(src, firsts[ci]!, last, (ev) => void recs.push(eventRecord(ev)));
    for (const rec of recs) {
      batch.push(rec);
      n++;
      if (batch.length < BATCH) continue;
      w.bytes(encodeBatch(batch, format, enc));
      batch = [];
      if (w.pos >= PIECE) {
        await write(w.toBytes());
        w.reset();
      }
    }
  }
  if (batch.length > 0) w.bytes(encodeBatch(batch, format, enc));
  if (w.pos > 0) await write(w.toBytes());
  return n;
}
