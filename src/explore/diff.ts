// ktrace diff's engine: where two runs part ways, and how they differ then
// and afterwards. Reads both runs through the replay layer (ReplaySource,
// Cursor), so it works on trace files, gzip'd traces and reports alike.
//
// - The first divergence: the first seq whose events differ (or where one
//   run ends), classified as a scheduling difference (another thread or CPU
//   acts, a switch picks another thread, or one run switches the thread out
//   where the other lets it go on), a program difference (the same thread
//   does something else: the code or the kernel rules differ, as between a
//   buggy and a fixed variant; or, in the same program, an earlier decision
//   changed what it read), or the end of one run.
//   When both runs can be re-simulated from their decisions (branch.ts), the
//   divergence also names the first scheduling decision that differs
//   (`decision`): often well before the first event that differs.
// - The state difference there: the objects (CPUs, processes, threads, locks,
//   kernel stacks) whose fields differ after the divergent event in each run.
// - Afterwards: outcome, first invariant violation, event count, events per kind.
//
// A damaged trace (gaps: events missing) is compared where both runs hold the
// events: a seq missing from either is skipped, and a note says which events
// were not compared (the runs may part ways inside them). A state the replay
// cannot know (inside or after a gap, before the next usable snapshot) is not
// compared either, and a note says why.

import { EVENT_KINDS, type KEvent, type Outcome } from "../kernel/index.ts";
import {
  Cursor,
  describedEvents,
  type EventJson,
  eventJson,
  eventOrNull,
  firstViolation,
  forEachEvent,
  gapsText,
  kindName,
  type ReplaySource,
  StateUnknownError,
  type StateView,
  spaceShort,
  stateView,
} from "../replay/index.ts";
import type { Gap } from "../trace/index.ts";
import { decisionText } from "./pivots.ts";
import { type Decision, type DecisionJson, decisionJson } from "./strategies/index.ts";

/** What a run is: the fields of its trace header that say what ran. */
export interface RunMeta {
  scenario: string;
  fix: string;
  seed: number;
  cpus: number;
  events: number;
}

export type DivergenceKind = "schedule" | "program" | "end" | "none";

export interface Divergence {
  /** First seq whose events differ; the shorter run's length when one is a prefix of the other; null when the runs are identical. */
  seq: number | null;
  kind: DivergenceKind;
  /** One line saying what differs. */
  why: string;
  /** The event at seq in each run (null when that run has ended). */
  a: EventJson | null;
  b: EventJson | null;
  /** The last few events both runs share before it (oldest first). */
  common: EventJson[];
  /** First seq before it where the same event happens at another virtual time in each run, null when none. */
  timeFrom: number | null;
  /**
   * The first scheduling decision that differs (both traces re-simulated from
   * their decisions), null when every decision is the same; absent when the
   * decisions could not be compared (a trace with no world: see notes).
   */
  decision?: DecisionDivergence | null;
}

/** A decision as diff (and pivots --json) shows it: where it was made and its answer (DecisionJson). */
/** The first decision that differs between two runs, in the order they were made. */
export interface DecisionDivergence {
  /** How many decisions the runs made the same way before it. */
  same: number;
  /** The decision in each run (null: that run made no more). */
  a: DecisionJson | null;
  b: DecisionJson | null;
  /** One line. */
  why: string;
}

function sameDecision(x: Decision, y: Decision): boolean {
  return (
    x.kind === y.kind &&
    x.cpu === y.cpu &&
    x.tid === y.tid &&
    x.value === y.value &&
    x.seq === y.seq &&
    (x.options ?? []).join() === (y.options ?? []).join()
  );
}

/** The first decision that differs between two runs' decision lists (in the order made), null when none does. */
export function firstDecisionDiff(a: readonly Decision[], b: readonly Decision[]): DecisionDivergence | null {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && sameDecision(a[i]!, b[i]!)) i++;
  if (i === n && a.length === b.length) return null;
  const da = a[i] ?? null;
  const db = b[i] ?? null;
  let why: string;
  if (da === null || db === null)
    why = `run ${da === null ? "A" : "B"} made no more decisions; run ${da === null ? "B" : "A"}: ${decisionText((da ?? db)!)}`;
  else if (da.kind === db.kind && da.seq === db.seq && da.cpu === db.cpu && da.tid === db.tid) {
    why =
      da.kind === "timing"
        ? `the step at seq ${da.seq} took ${da.value}× its base cost in A, ${db.value}× in B`
        : da.kind === "pick"
          ? `at seq ${da.seq} cpu ${da.cpu} took tid ${da.value} in A, tid ${db.value} in B`
          : `at seq ${da.seq} tid ${da.tid} was ${da.value === 1 ? "preempted" : "not preempted"} in A, ${db.value === 1 ? "preempted" : "not preempted"} in B`;
  } else why = `A: ${decisionText(da)}; B: ${decisionText(db)}`;
  return { same: i, a: da ? decisionJson(da) : null, b: db ? decisionJson(db) : null, why };
}

