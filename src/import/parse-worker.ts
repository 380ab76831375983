// The parse thread of an import (parse-thread.ts starts it): reads and parses the
// input exactly as TraceInput does on one thread (lines, detection, the format's
// reader; the reading thread sorts) and streams the records of each batch of
// lines, encoded by RecordEncoder (ftrace's usual lines straight from their
// bytes), with the read counts as they stand after it, through a
// ByteChannel to the thread that maps them; at the end the final counts, or the
// error that stopped it. It never needs the other thread's event loop; it stops
// when that thread raises STOP (or terminates it).

import { workerData } from "node:worker_threads";
import { ByteChannel } from "../trace/byte-channel.ts";
import { CTL, MSG, type ParseThreadInput, sendMessage } from "./parse-thread.ts";
import { TraceInput } from "./read.ts";
import { RecordEncoder } from "./record-codec.ts";

const input = workerData as ParseThreadInput;
const ctl = new Int32Array(input.control);

class Stopped extends Error {}

const ch = new ByteChannel(
  input.channel,
  () => {
    Atomics.add(ctl, CTL.beat, 1);
    if (Atomics.load(ctl, CTL.stop) !== 0) throw new Stopped("stopped");
  },
  100,
);
Atomics.store(ctl, CTL.ready, 1);

const enc = new RecordEncoder();
try {
  const ti = TraceInput.open(input.path, input.opts);
  enc.begin();
  for await (const _ of ti.parseAll(
    (r) => enc.record(r),
    (buf, s, e, line, clock) => enc.ftraceLine(buf, s, e, line, clock),
  )) {
    Atomics.add(ctl, CTL.beat, 1);
    sendMessage(ch, MSG.batch, { stats: ti.stats, clock: ti.clockNow() }, enc.take());
    enc.begin();
  }
  sendMessage(ch, MSG.end, { stats: ti.stats, clock: ti.clockNow() }, null);
} catch (e) {
  if (!(e instanceof Stopped)) {
    const err = e as { name?: string; message?: string; hint?: string; code?: string };
    try {
      sendMessage(
        ch,
        MSG.error,
        { name: err.name ?? "Error", message: err.message ?? String(e), hint: err.hint, code: err.code },
        null,
      );
    } catch {
      // stopped meanwhile: nobody reads
    }
  }
}
