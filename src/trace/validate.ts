// Structural validation of what a trace's bytes decode to: the header meta,
// the index, each snapshot and each event chunk, checked against the kernel's
// types (src/kernel/types.ts) before anything uses them. A file whose
// checksums are right but whose contents are not (crafted, or written by a
// broken writer) is then refused as damaged data, with a reason, instead of
// failing later with a TypeError deep inside the kernel (exit 3).
//
// Each check returns the value (typed) or a one-line explanation. Records may
// carry fields this build does not know (a later kernel): they are kept.

import type { PlainState } from "../kernel/state.ts";
import {
  KSTACK_STATES,
  LOCK_TYPES,
  MAX_CTX_DEPTH,
  OBJ_STATES,
  OUTCOME_KINDS,
  PROC_STATES,
  ROBUST_STATES,
  SCHED_POLICIES,
  SYNC_KINDS,
  THREAD_STATES,
  VAR_TYPES,
  WAIT_WHATS,
} from "../kernel/types.ts";
import { safeText } from "../util/safe-text.ts";
import type { EventColumns } from "./event-codec.ts";
import {
  FRAME_HEADER,
  type HeaderData,
  type IndexData,
  MAX_CHUNK_EVENTS,
  MAX_KINDS,
  MAX_META,
  MAX_TRACE_CPUS,
  META_MAX_DEPTH,
  packr,
} from "./format.ts";
import { msgpackShape, type ShapeLimits } from "./msgpack-bounds.ts";

type Obj = Record<string, unknown>;

export function isObj(x: unknown): x is Obj {
  return typeof x === "object" && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array);
}

const int = (x: unknown): x is number => Number.isSafeInteger(x);

/** A kernel config value: the rules are strings today (KConfig); numbers and booleans are allowed for rules a later kernel adds. */
const isPrimitive = (x: unknown) =>
  typeof x === "string" || typeof x === "boolean" || (typeof x === "number" && Number.isFinite(x));

function isIntArray(x: unknown, n?: number): x is number[] {
  return Array.isArray(x) && (n === undefined || x.length === n) && x.every(int);
}

/** A value from a trace, for a message: a number as is, a string escaped and cut (safeText), anything else by its type. */
export function shown(x: unknown): string {
  if (typeof x === "number" || typeof x === "boolean" || x === null || x === undefined) return String(x);
  if (typeof x === "string") return `'${safeText(x.length > 40 ? `${x.slice(0, 39)}…` : x)}'`;
  return Array.isArray(x) ? "an array" : x instanceof Uint8Array ? "bytes" : `a ${typeof x}`;
}

/** Unpacks msgpack after checking its shape (msgpack-bounds.ts); an explanation when it does not decode. */
export function unpackBounded(bytes: Uint8Array, limits: ShapeLimits): unknown {
  const bad = msgpackShape(bytes, limits);
  if (bad !== null) throw new Error(`msgpack ${bad}`);
  return packr.unpack(bytes);
}

/**
 * Shape limits for the header meta. Its `world` holds the scenario's programs
 * (ops nest: an op is a map inside an array, up to the kernel's MAX_DEPTH
 * levels of src/kernel/validate.ts, with expressions below), so it may nest deep; a container or item
 * takes at least one byte, so the meta's own length (at most MAX_META) bounds
 * their counts. The world's structure is validated after decoding
 * (validateWorld, with its own depth and size bounds).
 */
export const META_SHAPE: ShapeLimits = { maxDepth: META_MAX_DEPTH, maxContainers: MAX_META, maxItems: MAX_META };

/** Shape limits for a snapshot body of n bytes: a real kernel record takes well over 12 bytes of msgpack. */
export function snapshotShape(n: number): ShapeLimits {
  return { maxDepth: 8, maxContainers: Math.floor(n / 12) + 64, maxItems: n };
}

/**
 * Shape limits for a format 2 event chunk body: an array of the fields and
 * the string table (a later minor version may append a few more containers).
 */
