// Waits: what a thread that cannot run waits for, who could end that wait,
// and the one rule for "this thread can never run again".
//
// A thread waits on a lock (waitLock), a child (waitPid), or something in
// waitOn: a futex word, a sleep, a join, a pipe. Who can end each wait:
//   lock        its owner, if the owner is alive in the lock's space (locks.ts)
//   futex       any other thread that can write the word: the threads of the
//               word's process (user memory), any thread (kernel memory)
//   join        the joined thread (by exiting)
//   waitpid     the threads of the child waited for (of any child for -1)
//   pipe read   the threads of every process holding its write end (a write,
//               or the close of the last one: EOF)
//   pipe write  the threads of every process holding its read end (it goes
//               on when the bytes it needs are free: all of a write of at
//               most the capacity, PIPE_BUF's rule; else any)
//   pause       any other thread (by sending it a signal); none needed when
//               a signal it does not block is pending (sigsuspend's new mask)
//   sigwait     any other thread (by sending one of the signals it waits
//               for); none needed when one of them is pending
// A wait with a deadline (a sleep, a timed wait) ends by itself; a lock now
// free, a pipe with data or with no writer left, a child already a zombie:
// the thread can run. A signal could also end some of these waits: when the
// thread's process handles a signal the thread does not block and the wait is
// interruptible (signal.ts), any other live thread can end it, by sending that
// signal, whose handler may do what the wait waits for (a handler that posts
// a semaphore), and the kernel ends it when a child's exit is under way and
// SIGCHLD is such a signal; without a handler, a wait only a signal could end
// is stuck.
//
// stuck(s) is the complement of a least fixpoint: start from the threads
// that can run, add every waiting thread one of whose wakers is in the set,
// until nothing changes; the threads left out can never run again. The
// no-deadlock invariant and the hang message use it.

import { liveThreads } from "./apply.ts";
import { ownerClause, ownerStatus } from "./locks.ts";
import { prioText, rank } from "./prio.ts";
import { actionOf, bit, interruptible, sigList } from "./signal.ts";
import { isImportedState, type KState, type Proc, SIG, sigActionOf, sigName, type Thread } from "./types.ts";

/** Who can end th's wait: tids, or "runs" when it can run (or its wait ends by itself). */
export type Wakers = number[] | "runs";

function live(s: KState, tid: number): boolean {
  const t = s.threads.get(tid);
  return t !== undefined && t.state !== "exited";
}

/**
 * Adds the live threads of pid other than `but` to out. False when pid has
 * none left but is still running: its exit is under way and will end the
 * wait (a proc-exit, the close of its descriptors).
 */
function threadsOf(s: KState, pid: number, but: number, out: number[]): boolean {
  const p = s.procs.get(pid);
  if (!p) return true;
  let any = false;
  for (const tid of p.threads) {
    if (!live(s, tid)) continue;
    any = true;
    if (tid !== but) out.push(tid);
  }
  return any || p.state !== "running";
}

/** Processes holding an fd on pipe `id`'s write (or read) end, in pid order. */
export function pipeHolders(s: KState, id: number, write: boolean): Proc[] {
  const out: Proc[] = [];
  for (const p of s.procs.values()) if (p.fds?.some((f) => f.pipe === id && f.write === write)) out.push(p);
  return out.sort((a, b) => a.pid - b.pid);
}

/** Whether a signal th does not block is pending on it or on its process. */
function pendingFor(s: KState, th: Thread): boolean {
  const mask = th.sigMask ?? 0;
  const open = (x: { sig: number }) => (mask & bit(x.sig)) === 0;
  return th.sigPending?.some(open) === true || s.procs.get(th.pid)?.sigPending?.some(open) === true;
}

/** Whether a signal of `set` (a bit each) is pending on th or on its process. */
function pendingIn(s: KState, th: Thread, set: number): boolean {
  const of = (x: { sig: number }) => (set & bit(x.sig)) !== 0;
  return th.sigPending?.some(of) === true || s.procs.get(th.pid)?.sigPending?.some(of) === true;
}

/**
 * Whether the kernel is about to interrupt th's wait with a SIGCHLD: a child
 * of its process has no thread left but is not a zombie yet (its last
 * thread's exit path runs on: the proc-exit sends SIGCHLD), th's process runs
 * a handler for SIGCHLD and th does not block it. Without that, a pause (or a
 * wait the handler ends) would look stuck from the child's last thread-exit
 * to its proc-exit.
 */
