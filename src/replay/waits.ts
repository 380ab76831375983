// Findings about waits that can never end (the no-deadlock invariant beyond
// lock cycles): a thread blocked on a futex or condition variable nothing can
// wake any more, in a join or waitpid whose target can never exit, reading a
// pipe whose write end only stuck threads hold. The rule is the kernel's one
// (src/kernel/wait.ts: wakersOf, stuck); this file words it and names the
// events that set it up.

import { HOW, type KState, type Lock, sigName, type Thread } from "../kernel/types.ts";
import { pipeHolders, stuckIfAny, waiterText, waitText, wakersOf } from "../kernel/wait.ts";
import type { Cause, Finding } from "./invariants.ts";
import { findVar } from "./user-invariants.ts";

/** The acquire of l by its owner (since), as a cause saying `what`; null when unknown. */
export function ownerCause(l: Lock, what: string): Cause | null {
  return l.since >= 0 ? { seq: l.since, why: what } : null;
}

/** The acquire of x by its owner, as a cause. */
export function took(x: Lock): Cause | null {
  return ownerCause(x, `tid ${x.owner} took ${x.name}`);
}

/** For a thread waiting inside a signal handler: the delivery that began the handler. */
function handlerCause(th: Thread, causes: Cause[]): void {
  const h = th.handling?.[th.handling.length - 1];
  if (h === undefined || th.state !== "blocked") return;
  causes.push({
    seq: h.at,
    why: `tid ${th.tid} took ${sigName(h.sig)}${h.by >= 0 ? ` (sent by tid ${h.by})` : ""} and waits inside its handler`,
  });
}

/** The seq that began th's wait (its lock-wait or waitOn event), -1 when unknown. */
function waitSeq(th: Thread): number {
  if (th.waitOn !== undefined && th.state === "blocked") return th.waitOn.since;
  if (th.waitLock >= 0) return th.waitSince ?? -1;
  return -1;
}

/** The event that began th's wait, as a cause ("tid 3 blocks on m held by tid 2"), when known. */
function waitCause(s: KState, th: Thread, causes: Cause[]): void {
  const q = waitSeq(th);
  if (q >= 0) causes.push({ seq: q, why: `tid ${th.tid} ${waitText(s, th)}` });
}

/** Why nothing that could wake th is left, when nothing is. */
function nobody(s: KState, th: Thread): string {
  const w = th.waitOn;
  if (w?.what === "futex") {
    const v = s.vars.get(w.id);
    return v && v.space > 0
      ? `no other thread of pid ${v.space} is left to wake it${forkedCopies(s, v.space, v.name)}`
      : "no other thread is left to wake it";
  }
  if (w?.what === "pipe-read" || w?.what === "pipe-write") {
    // The waker rule counts the other threads of the processes holding the other end: the waiter is no waker of itself.
    const reading = w.what === "pipe-read";
    const pids = pipeHolders(s, w.id, reading).map((p) => p.pid);
    const who = pids.length === 1 ? `pid ${pids[0]}` : `pids ${pids.join(", ")}`;
    const mine = pids.includes(th.pid) ? `no thread but tid ${th.tid} itself` : "no thread";
    return `${mine} is left in ${who} to ${reading ? "write to it or close it" : "read it or close it"}`;
  }
  if (th.waitPid >= -1) return "the child it waits for has no thread left to exit";
  return "nothing is left to wake it";
}

/**
 * For a wait on a word in pid's user memory that no thread of pid can end: the
 * live processes forked from pid, whose threads have their own copy of that
 * memory (a classic slip: a semaphore or condvar set up before fork, in memory
 * that is not shared, posted by the child), as a clause; "" when there are none.
 */
function forkedCopies(s: KState, pid: number, name: string): string {
  const kids = [...s.procs.values()].filter((p) => p.ppid === pid && p.state === "running" && p.pid !== pid);
  if (kids.length === 0) return "";
  const who = kids
    .sort((a, b) => a.pid - b.pid)
    .map((p) => `pid ${p.pid}${p.createdSeq >= 0 ? ` (forked at seq ${p.createdSeq})` : ""}`)
    .join(", ");
  return `; ${who} ${kids.length === 1 ? "has its" : "have their"} own copy of pid ${pid}'s user memory, where a wake of ${name} does not reach this one (a word shared across fork lives in kernel memory: scope "kernel", as pshared in a MAP_SHARED mapping)`;
}

/** For a pipe wait: which processes hold the other end (and since when). */
function holdersText(s: KState, th: Thread, causes: Cause[]): string {
  const w = th.waitOn!;
  const reading = w.what === "pipe-read";
  const end = reading ? "write" : "read";
  const parts: string[] = [];
  for (const p of pipeHolders(s, w.id, reading)) {
    const fds = p.fds!.filter((f) => f.pipe === w.id && f.write === reading);
    for (const f of fds) {
      const inherited = f.seq === p.createdSeq && p.createdSeq >= 0;
      causes.push({
        seq: f.seq,
        why: inherited
          ? `pid ${p.pid} inherits pipe ${w.id}'s ${end} end (fd ${f.fd}) at its creation (fork/spawn)`
          : `pid ${p.pid} gets pipe ${w.id}'s ${end} end as fd ${f.fd}`,
      });
    }
    const how = fds.some((f) => f.seq === p.createdSeq) ? ", inherited when it was forked" : "";
    parts.push(`pid ${p.pid} (fd ${fds.map((f) => f.fd).join(", ")}${how})`);
  }
  return `its ${end} end is still open in ${parts.join(", ")}`;
}

