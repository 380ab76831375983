// File descriptors and pipes.
//
// A process has a table of descriptors, each naming one end of a pipe, with
// a close-on-exec flag. fork copies the table (every descriptor, pointing at
// the same pipe ends), posix_spawn copies the descriptors without
// close-on-exec, execve closes those with it (fd-close events, after the
// exec), exit closes them all. A pipe is a bounded byte buffer: a read of an
// empty pipe blocks while a write end is open somewhere and returns 0 (end of
// file) once none is; a write into a full pipe blocks while a read end is open
// and fails with EPIPE (after SIGPIPE to the writer) once none is. A write of
// at most the capacity is atomic (it waits until all of it fits, as POSIX's
// PIPE_BUF); a larger one writes what fits, and waits for room for the rest,
// piece by piece, until all is written (a blocking write returns its whole
// count, as Linux's pipe_write); a signal that ends its wait after a piece,
// or a read end closed for good, ends it with the count written so far
// (SIGPIPE still sent). Every change that may let a
// blocked reader or writer go on wakes it (wake, how pipe); it then tries
// again. So "the reader never sees EOF because a forked child still holds
// the write end" is the reader blocked while that child's fd stays open.
//
// A call with `nonblock` does not wait, as on an O_NONBLOCK descriptor: a read
// of an empty pipe and a write that would wait fail with EAGAIN (a larger
// write returns the count of what fit).
//
// Return values, as the system calls': read and write give the byte count or
// -errno (EBADF, EPIPE, EINTR, EAGAIN); pipe, dup give a descriptor or -errno (EMFILE,
// EBADF); close and fcntl 0 or the errno.

import { AGAIN, DONE, type Frame, KEEP, type Micro, type R, type TCtx } from "./ctx.ts";
import { ev } from "./events.ts";
import { setRet, value } from "./mem.ts";
import { COST, FIRST_FD, MAX_FDS, PIPE_CAPACITY } from "./params.ts";
import type { Op } from "./program.ts";
import { send } from "./signal.ts";
import type { Simulator } from "./sim.ts";
import { ERRNO, type Fd, HOW, type Pipe, type Proc, SIG } from "./types.ts";

/** The lowest free descriptor of p, or -1 when its table is full. */
function lowestFree(p: Proc): number {
  let fd = FIRST_FD;
  for (const f of p.fds ?? []) {
    if (f.fd > fd) break;
    if (f.fd === fd) fd++;
  }
  return fd < FIRST_FD + MAX_FDS ? fd : -1;
}

function fdOf(k: Simulator, t: TCtx, fd: number): Fd | undefined {
  return k.state.procs.get(t.pid)?.fds?.find((f) => f.fd === fd);
}

/** An errno event for `call` and the op's return value (-errno when the call returns a count or a descriptor). */
function fail(
  k: Simulator,
  t: TCtx,
  c: number,
  errno: number,
  obj: number,
  call: string,
  reg: string | undefined,
  negative: boolean,
): R {
  k.emit(c, t.tid, ev.errno({ errno, obj, call }));
  k.cost(COST.kernel, c);
  setRet(k, t, c, reg, negative ? -errno : errno);
  return DONE;
}

/** Wakes every thread blocked reading (or writing) pipe `id`: they try again. */
export function wakePipe(k: Simulator, c: number, actor: number, id: number, readers: boolean): void {
  const what = readers ? "pipe-read" : "pipe-write";
  for (const th of k.state.threads.values()) {
    if (th.state === "blocked" && th.waitOn?.what === what && th.waitOn.id === id) {
      k.emit(c, actor, ev.wake({ tid: th.tid, by: actor, how: HOW.pipe, context: `pipe ${id}` }));
    }
  }
}