export const EVENT_BODY_SHAPE: ShapeLimits = { maxDepth: 4, maxContainers: 64, maxItems: Number.MAX_SAFE_INTEGER };

/** Shape limits for an index body, in a file of `fileBytes` bytes: one table entry per frame at most. */
export function indexShape(fileBytes: number): ShapeLimits {
  return { maxDepth: 4, maxContainers: 32, maxItems: 5 * Math.floor(fileBytes / FRAME_HEADER) + 64 };
}

// ---- header ----

/** Validates the header meta; an explanation when it is not usable. */
export function checkMeta(m: unknown): HeaderData | string {
  if (!isObj(m)) return "meta is not a map";
  for (const k of ["scenario", "fix", "writer"])
    if (typeof m[k] !== "string") return `meta field ${k} is missing or not a string`;
  for (const k of ["seed", "snapshotEvery", "maxEvents", "chunkEvents"])
    if (!int(m[k])) return `meta field ${k} is missing or not an integer`;
  if ((m.snapshotEvery as number) < 1) return "meta field snapshotEvery is not positive";
  const ce = m.chunkEvents as number;
  if (ce < 1 || ce > MAX_CHUNK_EVENTS) return `meta field chunkEvents is ${ce}, outside 1..${MAX_CHUNK_EVENTS}`;
  if (!isObj(m.config)) return "meta field config is missing";
  const cpus = m.config.cpus;
  if (!int(cpus) || cpus < 1 || cpus > MAX_TRACE_CPUS)
    return `meta field config.cpus is not an integer in 1..${MAX_TRACE_CPUS}`;
  for (const [k, v] of Object.entries(m.config))
    if (!isPrimitive(v)) return `meta field config.${shown(k)} is not a string, number or boolean`;
  if (!isObj(m.options)) return "meta field options is not a map";
  for (const [k, v] of Object.entries(m.options))
    if (typeof v !== "string") return `meta option ${shown(k)} is not a string`;
  const kinds = m.kinds;
  if (!Array.isArray(kinds) || kinds.length > MAX_KINDS) return "meta field kinds is not a kind table";
  for (const k of kinds as unknown[]) {
    if (
      !Array.isArray(k) ||
      typeof k[0] !== "string" ||
      !int(k[1]) ||
      (k[2] !== undefined && !int(k[2])) ||
      (k[3] !== undefined && !int(k[3]))
    )
      return "meta field kinds is not a kind table";
  }
  if (m.imported !== undefined) {
    const bad = checkImported(m.imported);
    if (bad !== null) return `meta field imported ${bad}`;
  }
  return m as unknown as HeaderData;
}

/** Longest text the header's imported section may hold in one field (a path). */
const MAX_IMPORTED_TEXT = 4096;

/** Checks the imported section (format ImportedMeta); an explanation or null. */
function checkImported(x: unknown): string | null {
  if (!isObj(x)) return "is not a map";
  const text = (v: unknown) => typeof v === "string" && v.length <= MAX_IMPORTED_TEXT;
  if (!text(x.format) || !text(x.file)) return "lacks its format or file";
  if (typeof x.detected !== "boolean" || typeof x.gzip !== "boolean") return "lacks detected/gzip";
  const c = x.clock;
  if (c === null) return null;
  if (
    !isObj(c) ||
    !text(c.kind) ||
    !text(c.unit) ||
    !text(c.origin) ||
    !int(c.precision) ||
    c.precision < 0 ||
    c.precision > 64
  )
    return "has a bad clock";
  return null;
}

// ---- index ----

/** Where an index may point: event and snapshot frames lie in [min, max). */
export interface IndexBounds {
  min: number;
  max: number;
  /** Most events in one chunk (the header's chunkEvents). */
  chunkEvents: number;
}

/**
 * Validates an index's fields and tables: event chunks dense from seq 0, each
 * of 1..chunkEvents events, offsets increasing inside [min, max); snapshots
 * increasing within -1..events-1; no more entries than frames fit; the outcome
 * a known kind at a seq of the trace.
 */
