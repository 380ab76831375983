// The trace writer's worker thread (writer.ts, TraceWriter.useThread): reads
// encoded chunk bodies in order from a ByteChannel, and deflates, frames and
// writes them with ChunkFile, exactly as the writer does on its own thread;
// at the end the index and the footer, then an fsync. With the recorder's
// `encode` (TraceWriter.useThread) it also encodes the event chunks from their
// rows (EventRows) and decides the snapshots (SnapshotRule), as the writer
// would on its own thread. It opens the partial
// file itself (named by the first record, `open`: the thread may start before
// the writer has its file) and writes at explicit offsets. It never returns to its event
// loop: readiness, progress, liveness, the answer to finish and a failure's
// report all go through the shared control block (SLOT).

import { closeSync, fsyncSync, openSync } from "node:fs";
import { workerData } from "node:worker_threads";
import type { Outcome } from "../kernel/types.ts";
import { ByteChannel } from "./byte-channel.ts";
import { fromUtf8, utf8 } from "./bytes.ts";
import { ChunkBuilder, rowStrings, rowsInto, slotTable } from "./event-codec.ts";
import { packr } from "./format.ts";
import {
  ChunkFile,
  controlViews,
  RECORD,
  RECORD_HEAD,
  SLOT,
  SnapshotRule,
  type ThreadFile,
  type ThreadInput,
  writeFailure,
} from "./writer.ts";

const input = workerData as ThreadInput;
const { ints, nums, text } = controlViews(input.control);
const alive = () => Atomics.add(ints, SLOT.beat, 1);
const ch = new ByteChannel(input.channel, alive, 100);
let fd = -1;
let file = null as ChunkFile | null; // set by open()
let failed = false;
const rule = new SnapshotRule();
/** The event chunks' encoder (ThreadFile.encode). */
let builder = null as ChunkBuilder | null; // set by open()

function fail(e: unknown): void {
  failed = true;
  const report = utf8(JSON.stringify(writeFailure(e, file?.eventsWritten ?? 0))).subarray(0, text.length);
  text.set(report);
  Atomics.store(ints, SLOT.textLength, report.length);
  Atomics.store(ints, SLOT.failed, 1);
}

/** Opens the file of the `open` record. */
function open(f: ThreadFile): void {
  try {
    fd = openSync(f.path, "r+");
    file = new ChunkFile(fd, f.offset, f.index, f.fastDeflate);
    rule.lastSnapshot = f.rule.lastSnapshot;
    rule.lastBytes = f.rule.lastBytes;
    rule.eventBytes = f.rule.eventBytes;
    if (f.encode !== undefined) builder = new ChunkBuilder(f.encode.capacity, slotTable(f.encode.kinds));
  } catch (e) {
    fail(e);
  }
}
Atomics.store(ints, SLOT.ready, 1);

const head = new Uint8Array(RECORD_HEAD);
const hv = new DataView(head.buffer);
let body = new Uint8Array(1 << 16);
for (;;) {
  // Without `wake`: the writer, when it waits on a full channel, is woken once a quarter of it is free.
  ch.read(head, RECORD_HEAD, false);
  const type = head[0]!;
  const len = hv.getUint32(4, true);
  const a = hv.getFloat64(8, true);
  const b = hv.getFloat64(16, true);
  if (body.length < len) body = new Uint8Array(Math.max(len, 2 * body.length));
  ch.read(body, len, false);
  if (type === RECORD.stop) {
    if (fd >= 0)
      try {
        closeSync(fd);
      } catch {
        /* already gone */
      }
    Atomics.add(ints, SLOT.done, 1);
    Atomics.notify(ints, SLOT.done);
    break;
  }
  if (type === RECORD.open) open(JSON.parse(fromUtf8(body.subarray(0, len))) as ThreadFile);
  else if (!failed && file !== null && Atomics.load(ints, SLOT.stop) === 0) {
    try {
      const x = body.subarray(0, len);
      if (type === RECORD.events) {
        file.eventChunk(a, b, x, hv.getUint32(24, true));
        rule.eventBytes += len;
      } else if (type === RECORD.rows && builder !== null) {
        // The rows were checked as they were stored (EventRows.push): this encode does not throw on a field.
        const rowsLength = hv.getUint32(24, true);
        rowsInto(builder, a, b, x, rowStrings(x.subarray(rowsLength)));
        const z = builder.encode();
        file.eventChunk(a, b, z, builder.coreLength);
        rule.eventBytes += z.length;
        builder.reset();
      } else if (type === RECORD.snapshot) {
        file.snapshot(a, x);
        rule.take(a, len);
      } else if (type === RECORD.snapshotIfDue || type === RECORD.snapshotFinal) {
        // A body too large to keep comes as its size alone (WriterThread.sized): take() leaves it out.
        const size = hv.getUint32(24, true) || len;
        const seq = type === RECORD.snapshotIfDue ? a : b;
        const want = type === RECORD.snapshotIfDue ? rule.due() : rule.lastSnapshot !== a;
        if (want && rule.take(seq, size)) file.snapshot(seq, x);
      } else if (type === RECORD.schedule) file.schedule(x);
      else if (type === RECORD.finish) {
        const done = file.finish(a, packr.unpack(x) as Outcome | null, b);
        fsyncSync(fd);
        nums[0] = done.bytes;
        nums[1] = done.snapshots;
      }
    } catch (e) {
      fail(e);
    }
  }
  alive();
  Atomics.add(ints, SLOT.done, 1);
  Atomics.notify(ints, SLOT.done);
}