function chldComing(s: KState, th: Thread): boolean {
  if (((th.sigMask ?? 0) & bit(SIG.SIGCHLD!)) !== 0) return false;
  const p = s.procs.get(th.pid);
  if (p === undefined || actionOf(p, SIG.SIGCHLD!) !== "handler") return false;
  for (const c of s.procs.values())
    if (c.ppid === th.pid && c.state === "running" && !c.threads.some((tid) => live(s, tid))) return true;
  return false;
}

/** Who can end th's wait (see the file comment). */
export function wakersOf(s: KState, th: Thread): Wakers {
  const out: number[] = [];
  return wakersInto(s, th, out) ? out : "runs";
}

/**
 * wakersOf into out (emptied first), for the checks the scan runs at every
 * wait and thread exit (they reuse one array: no allocation per event):
 * false when th can run ("runs"; out then means nothing), else true with
 * the tids that can end its wait in out.
 */
function wakersInto(s: KState, th: Thread, out: number[]): boolean {
  if (!waitersOwn(s, th, out)) return false;
  // A signal its process handles and it does not block interrupts an interruptible wait for the handler, which may
  // do what the wait waits for (post a semaphore, set a flag and signal a condvar): the SIGCHLD the kernel is about
  // to send for a child whose exit is under way ends it; else any other live thread can send one (kill), as the
  // pause case already counts.
  if (th.state !== "blocked" || !interruptible(s, th)) return true;
  if (chldComing(s, th)) return false;
  if (th.waitOn?.what !== "signal" && handlesUnblocked(s, th)) othersInto(s, th.tid, out);
  return true;
}

/** Adds every live thread but `but` to out: the wakers of a wait any thread could end (a signal, kernel memory). */
function othersInto(s: KState, but: number, out: number[]): void {
  for (const t of liveThreads(s)) if (t.tid !== but && t.state !== "exited") out.push(t.tid);
}

/** Whether th's process runs a handler for a signal th does not block. */
function handlesUnblocked(s: KState, th: Thread): boolean {
  const acts = s.procs.get(th.pid)?.sigActions;
  if (acts === undefined) return false;
  const mask = th.sigMask ?? 0;
  return acts.some(([sig, a]) => sigActionOf(a) === "handler" && (mask & bit(sig)) === 0);
}

/** wakersInto without the signals: who can end th's wait by doing what it waits for. */
function waitersOwn(s: KState, th: Thread, out: number[]): boolean {
  out.length = 0;
  if (th.state === "exited") return true;
  // Only a blocked or spinning thread waits (the tests below all end in "runs" for the others).
  if (!waits(th)) return false;
  // exit_group is taking its process down: the wait ends with the thread.
  if ((s.procs.get(th.pid)?.exitingSeq ?? -1) >= 0) return false;
  if (th.waitLock >= 0) {
    const l = s.locks.get(th.waitLock);
    if (!l || l.owner < 0) return false;
    if (l.owner !== th.tid && ownerStatus(s, l) === "alive") out.push(l.owner);
    return true;
  }
  if (th.state !== "blocked") return false;
  const w = th.waitOn;
  if (w !== undefined) {
    if (w.until >= 0) return false;
    switch (w.what) {
      case "futex": {
        const v = s.vars.get(w.id);
        if (!v) return false;
        if (v.space > 0) threadsOf(s, v.space, th.tid, out);
        else othersInto(s, th.tid, out);
        return true;
      }
      case "join":
        if (!live(s, w.id)) return false;
        out.push(w.id);
        return true;
      case "signal":
        // A signal already pending that it does not block (sigsuspend let it in) ends the wait; else any thread can
        // send one.
        if (pendingFor(s, th)) return false;
        othersInto(s, th.tid, out);
        return true;
      case "sigwait":
        if (pendingIn(s, th, w.id)) return false;
        othersInto(s, th.tid, out);
        return true;
      case "pipe-read":
      case "pipe-write": {
        const p = s.pipes.get(w.id);
        if (!p) return false;
        const reading = w.what === "pipe-read";
        if (reading ? p.used > 0 || p.writers === 0 : p.cap - p.used >= w.need || p.readers === 0) return false;
        for (const h of pipeHolders(s, p.id, reading)) if (!threadsOf(s, h.pid, th.tid, out)) return false;
        return true;
      }
      default:
        return false;
    }
  }
  if (th.waitPid >= -1) {
    for (const p of s.procs.values()) {
      if (th.waitPid >= 0 ? p.pid !== th.waitPid : p.ppid !== th.pid) continue;
      if (p.state !== "running" || !threadsOf(s, p.pid, th.tid, out)) return false;
    }
    return true;
  }
  return false;
}

