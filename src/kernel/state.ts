// Kernel state: creation, deep copy, and the plain form used by snapshots.

import type { Cpu, KConfig, KObj, KState, KStack, Lock, Proc, Thread, Var, VarType } from "./types.ts";

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
    vars: new Map(),
    objs: new Map(),
    regTypes: new Map(),
    nextLock: 1,
    nextVmar: 1,
    nextVar: 1,
    nextObj: 1,
    outcome: null,
    ended: false,
  };
}

/** A thread in plain form: registers as [name, value] pairs, absent when it has none. */
export type PlainThread = Omit<Thread, "regs"> & { regs?: [string, number][] };

/**
 * Plain, msgpack-friendly form of a state: maps become arrays in id order of
 * insertion. vars, objs, regTypes, nextVar and nextObj are absent in
 * snapshots written before format 1.1 (read them as empty).
 */
export interface PlainState {
  seq: number;
  time: number;
  config: KConfig;
  cpus: Cpu[];
  procs: Proc[];
  threads: PlainThread[];
  locks: Lock[];
  kstacks: KStack[];
  vars?: Var[];
  objs?: KObj[];
  regTypes?: [string, VarType][];
  nextLock: number;
  nextVmar: number;
  nextVar?: number;
  nextObj?: number;
  outcome: KState["outcome"];
  ended: boolean;
}

function plainThread(t: Thread): PlainThread {
  if (t.regs === undefined) return t as PlainThread;
  const { regs, ...rest } = t;
  return { ...rest, regs: [...regs] };
}

export function toPlain(s: KState): PlainState {
  return {
    seq: s.seq,
    time: s.time,
    config: s.config,
    cpus: s.cpus,
    procs: [...s.procs.values()],
    threads: [...s.threads.values()].map(plainThread),
    locks: [...s.locks.values()],
    kstacks: [...s.kstacks.values()],
    vars: [...s.vars.values()],
    objs: [...s.objs.values()],
    regTypes: [...s.regTypes],
    nextLock: s.nextLock,
    nextVmar: s.nextVmar,
    nextVar: s.nextVar,
    nextObj: s.nextObj,
    outcome: s.outcome,
    ended: s.ended,
  };
}

function threadOf(x: PlainThread): Thread {
  const { regs, ...rest } = x;
  const t: Thread = { ...rest };
  if (Array.isArray(regs)) t.regs = new Map(regs.filter((x) => Array.isArray(x)).map(([k, v]) => [k, v]));
  return t;
}

/** The fields added in format 1.1 are read leniently: anything but a list is an empty one. */
function list<T>(x: T[] | undefined): T[] {
  return Array.isArray(x) ? x : [];
}

/** Rebuilds a state from its plain form; the result shares nothing with the input. */
export function fromPlain(p: PlainState): KState {
  return {
    seq: p.seq,
    time: p.time,
    config: { ...p.config },
    cpus: p.cpus.map((c) => (c.ctx ? { ...c, ctx: c.ctx.map((x) => ({ ...x })) } : { ...c })),
    procs: new Map(p.procs.map((x) => [x.pid, { ...x, threads: [...x.threads], tcaches: [...x.tcaches] }])),
    threads: new Map(p.threads.map((x) => [x.tid, threadOf(x)])),
    locks: new Map(p.locks.map((x) => [x.id, { ...x }])),
    kstacks: new Map(p.kstacks.map((x) => [x.id, { ...x }])),
    vars: new Map(list(p.vars).map((x) => [x.id, { ...x }])),
    objs: new Map(list(p.objs).map((x) => [x.id, { ...x }])),
    regTypes: new Map(list(p.regTypes).filter((x) => Array.isArray(x)).map(([k, v]) => [k, v])),
    nextLock: p.nextLock,
    nextVmar: p.nextVmar,
    nextVar: p.nextVar ?? 1,
    nextObj: p.nextObj ?? 1,
    outcome: p.outcome ? { ...p.outcome } : null,
    ended: p.ended,
  };
}

/** Deep copy. */
export function cloneState(s: KState): KState {
  return fromPlain(toPlain(s));
}
