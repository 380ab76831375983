// Kernel state: creation, deep copy, and the plain form used by snapshots.

import { cpuObj, intList, kstackObj, lockObj, procObj, spinSlot, threadObj, unwaitedSlot } from "./apply.ts";
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
  ROBUST_STATES,
  SCHED_POLICIES,
  THREAD_STATES,
  type Thread,
  VAR_TYPES,
  type Var,
  type VarType,
  WAIT_WHATS,
} from "./types.ts";

/** The state before the first event: idle cpus, nothing else. */
export function initState(config: KConfig): KState {
  const cpus: Cpu[] = [];
  for (let i = 0; i < config.cpus; i++) cpus.push(cpuObj({ id: i, tid: -1, kstack: -1 }));
  const locks = new Map<number, Lock>();
  spinSlot(locks);
  return {
    seq: -1,
    time: 0,
    config: { ...config },
    cpus,
    procs: new Map(),
    threads: new Map(),
    locks,
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

// The keys of the objects the fold makes, in their constructor's order (apply.ts:
// threadObj, procObj, lockObj, cpuObj), read off one object each, made as the
// fold makes them; and which of them are optional (undefined in a new object).
const keysOf = (o: object) => Object.keys(o);
const optional = (o: object) => Object.entries(o).flatMap(([k, v]) => (v === undefined ? [k] : []));
const THREAD0 = threadObj({ tid: 0, pid: 0, state: "runnable", ident: 0, kstack: -1, waitLock: -1, waitPid: -2 });
const PROC0 = procObj({
  pid: 0,
  ppid: 0,
  name: "",
  state: "running",
  threads: intList(),
  vmar: 0,
  vmarClearedSeq: -1,
  vmarLock: 0,
  exitCode: null,
  tcaches: intList(),
  createdSeq: 0,
  exitingSeq: -1,
});
const LOCK0 = lockObj({
  id: 0,
  name: "",
  space: 0,
  type: "mutex",
  owner: 0,
  ident: 0,
  level: 0,
  since: 0,
  copiedSeq: 0,
});
const CPU0 = cpuObj({ id: 0, tid: -1, kstack: -1 });
/** Each kind's keys in its constructor's order (a snapshot's records pack theirs in this order). */
export const OBJECT_KEYS = {
  thread: keysOf(THREAD0),
  proc: keysOf(PROC0),
  lock: keysOf(LOCK0),
  cpu: keysOf(CPU0),
} as const;
const THREAD_KEYS = OBJECT_KEYS.thread;
const PROC_KEYS = OBJECT_KEYS.proc;
const LOCK_KEYS = OBJECT_KEYS.lock;
const CPU_KEYS = OBJECT_KEYS.cpu;
const THREAD_OPTIONAL = optional(THREAD0);
const PROC_OPTIONAL = optional(PROC0);
const CPU_OPTIONAL = optional(CPU0);

/**
 * o's defined fields in `keys`' order: the plain form of one of the fold's
 * objects. An object keeps every field for its life (undefined when absent);
 * a snapshot packs only the defined ones, so absent stays absent in the bytes,
 * in one order whatever order the fold set them in.
 */
function packed<T extends object>(o: T, keys: readonly string[]): T {
  const x = o as Record<string, unknown>;
  const r: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) {
    const v = x[keys[i]!];
    if (v !== undefined) r[keys[i]!] = v;
  }
  return r as T;
}

function plainThread(t: Thread): PlainThread {
  const r = packed(t, THREAD_KEYS) as unknown as PlainThread;
  if (t.regs !== undefined) r.regs = [...t.regs];
  return r;
}

export function toPlain(s: KState): PlainState {
  return {
    seq: s.seq,
    time: s.time,
    config: s.config,
    cpus: s.cpus.map((c) => packed(c, CPU_KEYS)),
    procs: [...s.procs.values()].map((p) => packed(p, PROC_KEYS)),
    threads: [...s.threads.values()].map(plainThread),
    locks: [...s.locks.values()].map((l) => packed(l, LOCK_KEYS)),
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

// A snapshot's objects are rebuilt by the fold's own constructors (every field,
// in one order: one shape per kind whatever the snapshot's key order), from a
// literal of their core fields as the fold's creation sites give them, with the
// code's literals for their enum strings; then the optional fields, nested
// parts copied. Keys a snapshot has beyond the constructor's are not kept.

/** Sets o's optional fields (`keys`) to x's. */
function optionals(o: object, x: object, keys: readonly string[]): void {
  const to = o as Record<string, unknown>;
  const from = x as Record<string, unknown>;
  for (let i = 0; i < keys.length; i++) to[keys[i]!] = from[keys[i]!];
}

/** A thread from a snapshot (registers as pairs) or a live state (cloneState: registers as a Map). */
function threadOf(x: PlainThread | Thread): Thread {
  const t = threadObj({
    tid: x.tid,
    pid: x.pid,
    state: named(THREAD_STATES, x.state),
    ident: x.ident,
    kstack: x.kstack,
    waitLock: x.waitLock,
    waitPid: x.waitPid,
  });
  optionals(t, x, THREAD_OPTIONAL);
  const regs = x.regs;
  t.regs =
    regs instanceof Map
      ? new Map(regs)
      : Array.isArray(regs)
        ? new Map(regs.filter((r) => Array.isArray(r)).map(([k, v]) => [k, v]))
        : undefined;
  const w = x.waitOn;
  t.waitOn =
    w && typeof w === "object"
      ? { what: named(WAIT_WHATS, w.what), id: w.id, since: w.since, until: w.until, need: w.need ?? 0 }
      : undefined;
  const k = x.woken;
  t.woken = k && typeof k === "object" ? { by: k.by, seq: k.seq, how: k.how } : undefined;
  t.sigPending = objs(x.sigPending);
  t.handling = objs(x.handling);
  t.stores = objs(x.stores);
  if (t.policy !== undefined) t.policy = named(SCHED_POLICIES, t.policy);
  return t;
}

/** A copy of a list of ints as the fold holds its own (apply.ts, intList: a list of doubles to the engine). */
function ints(xs: readonly number[]): number[] {
  const out = intList();
  for (let i = 0; i < xs.length; i++) out.push(xs[i]!);
  return out;
}

function procOf(x: Proc): Proc {
  const p = procObj({
    pid: x.pid,
    ppid: x.ppid,
    name: x.name,
    state: named(PROC_STATES, x.state),
    threads: ints(x.threads),
    vmar: x.vmar,
    vmarClearedSeq: x.vmarClearedSeq,
    vmarLock: x.vmarLock,
    exitCode: x.exitCode,
    tcaches: ints(x.tcaches),
    createdSeq: x.createdSeq,
    exitingSeq: x.exitingSeq,
  });
  optionals(p, x, PROC_OPTIONAL);
  p.fds = objs(x.fds);
  p.sigActions = Array.isArray(x.sigActions)
    ? x.sigActions.filter((a) => Array.isArray(a)).map(([a, b]) => [a, b] as [number, number])
    : undefined;
  p.sigPending = objs(x.sigPending);
  return p;
}

function lockOf(x: Lock): Lock {
  const l = lockObj({
    id: x.id,
    name: x.name,
    space: x.space,
    type: named(LOCK_TYPES, x.type),
    owner: x.owner,
    ident: x.ident,
    level: x.level,
    since: x.since,
    copiedSeq: x.copiedSeq,
  });
  l.pi = x.pi;
  if (x.robust !== undefined) l.robust = named(ROBUST_STATES, x.robust);
  l.diedSeq = x.diedSeq;
  return l;
}

function kstackOf(x: KStack): KStack {
  return kstackObj({
    id: x.id,
    tid: x.tid,
    state: named(KSTACK_STATES, x.state),
    allocSeq: x.allocSeq,
    freeSeq: x.freeSeq,
    flushed: x.flushed,
  });
}

function cpuOf(x: Cpu): Cpu {
  const c = cpuObj({ id: x.id, tid: x.tid, kstack: x.kstack });
  optionals(c, x, CPU_OPTIONAL);
  c.ctx = x.ctx ? x.ctx.map((y) => ({ ...y })) : undefined;
  return c;
}

function varOf(x: Var): Var {
  const v: Var = { ...x };
  if (x.wake && typeof x.wake === "object") v.wake = { ...x.wake };
  else delete v.wake;
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
  return rebuilt(p);
}

/** A state's parts as fromPlain reads them: a plain form, or a live state's objects (cloneState). */
type Parts = Omit<PlainState, "threads"> & { threads: readonly (PlainThread | Thread)[] };

/** A map of `xs` by key(x), each made by `make`: a loop, without the [key, value] pairs `new Map(xs.map(...))` allocates. */
function mapOf<X, K, V>(xs: readonly X[], key: (x: X) => K, make: (x: X) => V): Map<K, V> {
  const m = new Map<K, V>();
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    m.set(key(x), make(x));
  }
  return m;
}

// mapOf's keys and the pipes' copy, made once (an arrow written in the call is a new function at each call).
const tidOf = (x: { tid: number }) => x.tid;
const pidOf = (x: { pid: number }) => x.pid;
const idOf = (x: { id: number }) => x.id;
const pipeOf = (x: Pipe): Pipe => ({ ...x });

/** A new state of p's parts, every object made by its constructor; shares nothing with p. */
function rebuilt(p: Parts): KState {
  const threads = mapOf(p.threads, tidOf, threadOf);
  unwaitedSlot(threads);
  const cpus = new Array<Cpu>(p.cpus.length);
  for (let i = 0; i < cpus.length; i++) cpus[i] = cpuOf(p.cpus[i]!);
  const locks = mapOf(p.locks, idOf, lockOf);
  spinSlot(locks);
  const regTypes = new Map<string, VarType>();
  for (const x of list(p.regTypes)) if (Array.isArray(x)) regTypes.set(x[0], x[1]);
  return {
    seq: p.seq,
    time: p.time,
    config: { ...p.config },
    cpus,
    procs: mapOf(p.procs, pidOf, procOf),
    threads,
    locks,
    kstacks: mapOf(p.kstacks, idOf, kstackOf),
    vars: mapOf(list(p.vars), idOf, varOf),
    objs: mapOf(list(p.objs), idOf, objOf),
    pipes: mapOf(list(p.pipes), idOf, pipeOf),
    regTypes,
    nextLock: p.nextLock,
    nextVmar: p.nextVmar,
    nextVar: p.nextVar ?? 1,
    nextObj: p.nextObj ?? 1,
    nextPipe: p.nextPipe ?? 1,
    outcome: p.outcome ? { ...p.outcome } : null,
    ended: p.ended,
  };
}

/**
 * Deep copy: the live objects rebuilt as fromPlain rebuilds a snapshot's (one
 * rule for a copy of each kind), without the plain form in between (a seek
 * keeps a checkpoint, a copy, at each jump).
 */
export function cloneState(s: KState): KState {
  return rebuilt({
    seq: s.seq,
    time: s.time,
    config: s.config,
    cpus: s.cpus,
    procs: [...s.procs.values()],
    threads: [...s.threads.values()],
    locks: [...s.locks.values()],
    kstacks: [...s.kstacks.values()],
    vars: [...s.vars.values()],
    objs: [...s.objs.values()],
    pipes: [...s.pipes.values()],
    regTypes: [...s.regTypes],
    nextLock: s.nextLock,
    nextVmar: s.nextVmar,
    nextVar: s.nextVar,
    nextObj: s.nextObj,
    nextPipe: s.nextPipe,
    outcome: s.outcome,
    ended: s.ended,
  });
}