/** Whether th may wait (blocked or spinning): wakersInto says "runs" for every other live thread, and nothing for an exited one. */
function waits(th: Thread): boolean {
  return th.state === "blocked" || th.state === "spinning";
}

/** The arrays the checks below reuse: one for a thread's wakers, one for runsAlone's (called while the first is read). */
const WAKERS: number[] = [];
const ALONE: number[] = [];

/** Whether any thread waits in something other than a lock (where the lock cycle rule is not enough). */
export function otherWaits(s: KState): boolean {
  for (const t of liveThreads(s)) if (t.state === "blocked" && (t.waitOn !== undefined || t.waitPid >= -1)) return true;
  return false;
}

/** Whether tid can run by itself: alive, and its wakersOf is "runs". */
function runsAlone(s: KState, tid: number): boolean {
  const o = s.threads.get(tid);
  return o !== undefined && o.state !== "exited" && (!waits(o) || !wakersInto(s, o, ALONE));
}

/**
 * Whether tid is outside stuck(s) by the first two steps of its fixpoint: it
 * is gone or exited, it can run, or one of its wakers can. False: it may be
 * stuck (ask stuck). Most waits have a running waker, so this spares
 * building the whole set (the no-deadlock invariant asks it at every wait).
 */
export function surelyNotStuck(s: KState, tid: number): boolean {
  const th = s.threads.get(tid);
  if (th === undefined || th.state === "exited") return true;
  const ws = WAKERS;
  if (!wakersInto(s, th, ws)) return true;
  for (let i = 0; i < ws.length; i++) if (runsAlone(s, ws[i]!)) return true;
  return false;
}

/**
 * Whether the exit of thread tid (a thread-exit, judged on the state before
 * it) leaves no thread stuck that was not stuck before: no waiting thread
 * counts on tid alone to end its wait, as every one that lists it as a waker
 * has another that can run by itself. (An exit changes only the exiting
 * thread: the others' wakers lose it, or their wait ends; so a thread that
 * could run through another waker still can.) False: it may (ask stuck
 * before and after).
 */
export function exitStrandsNone(s: KState, tid: number): boolean {
  for (const t of liveThreads(s)) {
    // Only a blocked or spinning thread waits (wakersInto's first test, here: no call for the others).
    if (t.tid === tid || !waits(t)) continue;
    const ws = WAKERS;
    if (!wakersInto(s, t, ws) || !ws.includes(tid)) continue;
    let other = false;
    for (let i = 0; i < ws.length; i++) {
      const x = ws[i]!;
      if (x !== tid && runsAlone(s, x)) {
        other = true;
        break;
      }
    }
    if (!other) return false;
  }
  return true;
}

/**
 * Whether stuck(s) is empty by the first two steps of its fixpoint: every
 * live thread can run, or one of its wakers can by itself (what most states
 * are; this spares the fixpoint's sets at every thread exit).
 */