/** One object whose fields differ between the runs (or that exists in one only). */
export interface ObjectDiff {
  /** cpu | process | thread | lock | kstack | var | sync | object | pipe */
  object: string;
  id: number;
  /** How the text names it: "tid 3", "lock 5 tcmalloc.SlowTLS". */
  label: string;
  /** Set when the object exists in one run only. */
  onlyIn?: "a" | "b";
  changes: { field: string; a: unknown; b: unknown }[];
}

export interface RunSummary {
  outcome: Outcome | null;
  violation: { seq: number; invariant: string; message: string } | null;
  events: number;
  /** Events per kind name, in kind order. */
  byKind: Record<string, number>;
}

export interface DiffResult {
  a: RunMeta;
  b: RunMeta;
  /** Header fields that differ (scenario, fix, seed, cpus), and a note when the scenarios differ. */
  differs: string[];
  notes: string[];
  divergence: Divergence;
  /**
   * Where `state` compares the runs: after the divergent event in each (after
   * its last event for a run that ended), or, when the states are still the
   * same there, after the first seq within MAX_STATE_SEARCH where they differ
   * (each run's own event at that seq). Null for identical runs.
   */
  stateAt: { a: number; b: number } | null;
  /** Set when the states were the same after the divergent events: the last seq where they still were. */
  stateSameUntil: number | null;
  state: ObjectDiff[];
  /** Objects left out of `state` past the limit. */
  stateMore: number;
  after: { a: RunSummary; b: RunSummary };
  /** Events missing from each run (a damaged trace), which were not compared. */
  gaps: { a: readonly Gap[]; b: readonly Gap[] };
}

/** Most objects listed in the state difference. */
export const MAX_STATE_DIFFS = 64;
/** Events after the divergence searched for the first state difference. */
export const MAX_STATE_SEARCH = 4096;
/** Shared events shown before the divergence. */
const COMMON = 3;

function metaOf(src: ReplaySource): RunMeta {
  return {
    scenario: src.meta.scenario,
    fix: src.meta.fix,
    seed: src.meta.seed,
    cpus: src.meta.config.cpus,
    events: src.eventCount,
  };
}

/** Same event, its virtual time aside (steps take seeded random times: runs often agree on what happens long after they disagree on when). */
function sameEvent(x: KEvent, y: KEvent): boolean {
  return (
    x.kind === y.kind && x.cpu === y.cpu && x.tid === y.tid && x.a === y.a && x.b === y.b && x.c === y.c && x.s === y.s
  );
}

/**
 * The first seq where the runs' events differ (-1 when every event of both is
 * the same), and the first seq before it where only their times differ (-1:
 * none). Seqs missing from either run (gaps of a damaged trace) are skipped.
 */
function firstDifference(a: ReplaySource, b: ReplaySource): { at: number; time: number } {
  const n = Math.min(a.eventCount, b.eventCount);
  let at = -1;
  let time = -1;
  if (n > 0) {
    const stop = forEachEvent(a, 0, n - 1, (ev) => {
      const other = eventOrNull(b, ev.seq);
      if (other === null) return false;
      if (!sameEvent(ev, other)) return true;
      if (time < 0 && ev.time !== other.time) time = ev.seq;
      return false;
    });
    if (stop >= 0) at = stop;
  }
  if (at < 0 && a.eventCount !== b.eventCount) at = n;
  return { at, time };
}

/**
 * What kind of difference the first differing events are. `sameProgram`: both
 * traces carry the same world (programs, declarations, rules, cpus), so a
 * thread that does something else got there by an earlier decision.
 */