/** Closes descriptor f of the actor's process (fd-close), waking whoever its going lets go on (EOF, EPIPE). */
export function closeFd(k: Simulator, c: number, actor: number, f: Fd): void {
  k.emit(c, actor, ev.fdClose({ fd: f.fd, pipe: f.pipe }));
  const p = k.state.pipes.get(f.pipe);
  if (!p) return;
  if (f.write && p.writers === 0) wakePipe(k, c, actor, p.id, true);
  if (!f.write && p.readers === 0) wakePipe(k, c, actor, p.id, false);
}

/**
 * Kernel steps closing pid's descriptors (only the close-on-exec ones for an
 * exec), one per step, decided when they run; none when it has none.
 */
export function closeAll(k: Simulator, pid: number, cloexecOnly: boolean): Micro[] {
  const fds = k.state.procs.get(pid)?.fds;
  if (fds === undefined || fds.length === 0) return [];
  return fds
    .filter((f) => !cloexecOnly || f.cloexec)
    .map((f) => (t2: TCtx, c2: number) => {
      const still = k.state.procs.get(pid)?.fds?.find((x) => x.fd === f.fd && x.pipe === f.pipe);
      if (still) closeFd(k, c2, t2.tid, still);
      else k.emit(c2, t2.tid, ev.kwork({ label: `fd ${f.fd} already closed` }));
      k.cost(COST.kernel, c2);
      return DONE;
    });
}

/** pipe(): pipe-new, then its read and write ends as the two lowest free descriptors (fd-open each) in the op's registers. */
export function pipeOp(k: Simulator, t: TCtx, c: number, op: Extract<Op, { op: "pipe" }>): R {
  const p = k.state.procs.get(t.pid)!;
  const r = lowestFree(p);
  const flags = op.cloexec ? 2 : 0;
  if (r < 0) return fail(k, t, c, ERRNO.EMFILE, -1, "pipe", op.read, true);
  const id = k.state.nextPipe;
  k.emit(c, t.tid, ev.pipeNew({ pipe: id, cap: op.cap ?? PIPE_CAPACITY }));
  k.emit(c, t.tid, ev.fdOpen({ fd: r, pipe: id, flags }));
  const w = lowestFree(p);
  if (w < 0) {
    closeFd(k, c, t.tid, fdOf(k, t, r)!);
    return fail(k, t, c, ERRNO.EMFILE, -1, "pipe", op.read, true);
  }
  k.emit(c, t.tid, ev.fdOpen({ fd: w, pipe: id, flags: flags | 1 }));
  k.cost(COST.kernel, c);
  setRet(k, t, c, op.read, r);
  setRet(k, t, c, op.write, w);
  return DONE;
}

/** close(fd): fd-close (and the wakeups it causes); EBADF when fd is not open. */
export function closeOp(k: Simulator, t: TCtx, c: number, op: Extract<Op, { op: "close" }>): R {
  const fd = value(k, t, c, false, op.fd);
  if (fd === null) return KEEP;
  const f = fdOf(k, t, fd);
  if (!f) return fail(k, t, c, ERRNO.EBADF, fd, `close(${fd})`, op.ret, false);
  closeFd(k, c, t.tid, f);
  k.cost(COST.kernel, c);
  setRet(k, t, c, op.ret, 0);
  return DONE;
}

/** dup(fd) (the lowest free descriptor) or dup2(fd, to) (closing `to` first); the new one without close-on-exec unless asked. */
export function dupOp(k: Simulator, t: TCtx, c: number, op: Extract<Op, { op: "dup" }>): R {
  const fd = value(k, t, c, false, op.fd);
  const to = op.to === undefined ? undefined : value(k, t, c, false, op.to);
  if (fd === null || to === null) return KEEP;
  const call = to === undefined ? `dup(${fd})` : `dup2(${fd}, ${to})`;
  const f = fdOf(k, t, fd);
  if (!f) return fail(k, t, c, ERRNO.EBADF, fd, call, op.reg, true);
  const p = k.state.procs.get(t.pid)!;
  let nfd: number;
  if (to !== undefined) {
    if (to < 0 || to >= FIRST_FD + MAX_FDS) return fail(k, t, c, ERRNO.EBADF, to, call, op.reg, true);
    if (to === fd) {
      k.emit(c, t.tid, ev.kwork({ label: `${call}: the same descriptor` }));
      setRet(k, t, c, op.reg, fd);
      return DONE;
    }
    const old = fdOf(k, t, to);
    if (old) closeFd(k, c, t.tid, old);
    nfd = to;
  } else {
    nfd = lowestFree(p);
    if (nfd < 0) return fail(k, t, c, ERRNO.EMFILE, fd, call, op.reg, true);
  }
  k.emit(c, t.tid, ev.fdOpen({ fd: nfd, pipe: f.pipe, flags: (f.write ? 1 : 0) | (op.cloexec ? 2 : 0) }));
  k.cost(COST.kernel, c);
  setRet(k, t, c, op.reg, nfd);
  return DONE;
}