export function checkIndex(x: unknown, b: IndexBounds): IndexData | string {
  if (!isObj(x) || !int(x.events) || x.events < 0) return "index is not a map with events";
  const ix = x;
  const n = Array.isArray(ix.chunkOffsets) ? ix.chunkOffsets.length : -1;
  if (!isIntArray(ix.chunkOffsets) || !isIntArray(ix.chunkFirstSeqs, n) || !isIntArray(ix.chunkCounts, n))
    return "bad chunk tables";
  const m = Array.isArray(ix.snapshotSeqs) ? ix.snapshotSeqs.length : -1;
  if (!isIntArray(ix.snapshotSeqs) || !isIntArray(ix.snapshotOffsets, m)) return "bad snapshot tables";
  if (ix.endTime !== undefined && (!int(ix.endTime) || ix.endTime < 0)) return "bad endTime";
  const frames = Math.floor((b.max - b.min) / FRAME_HEADER);
  if (n + m > frames) return `the index lists ${n + m} chunks, more than ${b.max - b.min} bytes can hold`;
  const events = ix.events as number;
  const o = checkOutcome(ix.outcome, events);
  if (typeof o === "string") return `index ${o}`;
  const idx = ix as unknown as IndexData;
  let seq = 0;
  let prev = b.min - 1;
  for (let i = 0; i < n; i++) {
    const c = idx.chunkCounts[i]!;
    if (idx.chunkFirstSeqs[i] !== seq || c < 1 || c > b.chunkEvents)
      return `event chunk ${i} does not continue at seq ${seq} with 1..${b.chunkEvents} events`;
    seq += c;
    if (idx.chunkOffsets[i]! <= prev || idx.chunkOffsets[i]! >= b.max) return `event chunk ${i} offset out of range`;
    prev = idx.chunkOffsets[i]!;
  }
  if (seq !== events) return `event chunks hold ${seq} events, the index says ${events}`;
  if (ix.schedule !== undefined && (!int(ix.schedule) || ix.schedule < b.min || ix.schedule >= b.max))
    return "schedule chunk offset out of range";
  prev = -2;
  for (let i = 0; i < m; i++) {
    const s = idx.snapshotSeqs[i]!;
    const off = idx.snapshotOffsets[i]!;
    if (s <= prev || s >= Math.max(events, 0) || off < b.min || off >= b.max)
      return `snapshot ${i} out of order or range`;
    prev = s;
  }
  return { ...idx, endTime: (ix.endTime as number | undefined) ?? 0, outcome: o };
}

/** null, or {kind, seq, message} with a known kind and -1 <= seq < events. */
function checkOutcome(o: unknown, events: number): IndexData["outcome"] | string {
  if (o === null || o === undefined) return null;
  if (!isObj(o)) return "outcome is not a map";
  if (typeof o.kind !== "string" || !(OUTCOME_KINDS as readonly string[]).includes(o.kind))
    return "outcome has an unknown kind";
  if (!int(o.seq) || o.seq < -1 || o.seq >= Math.max(events, 0))
    return `outcome seq ${shown(o.seq)} is outside the trace`;
  if (typeof o.message !== "string") return "outcome message is not a string";
  return o as unknown as IndexData["outcome"];
}

// ---- snapshots ----

type Field =
  | "int"
  | "int?"
  | "intOrNull"
  | "str"
  | "str?"
  | "bool"
  | "bool?"
  | "ints"
  | "locktype"
  | "vartype"
  | "regs?"
  // the states of threads, processes, kernel stacks (one of the kernel's names: shown as they are)
  | "tstate"
  | "pstate"
  | "kstate"
  | "ostate"
  // imported traces' (absent in simulated runs)
  | "ctx?"
  // issue 11's (absent in older snapshots)
  | "policy?"
  | "sync?"
  | "waitOn?"
  | "woken?"
  | "pending?"
  | "handling?"
  | "stores?"
  | "fds?"
  | "actions?"
  | "wake?"
  // robust mutexes' (absent on other locks)
  | "robust?";