/**
 * For a thread waiting on a futex word: the wake nobody received before it
 * waited (a lost wakeup), a change of the word after it queued that no
 * futex_wake followed (the waiter was never told), and a wakeup it got and
 * slept again after (a predicate loop that found its condition false: the
 * writes, between that wakeup and this wait, of the variables it had read,
 * are what made it so).
 */
function futexCauses(s: KState, th: Thread, causes: Cause[]): void {
  const w = th.waitOn;
  if (w?.what !== "futex" || th.state !== "blocked") return;
  const v = s.vars.get(w.id);
  if (!v) return;
  const name = `${v.sync ?? "futex"} ${v.name}`;
  const woke = th.woken;
  if (woke !== undefined && woke.seq < w.since && woke.how === HOW.futex) {
    causes.push({
      seq: woke.seq,
      why: `tid ${th.tid} was woken ${woke.by >= 0 ? `by tid ${woke.by} ` : ""}and waited again (at seq ${w.since})`,
    });
    // The values it read ($x registers: a variable's value loaded for an expression) and who wrote them since that wakeup.
    for (const [reg, value] of th.regs ?? []) {
      if (reg[0] !== "$") continue;
      const x = findVar(s, reg.slice(1), th.pid);
      if (x === undefined || x.value !== value || x.writer < 0 || x.since <= woke.seq || x.since >= w.since) continue;
      causes.push({
        seq: x.since,
        why:
          x.writer === th.tid
            ? `tid ${th.tid} itself set ${x.name} to ${value} after its wakeup at ${woke.seq}: the value it read before waiting again`
            : `tid ${x.writer} set ${x.name} to ${value} after tid ${th.tid}'s wakeup at ${woke.seq}: the value tid ${th.tid} read before waiting again`,
      });
    }
  }
  if (v.wake !== undefined && v.wake.woken === 0 && v.wake.seq < w.since) {
    causes.push({ seq: v.wake.seq, why: `tid ${v.wake.by} woke ${name} while no thread waited: that wakeup was lost` });
  }
  if (v.writer >= 0 && v.since > w.since && (v.wake === undefined || v.wake.seq < v.since)) {
    causes.push({
      seq: v.since,
      why: `tid ${v.writer} changed ${name} (to ${v.value}) after tid ${th.tid} began waiting, and no futex_wake followed: the waiter was never told`,
    });
  }
}

/**
 * The finding for thread `tid`, which can never run again (`all`: every such
 * thread), in kernel terms: what it waits on, and why nothing can end that
 * wait; the causes are its wait, its wakers' waits, the lost wakeup of its
 * futex word, the fds that keep a pipe open.
 */
export function stuckFinding(s: KState, tid: number, all: ReadonlySet<number>): Finding {
  const th = s.threads.get(tid)!;
  const causes: Cause[] = [];
  waitCause(s, th, causes);
  const ws = wakersOf(s, th);
  let why: string;
  const w = th.waitOn;
  if (w !== undefined && (w.what === "pipe-read" || w.what === "pipe-write") && th.state === "blocked") {
    why = holdersText(s, th, causes);
    const others = ws === "runs" ? [] : ws;
    why +=
      others.length === 0
        ? `, and ${nobody(s, th)}`
        : `, whose threads cannot run: ${others.map((x) => `${waiterText(s, x)} ${waitText(s, s.threads.get(x)!)}`).join("; ")}`;
  } else if (th.waitLock >= 0 && (ws === "runs" || ws.length === 0)) {
    return {
      message: `${waiterText(s, tid)} ${waitText(s, th)}: it can never be released`,
      causes: causes.sort((a, b) => a.seq - b.seq),
    };
  } else if (ws === "runs" || ws.length === 0) {
    why = nobody(s, th);
  } else {
    const one = ws.length === 1;
    why = `the only ${one ? "thread" : "threads"} that could wake it ${one ? "is" : "are"} ${ws.map((x) => `${waiterText(s, x)}, which ${waitText(s, s.threads.get(x)!)}`).join("; ")}`;
  }
  // Its own futex and handler causes first: where a waker's names the same event, the stuck thread's words are kept.
  futexCauses(s, th, causes);
  handlerCause(th, causes);
  if (ws !== "runs")
    for (const x of ws) {
      const o = s.threads.get(x);
      if (!o || !all.has(x)) continue;
      waitCause(s, o, causes);
      // A waker blocked on a lock: the acquire that holds it there (often the stuck thread's own, made before it waited).
      const held = o.waitLock >= 0 ? s.locks.get(o.waitLock) : undefined;
      const acq = held !== undefined && held.owner >= 0 ? took(held) : null;
      if (acq !== null) causes.push(acq);
      futexCauses(s, o, causes);
      handlerCause(o, causes);
    }
  const seen = new Set<number>();
  const out = causes.filter((c) => c.seq >= 0 && !seen.has(c.seq) && seen.add(c.seq)).sort((a, b) => a.seq - b.seq);
  return { message: `${waiterText(s, tid)} ${waitText(s, th)}, which can never return: ${why}`, causes: out };
}

/** A hang's causes: the event that began each live thread's wait (the state at the hang says what each waits on). */
export function hangCauses(s: KState): Cause[] {
  const out: Cause[] = [];
  for (const th of s.threads.values()) if (th.state !== "exited") waitCause(s, th, out);
  return out.sort((a, b) => a.seq - b.seq);
}

/** The threads that can never run again (the kernel's rule), or null when there are none. */
export function stuckSet(s: KState): Set<number> | null {
  return stuckIfAny(s);
}