function classify(ea: KEvent | null, eb: KEvent | null, sameProgram: boolean): { kind: DivergenceKind; why: string } {
  if (ea === null || eb === null) {
    const [ended, goes] = ea === null ? ["A", "B"] : ["B", "A"];
    return { kind: "end", why: `run ${ended} has ended; run ${goes} goes on` };
  }
  if (ea.cpu !== eb.cpu || ea.tid !== eb.tid) {
    const who = (e: KEvent) =>
      `${e.tid < 0 ? "no thread" : `tid ${e.tid}`} on ${e.cpu < 0 ? "no cpu" : `cpu ${e.cpu}`}`;
    return { kind: "schedule", why: `a scheduling difference: ${who(ea)} acts in A, ${who(eb)} in B` };
  }
  const switchA = kindName(ea.kind) === "switch";
  const switchB = kindName(eb.kind) === "switch";
  if (switchA && switchB) {
    return { kind: "schedule", why: `a scheduling difference: cpu ${ea.cpu} switches to another thread` };
  }
  if (switchA || switchB) {
    // One run's scheduler takes the cpu from the thread (a preemption, its time slice) where the other lets it go on.
    const [off, on] = switchA ? ["A", "B"] : ["B", "A"];
    return {
      kind: "schedule",
      why: `a scheduling difference: tid ${ea.tid} is switched out on cpu ${ea.cpu} in ${off}, goes on in ${on}`,
    };
  }
  const who = ea.tid < 0 ? "the kernel" : `tid ${ea.tid}`;
  return {
    kind: "program",
    why: sameProgram
      ? `a program difference: ${who} does something else (the same program: an earlier decision changed what it read or where it is)`
      : `a program difference: ${who} does something else (the code or the kernel rules differ)`,
  };
}

/**
 * Objects of one kind matched by key, compared field by field, in the order
 * of their ids in A (then B's others). Locks are matched by address space and
 * name, not id: ids follow creation order, which a fix may change.
 */
function compare<T extends object>(
  object: string,
  as: readonly T[],
  bs: readonly T[],
  id: (x: T) => number,
  label: (x: T) => string,
  fields: readonly (keyof T & string)[],
  out: ObjectDiff[],
  key: (x: T) => string = (x) => String(id(x)),
): void {
  const ma = keyed(as, key);
  const mb = keyed(bs, key);
  const keys = [...new Set([...ma.keys(), ...mb.keys()])];
  const idOf = (k: string) => id((ma.get(k) ?? mb.get(k))!);
  keys.sort((x, y) => (ma.has(x) === ma.has(y) ? idOf(x) - idOf(y) : ma.has(x) ? -1 : 1));
  for (const k of keys) {
    const xa = ma.get(k);
    const xb = mb.get(k);
    const i = idOf(k);
    if (!xa || !xb) {
      out.push({ object, id: i, label: label((xa ?? xb)!), onlyIn: xa ? "a" : "b", changes: [] });
      continue;
    }
    const changes = fields
      .filter((f) => JSON.stringify(xa[f]) !== JSON.stringify(xb[f]))
      .map((f) => ({ field: f, a: xa[f] as unknown, b: xb[f] as unknown }));
    if (changes.length > 0) out.push({ object, id: i, label: label(xa), changes });
  }
}

/** Objects by key; a key seen again gets "#2", "#3" (two locks of one name in one space). */
function keyed<T>(xs: readonly T[], key: (x: T) => string): Map<string, T> {
  const m = new Map<string, T>();
  for (const x of xs) {
    let k = key(x);
    for (let i = 2; m.has(k); i++) k = `${key(x)}#${i}`;
    m.set(k, x);
  }
  return m;
}

/** An object of a process's memory or the kernel's, as the diff names it: "count (pid 1)", "tcmalloc.SlowTLS (kernel)". */
const spaceLabel = (name: string, space: number): string => `${name} (${spaceShort(space)})`;
/** Objects matched across runs by address space and name (ids follow creation order, which a fix may change). */
const byName = (x: { name: string; space: number }): string => `${x.space}\u0000${x.name}`;

/**
 * The objects whose fields differ between two states: the kernel's (cpus,
 * processes, threads, locks, kernel stacks) and the program's (variables,
 * condvars/semaphores/rwlocks, heap objects, pipes, and each thread's
 * registers, wait and priority), so a user's own bug shows where its state
 * parts. Locks a thread waits on are named, not numbered (ids differ across runs).
 */
