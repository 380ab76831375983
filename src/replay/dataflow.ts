// Where the values a failed check read came from: the dataflow behind an
// `assertions` violation (an assert, BUG_ON or unwrap of None in the
// scenario's own program), in the spirit of Pernosco's "where did this value
// come from".
//
// The assert-fail event names the check only by its message; the trace
// header's world holds the programs, so the check is found there by the
// message the kernel would print for it (mem.ts's failText: one rule). Its
// condition names registers and variables (a variable is read into a
// register `$name` by a load just before the check). Walking back from the
// violation over the failing thread's events (a bounded window, no fold):
//   - each register's last writer (reg-set, or a load, cas, fetch-add, xchg
//     into it);
//   - for a value a call returned, the call's failure (the errno event
//     before it), and for ECHILD the reap that took the child first (and the
//     signal handler it ran in), for EINTR the signal's delivery;
//   - for a value loaded from a variable, the write it read;
//   - the thread's last failed call after the last of those writes (a value
//     short because the thread stopped early: a read loop ended by EINTR),
//     with what is behind it (the delivery, the reap).

import { failText } from "../kernel/mem.ts";
import type { Expr } from "../kernel/program.ts";
import type { World } from "../kernel/sim.ts";
import { ERRNO, ERRNO_NAMES, type KEvent, KIND, type KState, sigName, VAR_WRITE_KINDS } from "../kernel/types.ts";
import type { Cause, Violation } from "./invariants.ts";
import { walk } from "./scan.ts";
import type { ReplaySource } from "./source.ts";
import { exprReads } from "./user-invariants.ts";

/** A cause of a failed check; `root`: where a value came from (a write another access read, the reap that took a child first). */
export interface FlowCause extends Cause {
  root?: true;
}

/** How far back (events) the writers of a check's registers are looked for. */
export const DATAFLOW_WINDOW = 65_536;

/** The kinds that set a register (named in the event's s). */
const REG_WRITERS = new Set<number>([KIND.regSet, KIND.load, KIND.atomicLoad, KIND.cas, KIND.fetchAdd, KIND.xchg]);
const LOADS = new Set<number>([KIND.load, KIND.atomicLoad]);
const WRITES = new Set<number>(VAR_WRITE_KINDS);

type FailOp = Parameters<typeof failText>[0];

/** The registers and variables the conditions of the checks in `world` that print `message` read. */
export function checkReads(world: World, message: string, kernel: boolean): { regs: Set<string>; vars: Set<string> } {
  const regs = new Set<string>();
  const vars = new Set<string>();
  const expr = (e: unknown): void => {
    if (e === null || typeof e !== "object") return;
    const r = exprReads(e as Expr);
    for (const x of r.regs) regs.add(x);
    for (const x of r.vars) vars.add(x);
  };
  // Every op, at any depth (bodies, branches, handlers, forked and spawned programs): the world is validated and bounded.
  const seen = new Set<object>();
  const visit = (x: unknown): void => {
    if (x === null || typeof x !== "object" || seen.has(x)) return;
    seen.add(x);
    if (Array.isArray(x)) {
      for (const y of x) visit(y);
      return;
    }
    const o = x as Record<string, unknown>;
    // The world is validated: an assert has its message, a BUG_ON its where, an unwrap its optional at.
    if ((o.op === "assert" || o.op === "bugOn" || o.op === "unwrap") && failText(o as FailOp, kernel) === message)
      expr(o.op === "unwrap" ? o.value : o.cond);
    for (const k in o) if (k !== "cond" && k !== "value") visit(o[k]);
  };
  visit(world.procs);
  return { regs, vars };
}

/**
 * The causes of an `assertions` violation v: for each register its check
 * read, the event that set it, and where that value came from (see the top
 * of this file). Empty when the trace has no world or the check is not
 * found in it.
 */
export function checkCauses(src: ReplaySource, v: Violation, state?: KState): FlowCause[] {
  if (v.invariant === "assertions") return checkDataflow(src, v.event);
  if (v.invariant === "no-deadlock" && state) return rwlockHolders(src, v.event, state);
  const decl = src.meta.invariants?.find((d) => d.name === v.invariant);
  return decl && state ? invariantCauses(src, v.event, exprReads(decl.check).vars, state) : [];
}

/**
 * Who holds the read-write locks the threads of a deadlock wait for. A
 * rwlock is a futex word (0 free, n readers, -1 a writer: sync.ts), so the
 * kernel keeps no owner; the trace has every change of the word, a cas by the
 * thread that made it. One walk of the window before ev nets, per lock and
 * thread, the read locks taken (v -> v + 1) and given back (v -> v - 1), and
 * the write lock (0 -> -1, back -1 -> 0). A holder is named with the cas that
 * took the lock, and a waiter that holds the lock it waits for is said to
 * wait for itself (a read lock "upgraded" in place). Nothing when the counts
 * do not add up to the word's value (the window starts after an acquire, or
 * a thread unlocked what it did not hold): a guess is not a cause.
 */