// Fields of imported traces (src/kernel/imported.ts) are optional: absent in simulated runs.
const CPU: Record<string, Field> = {
  id: "int",
  tid: "int",
  kstack: "int",
  switchSeq: "int?",
  lostSeq: "int?",
  ctx: "ctx?",
};
/** An interrupt context on a cpu's stack (kernel CpuCtx). */
const CPU_CTX_FIELDS: Record<string, Field> = { kind: "str", num: "int", name: "str", since: "int" };

const PROC: Record<string, Field> = {
  pid: "int",
  ppid: "int",
  name: "str",
  state: "pstate",
  threads: "ints",
  vmar: "intOrNull",
  vmarClearedSeq: "int",
  vmarLock: "int",
  exitCode: "intOrNull",
  tcaches: "ints",
  createdSeq: "int",
  exitingSeq: "int?",
  refs: "int?",
  fds: "fds?",
  sigActions: "actions?",
  sigPending: "pending?",
  adoptedSeq: "int?",
  exitSeq: "int?",
};
const THREAD: Record<string, Field> = {
  tid: "int",
  pid: "int",
  state: "tstate",
  ident: "int",
  kstack: "int",
  waitLock: "int",
  waitPid: "int",
  waitSince: "int?",
  regs: "regs?",
  comm: "str?",
  cpu: "int?",
  onSeq: "int?",
  offSeq: "int?",
  waitOn: "waitOn?",
  woken: "woken?",
  prio: "int?",
  policy: "policy?",
  boost: "int?",
  sigMask: "int?",
  sigPending: "pending?",
  handling: "handling?",
  pdeathSig: "int?",
  stores: "stores?",
};
const LOCK: Record<string, Field> = {
  id: "int",
  name: "str",
  space: "int",
  type: "locktype",
  owner: "int",
  ident: "int",
  level: "int",
  since: "int",
  copiedSeq: "int",
  pi: "bool?",
  robust: "robust?",
  diedSeq: "int?",
};
// Issue 11's parts of threads, processes and variables, and its pipes.
const WAIT_ON: Record<string, Field> = { what: "str", id: "int", since: "int", until: "int", need: "int?" };
const WOKEN: Record<string, Field> = { by: "int", seq: "int", how: "int" };
const PENDING: Record<string, Field> = { sig: "int", seq: "int", by: "int" };
const HANDLING: Record<string, Field> = { sig: "int", sent: "int", at: "int", by: "int", mask: "int" };
/** A store waiting in a thread's store buffer (tso, pso; wmb: a store barrier follows it, pso). */
const STORE: Record<string, Field> = { var: "int", value: "int", seq: "int", wmb: "bool?" };
const FD: Record<string, Field> = { fd: "int", pipe: "int", write: "bool", cloexec: "bool", seq: "int" };
const WAKE: Record<string, Field> = { seq: "int", woken: "int", by: "int" };
const PIPE: Record<string, Field> = {
  id: "int",
  cap: "int",
  used: "int",
  readers: "int",
  writers: "int",
  createdSeq: "int",
  writeSeq: "int",
  readSeq: "int",
  wclosedSeq: "int",
};
const KSTACK: Record<string, Field> = {
  id: "int",
  tid: "int",
  state: "kstate",
  allocSeq: "int",
  freeSeq: "int",
  flushed: "bool",
};
// Format 1.1 (shared state): absent in older snapshots, where they read as empty.
const VAR: Record<string, Field> = {
  id: "int",
  name: "str",
  type: "vartype",
  space: "int",
  value: "int",
  since: "int",
  writer: "int",
  copiedSeq: "int",
  sync: "sync?",
  wake: "wake?",
};
const OBJ: Record<string, Field> = {
  id: "int",
  name: "str",
  space: "int",
  state: "ostate",
  allocSeq: "int",
  freeSeq: "int",
};