/** fcntl(fd, F_SETFD, cloexec): fd-flags; EBADF when fd is not open. */
export function fcntlOp(k: Simulator, t: TCtx, c: number, op: Extract<Op, { op: "fcntl" }>): R {
  const fd = value(k, t, c, false, op.fd);
  if (fd === null) return KEEP;
  if (!fdOf(k, t, fd)) return fail(k, t, c, ERRNO.EBADF, fd, `fcntl(${fd}, F_SETFD)`, op.ret, false);
  k.emit(c, t.tid, ev.fdFlags({ fd, cloexec: op.cloexec ? 1 : 0 }));
  k.cost(COST.kernel, c);
  setRet(k, t, c, op.ret, 0);
  return DONE;
}

/** Whether t's previous try of this op ended in a signal's wakeup (then the call returns EINTR, or a write what it wrote). Clears blockedAt. */
function interrupted(k: Simulator, t: TCtx): boolean {
  if (t.blockedAt < 0) return false;
  const at = t.blockedAt;
  t.blockedAt = -1;
  const w = k.state.threads.get(t.tid)?.woken;
  return w !== undefined && w.seq > at && w.how === HOW.signal;
}

/** Blocks t on pipe id (pipe-wait): reading (need 0), or writing until `need` bytes are free; the op runs again when woken. */
function wait(k: Simulator, t: TCtx, c: number, id: number, need: number): R {
  k.emit(c, t.tid, ev.pipeWait({ pipe: id, write: need > 0 ? 1 : 0, need }));
  k.cost(COST.kernel, c);
  t.blockedAt = k.state.seq;
  t.blockedUntil = -1;
  return KEEP;
}

/**
 * What read and write start with: their arguments, EINTR when the last try
 * ended in a signal's wakeup, EBADF for a descriptor not open on the right
 * end. The pipe and the call's text, or the step's result.
 */
function pipeCall(
  k: Simulator,
  t: TCtx,
  c: number,
  op: Extract<Op, { op: "read" | "write" }>,
): { p: Pipe; n: number; fd: number; call: string } | R {
  const fd = value(k, t, c, false, op.fd);
  const n = value(k, t, c, false, op.n);
  if (fd === null || n === null) return KEEP;
  const call = `${op.op}(${fd}, ${n})`;
  if (interrupted(k, t)) return fail(k, t, c, ERRNO.EINTR, fd, call, op.ret, true);
  const f = fdOf(k, t, fd);
  if (!f || f.write !== (op.op === "write")) return fail(k, t, c, ERRNO.EBADF, fd, call, op.ret, true);
  return { p: k.state.pipes.get(f.pipe)!, n, fd, call };
}

