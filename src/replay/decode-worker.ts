// The decode worker of the scan pipeline (decode-ring.ts): opens the trace
// itself and decodes its event chunks in order into the ring's slots, going
// on from where the scan's thread says after a restart, until told to stop
// or the trace ends. It loads the reader and the decoder only (no kernel
// fold, no invariants); it writes nothing but the ring. A chunk it cannot
// decode (damage: TraceCorruptError), or whose columns or strings do not fit
// a slot, is left to the scan's thread (SLOT_SELF), which decodes it with its
// own reader and so meets the damage as a serial scan does.

import { workerData } from "node:worker_threads";
import { Scratch } from "../trace/event-codec.ts";
import { openTrace } from "../trace/reader.ts";
import { CTRL, HEAD, putStrings, ringViews, SLOT_OK, SLOT_SELF, SLOTS } from "./decode-ring.ts";

/** What the scan's thread gives the worker. */
export interface DecodeWorkerInput {
  path: string;
  buf: SharedArrayBuffer;
  /** Events a slot holds. */
  cap: number;
  /** Tests: the worker throws after decoding this many chunks (a worker that fails mid-way). */
  failAfter?: number;
}

const input = workerData as DecodeWorkerInput;
/**
 * Chunks between two young-generation collections (Bun): what decoding a
 * chunk allocates (the body's msgpack document, its strings) is dead once
 * it is in the slot; collecting it every 32 chunks (~128K events, as the
 * scan's EDEN_EVENTS) keeps `check`'s peak ~7 MB lower at 100M events
 * (102-104 -> 95-97 MB) for no measurable CPU.
 */
const GC_EVERY = 32;
let sinceGc = 0;
const edenGC: (() => void) | null =
  typeof (globalThis as { Bun?: unknown }).Bun === "undefined"
    ? null
    : ((await import("bun:jsc" as string)) as { edenGC(): void }).edenGC;
const { ctrl, head, firstSeq, slots } = ringViews(input.buf, input.cap);
try {
  const reader = openTrace(input.path, { cacheChunks: 1 });
  try {
    run(reader);
  } finally {
    reader.close();
  }
} catch {
  // The scan's thread decodes what is left itself (and meets any error there).
} finally {
  Atomics.store(ctrl, CTRL.state, 2);
  Atomics.notify(ctrl, CTRL.prod);
}

function run(reader: ReturnType<typeof openTrace>): void {
  const cap = input.cap;
  const starts = reader.chunkFirstSeqs;
  const chunks = starts.length;
  // One Scratch per slot, its columns the slot's arrays; the decoder's own index lists are shared.
  const own = new Scratch(cap);
  const onSlot = (sc: Scratch, s: number): Scratch => {
    const x = slots[s]!;
    sc.cap = cap;
    sc.kind = x.kind;
    sc.cpu = x.cpu;
    sc.tid = x.tid;
    sc.time = x.time;
    sc.a = x.a;
    sc.b = x.b;
    sc.c = x.c;
    sc.sIdx = x.sIdx;
    sc.ia = own.ia;
    sc.ib = own.ib;
    sc.ic = own.ic;
    sc.is = own.is;
    return sc;
  };
  const scratch = slots.map((_, s) => onSlot(new Scratch(0), s));
  let gen = -1;
  let next = 0;
  let decoded = 0;
  while (Atomics.load(ctrl, CTRL.stop) === 0) {
    const g = Atomics.load(ctrl, CTRL.gen);
    if (g !== gen) {
      gen = g;
      next = Atomics.load(ctrl, CTRL.start);
      Atomics.store(ctrl, CTRL.next, next);
      Atomics.store(ctrl, CTRL.wgen, gen);
      // Running once the trace is open and the first generation taken (opening a trace without an index
      // reads it whole): until then the scan's thread decodes for itself rather than wait.
      if (Atomics.load(ctrl, CTRL.state) === 0) Atomics.store(ctrl, CTRL.state, 1);
    }
    if (next >= chunks) {
      Atomics.wait(ctrl, CTRL.gen, g, 1000);
      continue;
    }
    const prod = Atomics.load(ctrl, CTRL.prod);
    const cons = Atomics.load(ctrl, CTRL.cons);
    if (prod - cons >= SLOTS) {
      // Full: wait until half of it is free (the scan's thread notifies then), or a restart or stop.
      Atomics.store(ctrl, CTRL.workerWaits, 1);
      for (;;) {
        const c = Atomics.load(ctrl, CTRL.cons);
        if (prod - c <= SLOTS / 2 || Atomics.load(ctrl, CTRL.gen) !== gen || Atomics.load(ctrl, CTRL.stop) !== 0) break;
        Atomics.wait(ctrl, CTRL.cons, c, 1000);
      }
      Atomics.store(ctrl, CTRL.workerWaits, 0);
      continue;
    }
    const s = prod % SLOTS;
    const h = s * HEAD.words;
    const n = (next + 1 < chunks ? starts[next + 1]! : reader.eventCount) - starts[next]!;
    let status = SLOT_SELF;
    if (n <= cap) {
      try {
        const sc = scratch[s]!;
        const cols = reader.readColumns(next, sc);
        // The decoder wrote into the slot (it would have made new arrays had the chunk not fit).
        if (cols.kind.buffer === input.buf && sc.kind === slots[s]!.kind) {
          const used = putStrings(cols.strings, slots[s]!.units);
          if (used >= 0) {
            head[h + HEAD.n] = cols.n;
            head[h + HEAD.strings] = cols.strings.length;
            head[h + HEAD.units] = used;
            firstSeq[s] = cols.firstSeq;
            status = SLOT_OK;
          }
        } else onSlot(sc, s);
      } catch {
        // Damage (or anything else): the scan's thread decodes this chunk itself.
        onSlot(scratch[s]!, s);
      }
    }
    if (++sinceGc >= GC_EVERY) {
      sinceGc = 0;
      edenGC?.();
    }
    if (status === SLOT_OK) Atomics.add(ctrl, CTRL.decoded, 1);
    else Atomics.add(ctrl, CTRL.left, 1);
    head[h + HEAD.gen] = gen;
    head[h + HEAD.ci] = next;
    head[h + HEAD.status] = status;
    next++;
    Atomics.store(ctrl, CTRL.prod, prod + 1);
    Atomics.store(ctrl, CTRL.next, next);
    if (Atomics.load(ctrl, CTRL.scanWaits) !== 0) Atomics.notify(ctrl, CTRL.prod);
    if (input.failAfter !== undefined && ++decoded >= input.failAfter) throw new Error("failAfter (a test)");
  }
}
