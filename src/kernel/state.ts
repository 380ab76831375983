// Kernel state: creation, deep copy, and the plain form used by snapshots.

import type { Cpu, KConfig, KState, KStack, Lock, Proc, Thread } from "./types.ts";

/** The state before the first event: idle cpus, nothing else. */
export function initState(config: KConfig): KState {
  const cpus: Cpu[] = [];
  for (let i = 0; i < config.cpus; i++) cpus.push({ id: i, tid: -1, kstack: -1 });
  return {
    seq: -1,
    time: 0,
    config: { ...config },
    cpus,
    procs: new Map(),
    threads: new Map(),
    locks: new Map(),
    kstacks: new Map(),
    nextLock: 1,
    nextVmar: 1,
    outcome: null,
    ended: false,
  };
}

/** Plain, msgpack-friendly form of a state: maps become arrays in id order of insertion. */
export interface PlainState {
  seq: number;
  time: number;
  config: KConfig;
  cpus: Cpu[];
  procs: Proc[];
  threads: Thread[];
  locks: Lock[];
  kstacks: KStack[];
  nextLock: number;
  nextVmar: number;
  outcome: KState["outcome"];
  ended: boolean;
}

export function toPlain(s: KState): PlainState {
  return {
    seq: s.seq,
    time: s.time,
    config: s.config,
    cpus: s.cpus,
    procs: [...s.procs.values()],
    threads: [...s.threads.values()],
    locks: [...s.locks.values()],
    kstacks: [...s.kstacks.values()],
    nextLock: s.nextLock,
    nextVmar: s.nextVmar,
    outcome: s.outcome,
    ended: s.ended,
  };
}

/** Rebuilds a state from its plain form; the result shares nothing with the input. */
export function fromPlain(p: PlainState): KState {
  return {
    seq: p.seq,
    time: p.time,
    config: { ...p.config },
    cpus: p.cpus.map((c) => ({ ...c })),
    procs: new Map(p.procs.map((x) => [x.pid, { ...x, threads: [...x.threads], tcaches: [...x.tcaches] }])),
    threads: new Map(p.threads.map((x) => [x.tid, { ...x }])),
    locks: new Map(p.locks.map((x) => [x.id, { ...x }])),
    kstacks: new Map(p.kstacks.map((x) => [x.id, { ...x }])),
    nextLock: p.nextLock,
    nextVmar: p.nextVmar,
    outcome: p.outcome ? { ...p.outcome } : null,
    ended: p.ended,
  };
}

/** Deep copy. */
export function cloneState(s: KState): KState {
  return fromPlain(toPlain(s));
}
