// Helpers for the trace tests: temp dirs, writing event lists and synthetic
// runs to trace files.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initState } from "../../src/kernel/state.ts";
import type { KEvent, KState } from "../../src/kernel/types.ts";
import { type TraceMeta, TraceWriter, type WriteResult, type WriterOptions } from "../../src/trace/index.ts";
import { SYNTH_CONFIG, type SynthOptions, synth } from "./synth.ts";

export function tempDir(tag = "trace"): string {
  return mkdtempSync(join(tmpdir(), `ktrace-${tag}-`));
}

export function metaFor(n: number, snapshotEvery: number, extra: Partial<TraceMeta> = {}): TraceMeta {
  return {
    scenario: "synth",
    fix: "",
    seed: 7,
    options: { threads: "12" },
    config: SYNTH_CONFIG,
    writer: "ktrace 0.1.0",
    snapshotEvery,
    maxEvents: n,
    ...extra,
  };
}

/**
 * Writes arbitrary events (they need not make sense to the kernel): the
 * snapshot states are the initial state with seq and time advanced.
 */
export function writeEvents(
  path: string,
  events: readonly KEvent[],
  opts: WriterOptions & { snapshotEvery: number },
): WriteResult {
  const st: KState = initState(SYNTH_CONFIG);
  const w = TraceWriter.create(path, metaFor(events.length, opts.snapshotEvery), initState(SYNTH_CONFIG), opts);
  for (const ev of events) {
    st.seq = ev.seq;
    st.time = ev.time;
    w.append(ev, st);
  }
  return w.finish({ outcome: null });
}

/** Writes n synthetic events; returns the result, the events and the plain states at each snapshot. */
export function writeSynth(
  path: string,
  n: number,
  opts: WriterOptions & { snapshotEvery: number; seed?: number } & SynthOptions,
) {
  const w = TraceWriter.create(path, metaFor(n, opts.snapshotEvery), initState(SYNTH_CONFIG), opts);
  const events: KEvent[] = [];
  const states = new Map<number, string>();
  states.set(-1, JSON.stringify(initState(SYNTH_CONFIG), mapsAsArrays));
  let last: KState | undefined;
  for (const [ev, st] of synth(n, opts.seed ?? 1, opts)) {
    w.append(ev, st);
    events.push(ev);
    if ((ev.seq + 1) % opts.snapshotEvery === 0) states.set(ev.seq, JSON.stringify(st, mapsAsArrays));
    last = st;
  }
  if (last) states.set(last.seq, JSON.stringify(last, mapsAsArrays));
  const result = w.finish();
  return { result, events, states };
}

/** JSON replacer that turns Maps into arrays of their values (the plain snapshot form). */
export function mapsAsArrays(_k: string, v: unknown): unknown {
  return v instanceof Map ? [...v.values()] : v;
}