export function stateDiff(a: StateView, b: StateView): ObjectDiff[] {
  const out: ObjectDiff[] = [];
  compare(
    "cpu",
    a.cpus,
    b.cpus,
    (c) => c.id,
    (c) => `cpu ${c.id}`,
    ["tid", "kstack"],
    out,
  );
  compare(
    "process",
    a.processes,
    b.processes,
    (p) => p.pid,
    (p) => `pid ${p.pid}`,
    ["name", "ppid", "state", "vmar", "threads", "exitCode"],
    out,
  );
  const threads = (v: StateView) => {
    const lockName = new Map(v.locks.map((l) => [l.id, l.name]));
    return v.threads.map((t) => ({
      tid: t.tid,
      pid: t.pid,
      state: t.state,
      ident: t.ident,
      kstack: t.kstack,
      waitLock: t.waitLock < 0 ? null : (lockName.get(t.waitLock) ?? `lock ${t.waitLock}`),
      waitPid: t.waitPid,
      waits: t.waitOn?.text ?? null,
      prio: t.sched.text || null,
      regs: t.regs.map((r) => `${r.name}=${r.text}`),
    }));
  };
  compare(
    "thread",
    threads(a),
    threads(b),
    (t) => t.tid,
    (t) => `tid ${t.tid}`,
    ["pid", "state", "ident", "kstack", "waitLock", "waitPid", "waits", "prio", "regs"],
    out,
  );
  compare(
    "lock",
    a.locks,
    b.locks,
    (l) => l.id,
    (l) => spaceLabel(l.name, l.space),
    ["type", "owner", "ident", "level", "ownerAlive", "waiters"],
    out,
    byName,
  );
  compare(
    "kstack",
    a.kstacks,
    b.kstacks,
    (k) => k.id,
    (k) => `kstack ${k.id}`,
    ["tid", "state", "runningOn"],
    out,
  );
  // Plain variables (a sync word is compared as what it is used for, below).
  const vars = (v: StateView) =>
    v.vars.filter((x) => x.sync === undefined).map((x) => ({ ...x, value: x.text, lastWriter: x.writer }));
  compare(
    "var",
    vars(a),
    vars(b),
    (x) => x.id,
    (x) => spaceLabel(x.name, x.space),
    ["type", "value", "lastWriter"],
    out,
    byName,
  );
  compare(
    "sync",
    a.sync,
    b.sync,
    (x) => x.var,
    (x) => `${x.kind} ${spaceLabel(x.name, x.space)}`,
    ["kind", "text", "waiters"],
    out,
    byName,
  );
  compare(
    "object",
    a.objects,
    b.objects,
    (o) => o.id,
    (o) => spaceLabel(o.name, o.space),
    ["state"],
    out,
    byName,
  );
  const pipes = (v: StateView) =>
    v.pipes.map((p) => ({ ...p, waiting: p.waiting.map((w) => `tid ${w.tid} (${w.to})`) }));
  compare(
    "pipe",
    pipes(a),
    pipes(b),
    (p) => p.id,
    (p) => `pipe ${p.id}`,
    ["used", "readers", "writers", "waiting"],
    out,
  );
  return out;
}

function summary(src: ReplaySource): RunSummary {
  const counts = new Array<number>(EVENT_KINDS.length).fill(0);
  const other = new Map<number, number>();
  forEachEvent(src, 0, src.eventCount - 1, (ev) => {
    if (ev.kind >= 0 && ev.kind < counts.length) counts[ev.kind]!++;
    else other.set(ev.kind, (other.get(ev.kind) ?? 0) + 1);
  });
  const byKind: Record<string, number> = {};
  counts.forEach((c, k) => {
    if (c > 0) byKind[kindName(k)] = c;
  });
  for (const k of [...other.keys()].sort((x, y) => x - y)) byKind[kindName(k)] = other.get(k)!;
  const v = firstViolation(src).violation;
  return {
    outcome: src.outcome ? { kind: src.outcome.kind, seq: src.outcome.seq, message: src.outcome.message } : null,
    violation: v ? { seq: v.seq, invariant: v.invariant, message: v.message } : null,
    events: src.eventCount,
    byKind,
  };
}

/**
/**
 * Notes on the events of a damaged run that were not compared (read once
 * every chunk has been, so all of its gaps are known); `d` is where the runs
 * were found to part ways (-1: nowhere).
 */
function damageNotes(a: ReplaySource, b: ReplaySource, d: number): string[] {
  const out: string[] = [];
  for (const [name, src] of [
    ["A", a],
    ["B", b],
  ] as const) {
    const gaps = src.gaps;
    if (gaps.length === 0) continue;
    const before = d >= 0 && gaps[0]!.fromSeq < d ? `; the runs may part ways earlier, inside them` : "";
    out.push(`${name} is damaged: ${gapsText(gaps)}; those events are not compared${before}`);
  }
  return out;
}