/** [name, value] pairs (a Map in plain form) whose values pass `ok`. */
function isPairs(v: unknown, ok: (x: unknown) => boolean): boolean {
  return Array.isArray(v) && v.every((x) => Array.isArray(x) && x.length === 2 && typeof x[0] === "string" && ok(x[1]));
}

/** A map with every field of `shape` right (absent is fine when the field is optional). */
function shaped(v: unknown, shape: Record<string, Field>): boolean {
  if (!isObj(v)) return false;
  for (const k in shape) if (!fieldOk(v[k], shape[k]!)) return false;
  return true;
}

/**
 * undefined, or an array (of at most `max` entries) of maps of `shape`. A loop (holes skipped, as every() skips
 * them): every()'s arrow captured `shape`, so each call made a scope and a function, ~40 per snapshot read.
 */
function listOf(v: unknown, shape: Record<string, Field>, max = 4096): boolean {
  if (v === undefined) return true;
  if (!Array.isArray(v) || v.length > max) return false;
  for (let i = 0; i < v.length; i++) if (i in v && !shaped(v[i], shape)) return false;
  return true;
}

function fieldOk(v: unknown, f: Field): boolean {
  switch (f) {
    case "bool?":
      return v === undefined || typeof v === "boolean";
    case "policy?":
      return v === undefined || (typeof v === "string" && (SCHED_POLICIES as readonly string[]).includes(v));
    case "sync?":
      return v === undefined || (typeof v === "string" && (SYNC_KINDS as readonly string[]).includes(v));
    case "waitOn?":
      return (
        v === undefined ||
        (shaped(v, WAIT_ON) && (WAIT_WHATS as readonly string[]).includes((v as { what: string }).what))
      );
    case "woken?":
      return v === undefined || shaped(v, WOKEN);
    case "wake?":
      return v === undefined || shaped(v, WAKE);
    case "pending?":
      return listOf(v, PENDING, 64);
    case "handling?":
      return listOf(v, HANDLING, 64);
    case "stores?":
      return listOf(v, STORE, 64);
    case "fds?":
      return listOf(v, FD);
    case "actions?":
      return (
        v === undefined ||
        (Array.isArray(v) &&
          v.length <= 64 &&
          v.every((x) => Array.isArray(x) && x.length === 2 && int(x[0]) && int(x[1])))
      );
    case "int":
      return int(v);
    case "int?":
      return v === undefined || int(v);
    case "intOrNull":
      return v === null || int(v);
    case "str":
      return typeof v === "string";
    case "str?":
      return v === undefined || typeof v === "string";
    case "bool":
      return typeof v === "boolean";
    case "ints":
      return isIntArray(v);
    case "locktype":
      return typeof v === "string" && (LOCK_TYPES as readonly string[]).includes(v);
    case "robust?":
      return v === undefined || (typeof v === "string" && (ROBUST_STATES as readonly string[]).includes(v));
    case "tstate":
      return typeof v === "string" && (THREAD_STATES as readonly string[]).includes(v);
    case "pstate":
      return typeof v === "string" && (PROC_STATES as readonly string[]).includes(v);
    case "kstate":
      return typeof v === "string" && (KSTACK_STATES as readonly string[]).includes(v);
    case "ostate":
      return typeof v === "string" && (OBJ_STATES as readonly string[]).includes(v);
    case "vartype":
      return typeof v === "string" && (VAR_TYPES as readonly string[]).includes(v);
    case "regs?":
      return v === undefined || isPairs(v, int);
    case "ctx?":
      return (
        v === undefined ||
        (Array.isArray(v) &&
          v.length <= MAX_CTX_DEPTH &&
          v.every(
            (x) =>
              isObj(x) &&
              (x.kind === "hardirq" || x.kind === "softirq") &&
              Object.entries(CPU_CTX_FIELDS).every(([k, f]) => fieldOk(x[k], f)),
          ))
      );
  }
}