function surelyNoneStuck(s: KState): boolean {
  for (const t of liveThreads(s)) {
    if (!waits(t)) continue;
    const ws = WAKERS;
    if (!wakersInto(s, t, ws)) continue;
    let any = false;
    for (let i = 0; i < ws.length; i++) {
      if (runsAlone(s, ws[i]!)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

/**
 * The threads that can never run again: live threads outside the least
 * fixpoint of "can run, or can be woken by one that can".
 */
export function stuck(s: KState): Set<number> {
  return stuckIfAny(s) ?? new Set();
}

/** stuck(s), or null when no thread is stuck (then no set is made: what most states are, at every thread exit and wait). */
export function stuckIfAny(s: KState): Set<number> | null {
  if (surelyNoneStuck(s)) return null;
  const can = new Set<number>();
  const waiting: [number, number[]][] = [];
  for (const t of liveThreads(s)) {
    if (t.state === "exited") continue;
    const w = wakersOf(s, t);
    if (w === "runs") can.add(t.tid);
    else waiting.push([t.tid, w]);
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const [tid, ws] of waiting) {
      if (can.has(tid)) continue;
      if (ws.some((x) => can.has(x))) {
        can.add(tid);
        changed = true;
      }
    }
  }
  const out = new Set<number>();
  for (const [tid] of waiting) if (!can.has(tid)) out.add(tid);
  return out.size === 0 ? null : out;
}

/** "tid 3 (pid 2)", and " in its SIGUSR1 handler" while it runs one (it waits inside the handler: the code it interrupted cannot go on). */
export function waiterText(s: KState, tid: number): string {
  const t = s.threads.get(tid);
  const h = t?.handling?.[t.handling.length - 1];
  return `tid ${tid}${t ? ` (pid ${t.pid})` : ""}${h ? ` in its ${sigName(h.sig)} handler` : ""}`;
}

/** What a thread that cannot run waits for, for the hang message: "tid 2 (pid 1) waits on condvar cv". */
export function describeWait(s: KState, th: Thread): string {
  return `${waiterText(s, th.tid)} ${waitText(s, th)}`;
}

/**
 * Whether th waits for its lock (waitLock) now: blocked or spinning on it in a
 * simulated run; in an imported trace from its lock-wait until it takes the
 * lock or stops waiting (lock-wait-end), whatever its state (the trace's
 * switches say whether it sleeps meanwhile). One rule for every view.
 */
export function waitsOnLock(s: KState, th: Thread): boolean {
  return th.waitLock >= 0 && (isImportedState(s) || th.state === "blocked" || th.state === "spinning");
}

/** What th waits on, as a phrase after "tid N (pid P) ": "blocks on m held by tid 2", "waits on condvar cv". */
export function waitText(s: KState, th: Thread): string {
  if (waitsOnLock(s, th)) {
    const l = s.locks.get(th.waitLock);
    if (!l) return "waits on a lock that is gone";
    const how = th.state === "spinning" ? "spins" : isImportedState(s) ? "waits" : "blocks";
    if (l.owner < 0) return `${how} on ${l.name}, which is free`;
    return `${how} on ${l.name} held by tid ${l.owner}${ownerClause(s, l)}`;
  }
  const w = th.waitOn;
  if (th.state === "blocked" && w !== undefined) {
    switch (w.what) {
      case "futex": {
        const v = s.vars.get(w.id);
        return `waits on ${v?.sync ?? "futex"} ${v ? v.name : `var ${w.id}`}${w.until >= 0 ? " (timed)" : ""}`;
      }
      case "sleep":
        return "sleeps";
      case "signal":
        return "waits for a signal (pause)";
      case "sigwait":
        return `waits in sigwait for ${sigList(w.id)}${w.until >= 0 ? " (timed)" : ""}`;
      case "join":
        return `blocks in join(tid ${w.id})`;
      case "pipe-read":
        return `blocks reading pipe ${w.id} (empty)`;
      case "pipe-write":
        return `blocks writing pipe ${w.id} (${pipeRoom(s, w.id, w.need)})`;
    }
  }
  if (th.state === "blocked" && th.waitPid >= -1) return `blocks in waitpid(${th.waitPid})`;
  if (th.state === "runnable" && s.cpus.length > 0) {
    // Ready, but every cpu runs a thread of a higher rank (the priority policy: it never gets one while they run).
    const mine = rank(th);
    const above: string[] = [];
    for (const c of s.cpus) {
      const o = c.tid >= 0 ? s.threads.get(c.tid) : undefined;
      if (o === undefined || rank(o) <= mine) return "is runnable";
      above.push(`tid ${o.tid} (${prioText(o)}) on cpu ${c.id}`);
    }
    return `is runnable (${prioText(th)}) but every cpu runs a higher-priority thread: ${above.join(", ")}`;
  }
  return `is ${th.state}`;
}

/**
 * Why a pipe write waits on pipe `id`, needing `need` free bytes: "full", or
 * "60 of 64 bytes buffered, the write needs 20 free" (a write of at most the
 * capacity goes in whole or not at all). The pipe-wait event's text and a
 * blocked writer's say it so.
 */
export function pipeRoom(s: KState | undefined, id: number, need: number): string {
  const p = s?.pipes.get(id);
  if (p === undefined || p.used >= p.cap || need <= 1) return "full";
  return `${p.used} of ${p.cap} bytes buffered, the write needs ${need} free`;
}
