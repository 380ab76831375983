// Kernel state: creation, deep copy, and the plain form used by snapshots.

import { kstackObj, lockObj, procObj, threadObj, unwaitedSlot } from "./apply.ts";
import {
  type Cpu,
  type KConfig,
  type KObj,
  KSTACK_STATES,
  type KStack,
  type KState,
  LOCK_TYPES,
  type Lock,
  OBJ_STATES,
  type Pipe,
  PROC_STATES,
  type Proc,
  SCHED_POLICIES,
  THREAD_STATES,
  type Thread,
  VAR_TYPES,
  type Var,
  type VarType,
} from "./types.ts";

/** A cpu as the fold and fromPlain make it (one literal: one shape). */
function cpuObj(id: number, tid: number, kstack: number): Cpu {
  return { id, tid, kstack };
}

/** The state before the first event: idle cpus, nothing else. */
export function initState(config: KConfig): KState {
  const cpus: Cpu[] = [];
  for (let i = 0; i < config.cpus; i++) cpus.push(cpuObj(i, -1, -1));
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
    pipes: new Map(),
    regTypes: new Map(),
    nextLock: 1,
    nextVmar: 1,
    nextVar: 1,
    nextObj: 1,
    nextPipe: 1,
    outcome: null,
    ended: false,
  };
}

/** A thread in plain form: registers as [name, value] pairs, absent when it has none. */
export type PlainThread = Omit<Thread, "regs"> & { regs?: [string, number][] };

/**
 * Plain, msgpack-friendly form of a state: maps become arrays in id order of
 * insertion. vars, objs, regTypes, nextVar and nextObj are absent in
 * snapshots written before format 1.1, pipes and nextPipe (and the issue 11
 * fields of threads, processes, locks and variables) before issue 11: read
 * them as empty.
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
  pipes?: Pipe[];
  regTypes?: [string, VarType][];
  nextLock: number;
  nextVmar: number;
  nextVar?: number;
  nextObj?: number;
  nextPipe?: number;
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
    ...(s.pipes.size > 0 ? { pipes: [...s.pipes.values()] } : {}),
    regTypes: [...s.regTypes],
    nextLock: s.nextLock,
    nextVmar: s.nextVmar,
    nextVar: s.nextVar,
    nextObj: s.nextObj,
    ...(s.nextPipe > 1 ? { nextPipe: s.nextPipe } : {}),
    outcome: s.outcome,
    ended: s.ended,
  };
}

/** A copy of a list of plain objects (nested issue 11 fields: fds, pending signals, handlers). */
function objs<T extends object>(x: T[] | undefined): T[] | undefined {
  return Array.isArray(x) ? x.filter((o) => typeof o === "object" && o !== null).map((o) => ({ ...o })) : undefined;
}

/** Sets o[k] to v, or deletes o[k] when v is undefined (absent fields stay absent: snapshots stay as they were). */
function put<T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined): void {
  if (v === undefined) delete o[k];
  else o[k] = v;
}

/**
 * A copy of x (a snapshot's object) built as the fold builds one (`lead`, an
 * object literal of the keys the fold's own literal has, in its order; then
 * x's other keys in x's order) when x's keys begin with those: the engine then
 * gives both one shape, and code that folds on from a snapshot (the split
 * scan, seeks) stays as fast as on a state folded from the start. Otherwise
 * (another writer's order) a plain copy. The keys' order is x's either way:
 * a state packs to the bytes of the snapshot it came from. `skip`: keys left
 * out (the caller copies them).
 */
function shaped<T extends object>(x: T, lead: (x: T) => T, keys: readonly string[], skip?: string): T {
  const ks = Object.keys(x);
  let i = 0;
  while (i < keys.length && ks[i] === keys[i]) i++;
  if (i < keys.length) {
    if (skip === undefined) return { ...x };
    const { [skip]: _, ...rest } = x as Record<string, unknown>;
    return rest as T;
  }
  const o = lead(x) as Record<string, unknown>;
  for (let j = keys.length; j < ks.length; j++) if (ks[j] !== skip) o[ks[j]!] = (x as Record<string, unknown>)[ks[j]!];
  return o as T;
}

/**
 * The source's own string for s when it is one of `names` (the code's
 * literals), else s. A string a snapshot decodes to is a new one each time;
 * the fold compares states and types with literals, which the engine
 * compiles as a compare of interned strings while it only meets those, and
 * recompiles (slower) when it meets another.
 */
function named<T extends string>(names: readonly T[], s: T): T {
  for (let i = 0; i < names.length; i++) if (names[i] === s) return names[i]!;
  return s;
}

// The fold's own constructors (apply.ts: threadObj, procObj, lockObj, kstackObj;
// cpuObj here) rebuild a snapshot's objects, with the code's literals for their
// enum strings; the key lists are theirs, read off one object each.
const keysOf = (o: object) => Object.keys(o);
const THREAD_KEYS = keysOf(
  threadObj({ tid: 0, pid: 0, state: "runnable", ident: 0, kstack: 0, waitLock: 0, waitPid: 0 }),
);
const PROC_KEYS = keysOf(
  procObj({
    pid: 0,
    ppid: 0,
    name: "",
    state: "running",
    threads: [],
    vmar: 0,
    vmarClearedSeq: 0,
    vmarLock: 0,
    exitCode: null,
    tcaches: [],
    createdSeq: 0,
    exitingSeq: 0,
  }),
);
const LOCK_KEYS = keysOf(
  lockObj({ id: 0, name: "", space: 0, type: "mutex", owner: 0, ident: 0, level: 0, since: 0, copiedSeq: 0 }),
);
const KSTACK_KEYS = keysOf(kstackObj({ id: 0, tid: 0, state: "mapped", allocSeq: 0, freeSeq: 0, flushed: false }));
const CPU_KEYS = keysOf(cpuObj(0, -1, -1));