/**
 * Compares run A with run B. `decisions`, when given, are both runs'
 * decisions (branch.ts re-simulates them): the divergence then names the
 * first that differs. Throws ReplayError (exitCode 2) for a trace that does
 * not replay.
 */
export function diffRuns(
  a: ReplaySource,
  b: ReplaySource,
  decisions?: { a: readonly Decision[]; b: readonly Decision[] },
): DiffResult {
  const ma = metaOf(a);
  const mb = metaOf(b);
  const differs = (["scenario", "fix", "seed", "cpus"] as const).filter((k) => ma[k] !== mb[k]);
  const notes: string[] = [];
  if (ma.scenario !== mb.scenario)
    notes.push(
      `the traces are of different scenarios (${ma.scenario} and ${mb.scenario}): compared event by event all the same`,
    );
  const { at: d, time } = firstDifference(a, b);
  const timeFrom = time < 0 ? null : time;
  const after = { a: summary(a), b: summary(b) };
  if (d < 0) {
    notes.push(...damageNotes(a, b, d));
    return {
      a: ma,
      b: mb,
      differs,
      notes,
      divergence: {
        seq: null,
        kind: "none",
        why: `the runs are the same, ${a.gaps.length + b.gaps.length > 0 ? "in every event both hold" : "event for event"} (${ma.events} events)${timeFrom === null ? "" : `, at other times from seq ${timeFrom}`}`,
        a: null,
        b: null,
        common: [],
        timeFrom,
        ...(decisions ? { decision: firstDecisionDiff(decisions.a, decisions.b) } : {}),
      },
      stateAt: null,
      stateSameUntil: null,
      state: [],
      stateMore: 0,
      after,
      gaps: { a: a.gaps, b: b.gaps },
    };
  }
  notes.push(...damageNotes(a, b, d));
  const ca = new Cursor(a, { invariants: [] });
  const cb = new Cursor(b, { invariants: [] });
  // The states there, unless damage makes one unknown (then the objects are not compared).
  const known = (f: () => void): boolean => {
    try {
      f();
      return true;
    } catch (e) {
      if (!(e instanceof StateUnknownError)) throw e;
      notes.push(`the state after seq ${e.target} is not compared: ${e.message}`);
      return false;
    }
  };
  let sa = -1;
  let sb = -1;
  const both =
    known(() => (sa = ca.seek(Math.min(d, a.eventCount - 1)))) &&
    known(() => (sb = cb.seek(Math.min(d, b.eventCount - 1))));
  const ea = d < a.eventCount ? eventOrNull(a, d) : null;
  const eb = d < b.eventCount ? eventOrNull(b, d) : null;
  const common = describedEvents(a, d - COMMON, d - 1);
  const wa = a.meta.world;
  const wb = b.meta.world;
  const { kind, why } = classify(ea, eb, !!wa && !!wb && JSON.stringify(wa) === JSON.stringify(wb));
  const divergence: Divergence = {
    seq: d,
    kind,
    why,
    a: ea ? eventJson(ea, both ? ca.state : undefined) : null,
    b: eb ? eventJson(eb, both ? cb.state : undefined) : null,
    common,
    timeFrom,
    ...(decisions ? { decision: firstDecisionDiff(decisions.a, decisions.b) } : {}),
  };
  let all = both ? stateDiff(stateView(ca.state), stateView(cb.state)) : [];
  // The same state after the divergent events (a step that changes no object,
  // e.g. user code or a load): go on in step to where the states first differ.
  let at: { a: number; b: number } | null = both ? { a: sa, b: sb } : null;
  let sameUntil: number | null = null;
  const last = Math.min(a.eventCount, b.eventCount, d + 1 + MAX_STATE_SEARCH) - 1;
  while (both && all.length === 0 && ca.seq < last && ca.seq === cb.seq) {
    const until = ca.seq;
    if (!known(() => ca.step()) || !known(() => cb.step())) break;
    sameUntil = until;
    at = { a: ca.seq, b: cb.seq };
    all = stateDiff(stateView(ca.state), stateView(cb.state));
  }
  if (all.length === 0) sameUntil = null;
  return {
    a: ma,
    b: mb,
    differs,
    notes,
    divergence,
    stateAt: at,
    stateSameUntil: sameUntil,
    state: all.slice(0, MAX_STATE_DIFFS),
    stateMore: Math.max(0, all.length - MAX_STATE_DIFFS),
    after,
    gaps: { a: a.gaps, b: b.gaps },
  };
}