/** Checks an array of records of one shape, with unique `key` values; an explanation or null. */
function records(what: string, xs: unknown, shape: Record<string, Field>, key: string): string | null {
  if (!Array.isArray(xs)) return `${what} is not an array`;
  const seen = new Set<number>();
  for (let i = 0; i < xs.length; i++) {
    const r = xs[i];
    if (!isObj(r)) return `${what}[${i}] is not a map`;
    for (const k in shape) if (!fieldOk(r[k], shape[k]!)) return `${what}[${i}].${k} is missing or of the wrong type`;
    const id = r[key] as number;
    if (seen.has(id)) return `${what}[${i}] repeats ${key} ${id}`;
    seen.add(id);
  }
  return null;
}

/** What a snapshot must agree with: the seq its chunk and the index give, and the header's cpus. */
export interface SnapshotExpect {
  seq: number;
  cpus: number;
}

/** Validates a decoded snapshot against the kernel's state types (PlainState); an explanation when it does not fit. */
export function checkSnapshot(p: unknown, want: SnapshotExpect): PlainState | string {
  if (!isObj(p)) return "snapshot is not a map";
  if (p.seq !== want.seq) return `snapshot says seq ${shown(p.seq)}, its chunk ${want.seq}`;
  if (!int(p.time)) return "snapshot time is not an integer";
  if (!int(p.nextLock) || !int(p.nextVmar)) return "snapshot nextLock/nextVmar are not integers";
  if (typeof p.ended !== "boolean") return "snapshot ended is not a boolean";
  if (!isObj(p.config) || p.config.cpus !== want.cpus)
    return `snapshot config does not have the header's ${want.cpus} cpus`;
  for (const [k, v] of Object.entries(p.config))
    if (!isPrimitive(v)) return `snapshot config.${shown(k)} is not a string, number or boolean`;
  const bad =
    records("cpus", p.cpus, CPU, "id") ??
    records("procs", p.procs, PROC, "pid") ??
    records("threads", p.threads, THREAD, "tid") ??
    records("locks", p.locks, LOCK, "id") ??
    records("kstacks", p.kstacks, KSTACK, "id") ??
    (p.vars === undefined ? null : records("vars", p.vars, VAR, "id")) ??
    (p.objs === undefined ? null : records("objs", p.objs, OBJ, "id")) ??
    (p.pipes === undefined ? null : records("pipes", p.pipes, PIPE, "id"));
  if (bad !== null) return `snapshot ${bad}`;
  if (
    p.regTypes !== undefined &&
    !isPairs(p.regTypes, (t) => typeof t === "string" && (VAR_TYPES as readonly string[]).includes(t))
  )
    return "snapshot regTypes are not [name, type] pairs";
  if ((p.nextVar !== undefined && !int(p.nextVar)) || (p.nextObj !== undefined && !int(p.nextObj)))
    return "snapshot nextVar/nextObj are not integers";
  if (p.nextPipe !== undefined && !int(p.nextPipe)) return "snapshot nextPipe is not an integer";
  const cpus = p.cpus as { id: number }[];
  if (cpus.length !== want.cpus || cpus.some((c, i) => c.id !== i))
    return `snapshot cpus are not cpus 0..${want.cpus - 1}`;
  const o = checkOutcome(p.outcome, p.seq + 1);
  if (typeof o === "string") return `snapshot ${o}`;
  return p as unknown as PlainState;
}

// ---- events ----

/**
 * Validates decoded event columns: every integer field a safe integer (the
 * format stores nothing else; a varint above 2^53 decodes inexactly).
 */
export function checkColumns(c: EventColumns): string | null {
  const { n, time, cpu, tid, a, b, c: cc } = c;
  for (let i = 0; i < n; i++) {
    if (!int(time[i]) || !int(cpu[i]) || !int(tid[i]) || !int(a[i]) || !int(b[i]) || !int(cc[i]))
      return `event ${c.firstSeq + i}: a field is not a safe integer`;
  }
  return null;
}
