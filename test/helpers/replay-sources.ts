// Replay test helpers: scenario runs as in-memory sources, recorded trace
// files, and a canonical form of states to compare.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyEvent, initState, type KConfig, type KEvent, type KState, toPlain } from "../../src/kernel/index.ts";
import { prepare, record } from "../../src/record/index.ts";
import { MemorySource, type MemorySourceOptions } from "../../src/replay/index.ts";

export interface Req {
  fix?: string;
  seed?: number;
  opts?: string[];
  maxEvents?: number;
}

/** A scenario variant simulated into a MemorySource. */
export async function memorySource(
  target: string,
  req: Req = {},
  opts: MemorySourceOptions = {},
): Promise<MemorySource> {
  const p = await prepare({ target, ...req });
  return MemorySource.record(
    p.world,
    { seed: p.variant.seed, maxEvents: p.maxEvents },
    {
      ...opts,
      meta: { scenario: p.scenario.name, fix: p.variant.fix, seed: p.variant.seed },
    },
  );
}

let dir: string | undefined;

/** A scenario variant recorded to a trace file in a temporary directory; returns its path. */
export async function traceFile(target: string, req: Req = {}, snapshotEvery?: number, name?: string): Promise<string> {
  dir ??= mkdtempSync(join(tmpdir(), "ktrace-replay-"));
  const p = await prepare({ target, ...req });
  const file = join(
    dir,
    name ?? `${target}-${req.fix ?? "bug"}-${req.seed ?? "d"}-${req.maxEvents ?? "d"}-${snapshotEvery ?? "d"}.ktrace`,
  );
  record(p, file, snapshotEvery);
  return file;
}

/** Every event of a source, as fresh objects. */
export function allEvents(src: {
  eventCount: number;
  chunkOf(seq: number): number;
  readChunk(i: number): readonly KEvent[];
  chunkFirstSeqs: readonly number[];
}): KEvent[] {
  const out: KEvent[] = [];
  for (let i = 0; i < src.chunkFirstSeqs.length; i++) for (const e of src.readChunk(i)) out.push({ ...e });
  return out;
}

/** The state after folding events 0..seq from the initial state. */
export function foldTo(config: KState["config"], events: readonly KEvent[], seq: number): KState {
  const s = initState(config);
  for (let i = 0; i <= seq; i++) applyEvent(s, events[i]!);
  return s;
}

/** A canonical JSON form of a state, for equality. */
export function canon(s: KState): string {
  return JSON.stringify(toPlain(s));
}

/** Hand-built events with dense seqs (seq = index, time = 10 × seq): `add(kind, fields)` appends one and returns its seq. */
export function eventList(): {
  evs: KEvent[];
  add: (kind: number, f?: Partial<Omit<KEvent, "seq" | "kind">>) => number;
} {
  const evs: KEvent[] = [];
  const add = (kind: number, f: Partial<Omit<KEvent, "seq" | "kind">> = {}) => {
    evs.push({ seq: evs.length, time: evs.length * 10, cpu: -1, tid: -1, a: 0, b: 0, c: 0, s: "", ...f, kind });
    return evs.length - 1;
  };
  return { evs, add };
}

/** The Linux-like rules on 2 cpus, for hand-built event lists (eventList). */
export const LINUX_2CPU: KConfig = {
  cpus: 2,
  tidAfterFork: "inherit",
  kstackFree: "deferred",
  stackCheck: "silent",
  procfsVmar: "check",
};