const threadLead = (x: PlainThread): PlainThread => {
  const t = threadObj(x as Thread) as PlainThread;
  t.state = named(THREAD_STATES, x.state);
  return t;
};
const procLead = (x: Proc): Proc => {
  const p = procObj(x);
  p.state = named(PROC_STATES, x.state);
  return p;
};
const lockLead = (x: Lock): Lock => {
  const l = lockObj(x);
  l.type = named(LOCK_TYPES, x.type);
  return l;
};
const kstackLead = (x: KStack): KStack => {
  const k = kstackObj(x);
  k.state = named(KSTACK_STATES, x.state);
  return k;
};
const cpuLead = (x: Cpu): Cpu => cpuObj(x.id, x.tid, x.kstack);

function threadOf(x: PlainThread): Thread {
  const t = shaped(x, threadLead, THREAD_KEYS, "regs") as Thread;
  const regs = x.regs;
  if (Array.isArray(regs)) t.regs = new Map(regs.filter((x) => Array.isArray(x)).map(([k, v]) => [k, v]));
  put(t, "waitOn", x.waitOn && typeof x.waitOn === "object" ? { ...x.waitOn } : undefined);
  put(t, "woken", x.woken && typeof x.woken === "object" ? { ...x.woken } : undefined);
  put(t, "sigPending", objs(x.sigPending));
  put(t, "handling", objs(x.handling));
  if (t.policy !== undefined) t.policy = named(SCHED_POLICIES, t.policy);
  return t;
}

function procOf(x: Proc): Proc {
  const p: Proc = shaped(x, procLead, PROC_KEYS);
  // slice: an array of ints as the fold's (a spread copy of a decoded array is another kind of array to the engine).
  p.threads = Array.isArray(x.threads) ? x.threads.slice() : [...x.threads];
  p.tcaches = Array.isArray(x.tcaches) ? x.tcaches.slice() : [...x.tcaches];
  put(p, "fds", objs(x.fds));
  put(
    p,
    "sigActions",
    Array.isArray(x.sigActions)
      ? x.sigActions.filter((a) => Array.isArray(a)).map(([a, b]) => [a, b] as [number, number])
      : undefined,
  );
  put(p, "sigPending", objs(x.sigPending));
  return p;
}

function varOf(x: Var): Var {
  const v: Var = { ...x };
  put(v, "wake", x.wake && typeof x.wake === "object" ? { ...x.wake } : undefined);
  if (v.type !== undefined) v.type = named(VAR_TYPES, v.type);
  return v;
}

function objOf(x: KObj): KObj {
  const o: KObj = { ...x };
  if (o.state !== undefined) o.state = named(OBJ_STATES, o.state);
  return o;
}

/** The fields added in format 1.1 are read leniently: anything but a list is an empty one. */
function list<T>(x: T[] | undefined): T[] {
  return Array.isArray(x) ? x : [];
}

/** Rebuilds a state from its plain form; the result shares nothing with the input. */
export function fromPlain(p: PlainState): KState {
  const threads = new Map(p.threads.map((x) => [x.tid, threadOf(x)]));
  unwaitedSlot(threads);
  return {
    seq: p.seq,
    time: p.time,
    config: { ...p.config },
    cpus: p.cpus.map((c) => {
      const o = shaped(c, cpuLead, CPU_KEYS);
      if (c.ctx) o.ctx = c.ctx.map((x) => ({ ...x }));
      return o;
    }),
    procs: new Map(p.procs.map((x) => [x.pid, procOf(x)])),
    threads,
    locks: new Map(p.locks.map((x) => [x.id, shaped(x, lockLead, LOCK_KEYS)])),
    kstacks: new Map(p.kstacks.map((x) => [x.id, shaped(x, kstackLead, KSTACK_KEYS)])),
    vars: new Map(list(p.vars).map((x) => [x.id, varOf(x)])),
    objs: new Map(list(p.objs).map((x) => [x.id, objOf(x)])),
    pipes: new Map(list(p.pipes).map((x) => [x.id, { ...x }])),
    regTypes: new Map(
      list(p.regTypes)
        .filter((x) => Array.isArray(x))
        .map(([k, v]) => [k, v]),
    ),
    nextLock: p.nextLock,
    nextVmar: p.nextVmar,
    nextVar: p.nextVar ?? 1,
    nextObj: p.nextObj ?? 1,
    nextPipe: p.nextPipe ?? 1,
    outcome: p.outcome ? { ...p.outcome } : null,
    ended: p.ended,
  };
}

/** Deep copy. */
export function cloneState(s: KState): KState {
  return fromPlain(toPlain(s));
}