function rwlockHolders(src: ReplaySource, ev: KEvent, state: KState): FlowCause[] {
  // The rwlock words some thread waits on, with the waiters.
  const waiters = new Map<number, number[]>();
  for (const t of state.threads.values()) {
    const w = t.waitOn;
    if (t.state !== "blocked" || w === undefined || w.what !== "futex") continue;
    if (state.vars.get(w.id)?.sync !== "rwlock") continue;
    const ws = waiters.get(w.id);
    if (ws === undefined) waiters.set(w.id, [t.tid]);
    else ws.push(t.tid);
  }
  if (waiters.size === 0) return [];
  // Per word, per thread: read locks held and the cas of the last one taken; the writer and its cas.
  const reads = new Map<number, Map<number, { n: number; seq: number }>>();
  const writer = new Map<number, { tid: number; seq: number }>();
  const from = Math.max(0, ev.seq - DATAFLOW_WINDOW);
  walk(
    src,
    from,
    ev.seq,
    {
      event: (e) => {
        if (e.kind !== KIND.cas || e.b === e.c || !waiters.has(e.a)) return;
        let byTid = reads.get(e.a);
        if (byTid === undefined) reads.set(e.a, (byTid = new Map()));
        const r = byTid.get(e.tid) ?? { n: 0, seq: -1 };
        if (e.b >= 0 && e.c === e.b + 1) byTid.set(e.tid, { n: r.n + 1, seq: e.seq });
        else if (e.b > 0 && e.c === e.b - 1) byTid.set(e.tid, { n: r.n - 1, seq: r.seq });
        else if (e.b === 0 && e.c === -1) writer.set(e.a, { tid: e.tid, seq: e.seq });
        else if (e.b === -1 && e.c === 0) writer.delete(e.a);
      },
    },
    { fold: false },
  );
  const out: FlowCause[] = [];
  for (const [id, ws] of waiters) {
    const v = state.vars.get(id)!;
    const mine = (tid: number) => (ws.includes(tid) ? ", and waits on it: for its own lock to go" : "");
    if (v.value === -1) {
      const w = writer.get(id);
      if (w !== undefined)
        out.push({ seq: w.seq, root: true, why: `tid ${w.tid} holds ${v.name} for writing${mine(w.tid)}` });
      continue;
    }
    const held = [...(reads.get(id) ?? new Map<number, { n: number; seq: number }>())].filter(([, r]) => r.n > 0);
    if (v.value <= 0 || from > 0 || held.reduce((a, [, r]) => a + r.n, 0) !== v.value) continue;
    for (const [tid, r] of held)
      out.push({
        seq: r.seq,
        root: true,
        why: `tid ${tid} holds ${v.name} for reading${r.n > 1 ? ` (${r.n} times)` : ""}${mine(tid)}`,
      });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/** Lost updates reported per violation at most (the latest). */
const LOST_SHOWN = 3;

/**
 * The causes behind a scenario's own invariant, broken at event ev, over the
 * variables `names` it reads, from one walk of the window before ev:
 *   - when ev writes one of them, the write before it by another thread (the
 *     value it changed: `inside` went 1 → 2, and tid 3 had made it 1), and
 *     each of the two threads' last failed call before its write, if it had
 *     one since its previous write of the variable (a sem_wait that returned
 *     EINTR, a trylock that returned EBUSY: the thread went on anyway). Two
 *     threads' writes meeting is what such an invariant is about (a count of
 *     threads inside, a flag);
 *   - the lost updates of the variables: a plain or atomic store by a thread
 *     whose last read of the variable saw another value than the one it
 *     overwrites (its load-compute-store had another thread's write land in
 *     between, and wiped it out), two causes each (the store, and the write
 *     it overwrote), the latest LOST_SHOWN. A counter, a total, a flag the
 *     invariant reads went wrong there.
 */
function invariantCauses(src: ReplaySource, ev: KEvent, names: ReadonlySet<string>, state: KState): FlowCause[] {
  const ids = new Map<number, string>();
  for (const x of state.vars.values()) if (names.has(x.name)) ids.set(x.id, x.name);
  if (ids.size === 0) return [];
  // The variable ev writes, when the invariant reads it (-1: none).
  const target = WRITES.has(ev.kind) && ids.has(ev.a) ? ev.a : -1;
  // Per variable and thread: the value and seq of its last read since its own last write.
  const lastRead = new Map<string, { value: number; seq: number }>();
  const lastWrite = new Map<number, KEvent>();
  const found: FlowCause[][] = [];
  // Per thread: its last failed call; its last write of target, and the failed call before that write.
  const failed = new Map<number, KEvent>();
  const wrote = new Map<number, number>();
  const failedBefore = new Map<number, KEvent | undefined>();
  let prev: KEvent | undefined;
  walk(
    src,
    Math.max(0, ev.seq - DATAFLOW_WINDOW),
    ev.seq,
    {
      event: (e) => {
        if (e.kind === KIND.errno) {
          if (e.tid >= 0) failed.set(e.tid, { ...e });
          return;
        }
        if (!ids.has(e.a)) return;
        const key = `${e.a}:${e.tid}`;
        // A failed cas (nothing changed) is a read.
        if (LOADS.has(e.kind) || (e.kind === KIND.cas && e.b === e.c)) lastRead.set(key, { value: e.b, seq: e.seq });
        else if (WRITES.has(e.kind)) {
          const r = lastRead.get(key);
          const before = lastWrite.get(e.a);
          if (
            (e.kind === KIND.store || e.kind === KIND.atomicStore) &&
            r !== undefined &&
            r.value !== e.b &&
            before !== undefined &&
            before.seq > r.seq &&
            before.tid !== e.tid
          ) {
            const name = ids.get(e.a)!;
            found.push([
              {
                seq: before.seq,
                why: `tid ${before.tid}'s write of ${name}, which tid ${e.tid} overwrote at ${e.seq}`,
              },
              {
                seq: e.seq,
                root: true,
                why: `a lost update: tid ${e.tid} read ${name} = ${r.value} at ${r.seq}, and tid ${before.tid} wrote it at ${before.seq} before this store`,
              },
            ]);
          }
          lastRead.delete(key);
          lastWrite.set(e.a, { ...e });
          if (e.a === target && e.seq < ev.seq) {
            prev = lastWrite.get(e.a);
            const f = failed.get(e.tid);
            failedBefore.set(e.tid, f !== undefined && f.seq > (wrote.get(e.tid) ?? -1) ? f : undefined);
            wrote.set(e.tid, e.seq);
          }
        }
      },
    },
    { fold: false },
  );
  const out: FlowCause[] = [];
  if (prev !== undefined && prev.tid !== ev.tid) {
    const name = ids.get(target)!;
    const theirs = failedBefore.get(prev.tid);
    if (theirs !== undefined)
      out.push({
        seq: theirs.seq,
        why: `tid ${prev.tid}'s last call that failed before its write of ${name} at ${prev.seq}`,
      });
    out.push({
      seq: prev.seq,
      root: true,
      why: `tid ${prev.tid}'s write of ${name}: the value tid ${ev.tid}'s write at ${ev.seq} changed`,
    });
    const mine = failed.get(ev.tid);
    if (mine !== undefined && mine.seq > (wrote.get(ev.tid) ?? -1))
      out.push({ seq: mine.seq, why: `tid ${ev.tid}'s last call that failed before this write of ${name}` });
  }
  return [...out, ...found.slice(-LOST_SHOWN).flat()];
}

/** The same for an assert-fail event ev (a seq and the part each event played, oldest first). */
export function checkDataflow(src: ReplaySource, ev: KEvent): FlowCause[] {
  const world = src.meta.world;
  if (ev.kind !== KIND.assertFail || !world || ev.tid < 0) return [];
  const { regs, vars } = checkReads(world, ev.s, ev.a !== 0);
  if (regs.size === 0 && vars.size === 0) return [];
  // One pass over the window: the thread's events in order, and the variables' writes and the reaps.
  const own: KEvent[] = [];
  const sigs: KEvent[] = [];
  const writes: KEvent[] = [];
  const reaps: KEvent[] = [];
  const from = Math.max(0, ev.seq - DATAFLOW_WINDOW);
  walk(
    src,
    from,
    ev.seq - 1,
    {
      event: (e) => {
        if (e.tid === ev.tid) own.push({ ...e });
        if (e.kind === KIND.signalDeliver || e.kind === KIND.sigreturn) sigs.push({ ...e }); // the reaper may be another thread
        if (WRITES.has(e.kind)) writes.push({ ...e });
        if (e.kind === KIND.reap) reaps.push({ ...e });
      },
    },
    { fold: false },
  );
  const out: FlowCause[] = [];
  const add = (seq: number, why: string, root = false) => {
    if (!out.some((c) => c.seq === seq)) out.push(root ? { seq, why, root } : { seq, why });
  };
  // Registers: the last writer of each.
  for (const reg of regs) {
    let i = own.length - 1;
    while (i >= 0 && !(REG_WRITERS.has(own[i]!.kind) && own[i]!.s === reg)) i--;
    if (i < 0) continue;
    const w = own[i]!;
    add(w.seq, `sets ${reg}, which the check reads`);
    if (w.kind === KIND.regSet) callFailure(own, i, reg, reaps, sigs, add);
    if (LOADS.has(w.kind)) lastWrite(writes, w, add);
  }
  // Variables: read into a register `$name` (`$name.2`, ... when one expression reads it twice) just before the check.
  for (const name of vars) {
    const reg = `$${name}`;
    let i = own.length - 1;
    while (i >= 0 && !(LOADS.has(own[i]!.kind) && (own[i]!.s === reg || own[i]!.s.startsWith(`${reg}.`)))) i--;
    if (i < 0) continue;
    add(own[i]!.seq, `reads ${name}, which the check tests`);
    lastWrite(writes, own[i]!, add);
  }
  // A value the check reads may be short because the thread stopped early: its last call that failed after the
  // last write of what the check read (a read loop ended by EINTR, say), with what is behind that failure.
  const sources = out.filter((c) => c.root === true).map((c) => c.seq);
  if (sources.length > 0) {
    const since = Math.max(...sources);
    let j = own.length - 1;
    while (j >= 0 && own[j]!.seq > since && own[j]!.kind !== KIND.errno) j--;
    const err = own[j];
    if (err !== undefined && err.seq > since && err.kind === KIND.errno && !out.some((c) => c.seq === err.seq)) {
      add(
        err.seq,
        `the thread's last call that failed after the values the check read were written: ${ERRNO_NAMES[err.a] ?? `errno ${err.a}`}`,
      );
      failureBehind(own, j, reaps, sigs, add);
    }
  }
  out.sort((a, b) => a.seq - b.seq);
  return out;
}

type Add = (seq: number, why: string, root?: boolean) => void;

/** The write a load read its value from: the last write of the variable before it. */
function lastWrite(writes: readonly KEvent[], load: KEvent, add: Add): void {
  for (let j = writes.length - 1; j >= 0; j--) {
    const w = writes[j]!;
    if (w.seq < load.seq && w.a === load.a) {
      add(
        w.seq,
        `wrote the value ${load.kind === KIND.atomicLoad ? "the atomic load" : "the load"} at ${load.seq} read`,
        true,
      );
      return;
    }
  }
}

/**
 * A register set by a call's return (a reg-set right after an errno event of
 * the same thread): the failure, and what caused it where the kernel knows
 * (ECHILD: the child was reaped first, by whom and in which handler; EINTR:
 * the signal delivered).
 */
function callFailure(
  own: readonly KEvent[],
  i: number,
  reg: string,
  reaps: readonly KEvent[],
  sigs: readonly KEvent[],
  add: Add,
): void {
  let j = i - 1;
  while (j >= 0 && own[j]!.kind === KIND.regSet) j--; // a call may set several registers (ret, status)
  const err = own[j];
  if (err === undefined || err.kind !== KIND.errno) return;
  add(err.seq, `the call that returned ${reg} failed: ${ERRNO_NAMES[err.a] ?? `errno ${err.a}`}`);
  failureBehind(own, j, reaps, sigs, add);
}

/** Behind the failed call own[j] (an errno event): for ECHILD the reap that took the child first (and its handler), for EINTR the signal's delivery. */
function failureBehind(
  own: readonly KEvent[],
  j: number,
  reaps: readonly KEvent[],
  sigs: readonly KEvent[],
  add: Add,
): void {
  const err = own[j]!;
  if (err.a === ERRNO.ECHILD && err.b >= 0) {
    let r: KEvent | undefined;
    for (let q = reaps.length - 1; q >= 0 && r === undefined; q--)
      if (reaps[q]!.a === err.b && reaps[q]!.seq < err.seq) r = reaps[q];
    if (r === undefined) return;
    const h = handlerAt(sigs, r);
    add(
      r.seq,
      `pid ${err.b} was reaped here, before the call${h ? ` (in tid ${r.tid}'s ${sigName(h.a)} handler)` : ""}`,
      true,
    );
    if (h) add(h.seq, `tid ${h.tid} took ${sigName(h.a)}: its handler reaped pid ${err.b}`);
  } else if (err.a === ERRNO.EINTR) {
    for (let q = j - 1; q >= 0; q--) {
      const d = own[q]!;
      if (d.kind === KIND.signalDeliver) {
        add(d.seq, `the ${sigName(d.a)} that interrupted the call`);
        break;
      }
    }
  }
}

/** The signal delivery whose handler thread r.tid was running at event r (no sigreturn of it between), if any. */
function handlerAt(sigs: readonly KEvent[], r: KEvent): KEvent | undefined {
  let depth = 0;
  for (let q = sigs.length - 1; q >= 0; q--) {
    const e = sigs[q]!;
    if (e.seq >= r.seq || e.tid !== r.tid) continue;
    if (e.kind === KIND.sigreturn) depth++;
    else if (e.kind === KIND.signalDeliver && e.b === 2) {
      if (depth === 0) return e;
      depth--;
    }
  }
  return undefined;
}