/** write(fd, n): see the file comment. t.wrote carries what the call wrote so far across its waits. */
export function writeOp(k: Simulator, t: TCtx, c: number, op: Extract<Op, { op: "write" }>, f: Frame): R {
  // A signal's wake after a piece: the count written (interrupted() clears blockedAt either way: pipeCall then sees a retry).
  if (t.wrote > 0 && interrupted(k, t)) return wrote(k, t, c, op.ret, t.wrote, f, false);
  const pc = pipeCall(k, t, c, op);
  if (typeof pc === "number") return pc;
  const { p, n, fd, call } = pc;
  const done = Math.max(0, t.wrote);
  if (p.readers === 0) {
    // Nobody can ever read it: SIGPIPE to the writer, and EPIPE (or what it wrote before the last reader went).
    send(k, c, -1, t.pid, t.tid, SIG.SIGPIPE);
    if (done > 0) return wrote(k, t, c, op.ret, done, f, true);
    return fail(k, t, c, ERRNO.EPIPE, fd, call, op.ret, true);
  }
  const room = p.cap - p.used;
  // All at once when the whole write fits the capacity (PIPE_BUF's rule); else piece by piece, whatever fits.
  const need = n <= p.cap ? n : 1;
  if (n <= 0) {
    k.emit(c, t.tid, ev.pipeWrite({ pipe: p.id, n: 0, used: p.used }));
    setRet(k, t, c, op.ret, 0);
    return DONE;
  }
  if (room < need) {
    // O_NONBLOCK: no wait: what it wrote so far, or EAGAIN.
    if (op.nonblock === true) {
      if (done > 0) return wrote(k, t, c, op.ret, done, f, false);
      return fail(k, t, c, ERRNO.EAGAIN, fd, call, op.ret, true);
    }
    t.wrote = done;
    return wait(k, t, c, p.id, need);
  }
  const w = Math.min(n - done, room);
  k.emit(c, t.tid, ev.pipeWrite({ pipe: p.id, n: w, used: p.used + w }));
  k.cost(COST.kernel, c);
  wakePipe(k, c, t.tid, p.id, true);
  if (done + w < n) {
    // O_NONBLOCK: a short count now. Else more to write: the op goes on at its next step (waiting for room then).
    if (op.nonblock === true) return wrote(k, t, c, op.ret, done + w, f, true);
    t.wrote = done + w;
    return KEEP;
  }
  t.wrote = -1;
  setRet(k, t, c, op.ret, n);
  return DONE;
}

/**
 * A write that ends with part of its bytes written: `count` into ret (a
 * reg-set). `emitted`: this step already has its event (a pipe-write, the
 * SIGPIPE); else, without ret, the thread goes on at once without one.
 */
function wrote(
  k: Simulator,
  t: TCtx,
  c: number,
  ret: string | undefined,
  count: number,
  f: Frame,
  emitted: boolean,
): R {
  t.wrote = -1;
  if (ret === undefined && !emitted) {
    f.pc++;
    return AGAIN;
  }
  setRet(k, t, c, ret, count);
  return DONE;
}

/** read(fd, n): see the file comment. */
export function readOp(k: Simulator, t: TCtx, c: number, op: Extract<Op, { op: "read" }>): R {
  const pc = pipeCall(k, t, c, op);
  if (typeof pc === "number") return pc;
  const { p, n, fd, call } = pc;
  if (p.used === 0 && p.writers > 0 && n > 0)
    return op.nonblock === true
      ? fail(k, t, c, ERRNO.EAGAIN, fd, call, op.ret, true) // O_NONBLOCK: no wait
      : wait(k, t, c, p.id, 0);
  const got = Math.max(0, Math.min(n, p.used));
  k.emit(c, t.tid, ev.pipeRead({ pipe: p.id, n: got, used: p.used - got }));
  k.cost(COST.kernel, c);
  if (got > 0) wakePipe(k, c, t.tid, p.id, false);
  setRet(k, t, c, op.ret, got);
  return DONE;
}

/** pause(): the thread waits for a signal (pause); a handler's signal ends it (EINTR). */
export function pauseOp(k: Simulator, t: TCtx, c: number, f: Frame): R {
  if (t.blockedAt >= 0) {
    t.blockedAt = -1;
    f.pc++;
    return AGAIN;
  }
  k.emit(c, t.tid, ev.pause());
  k.cost(COST.kernel, c);
  t.blockedAt = k.state.seq;
  t.blockedUntil = -1;
  return KEEP;
}
