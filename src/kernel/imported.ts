// Imported traces: the reducer's cases for the events `ktrace import` makes of
// a real kernel trace (ftrace, perf script, babeltrace2; src/import/).
//
// A real trace says what happened, not why: tasks appear when first seen
// (already running for months), their states come from the scheduler's own
// words (sched_switch's prev_state, wakeups, statedumps), processes are known
// only as far as the trace prints tgids, and CPUs run interrupt handlers. These
// cases keep that in the same KState the simulator uses, with the fields only
// imported traces set (Thread.comm/cpu/onSeq/offSeq, Cpu.switchSeq/ctx/lostSeq)
// and processes without a modelled address space (vmar null, vmarLock -1).
//
// Called from applyEvent (apply.ts) only; each function's contract is the kind
// table's doc of its event (types.ts). Like the rest of the reducer, an event
// that does not fit the state throws ApplyError and nothing else.

import { ApplyError, fresh, intList, keyed, noteLive, procObj, thread, threadObj } from "./apply.ts";
import {
  CPU_CTX,
  type Cpu,
  type KEvent,
  KIND,
  type KState,
  MAX_CTX_DEPTH,
  type Proc,
  SWITCH_STATES,
  type Thread,
  type ThreadState,
} from "./types.ts";

/** TASK_COMM_LEN - 1: the kernel cuts command names to this. */
export const COMM_LEN = 15;

/** The comm a program gets at exec: its file's base name, cut as the kernel cuts it (one definition, import's mapper uses it too). */
export function commOf(filename: string): string {
  return (filename.slice(filename.lastIndexOf("/") + 1) || filename).slice(0, COMM_LEN);
}

/** The ThreadState a switch's state or a thread-state event's code stands for (1..); throws for another code. */
export function stateOf(ev: KEvent, code: number): ThreadState {
  const st = code >= 1 ? SWITCH_STATES[code] : undefined;
  if (st === undefined || st === "") throw new ApplyError(ev.seq, `bad thread state code ${code}`);
  return st;
}

/** The code of a thread state in SWITCH_STATES (for constructing events). */
export function stateCode(st: ThreadState): number {
  const i = (SWITCH_STATES as readonly string[]).indexOf(st);
  return i > 0 ? i : (SWITCH_STATES as readonly string[]).indexOf("unknown");
}

function cpuOf(s: KState, ev: KEvent): Cpu {
  const c = s.cpus[ev.cpu];
  if (!c) throw new ApplyError(ev.seq, `no cpu ${ev.cpu}`);
  return c;
}

/** A process of an imported trace: no address space modelled (vmar null, never cleared), no VMAR lock. */
function newProc(s: KState, ev: KEvent, pid: number, ppid: number, name: string): Proc {
  const p = procObj({
    pid: fresh(ev, s.procs, pid, "process"),
    ppid: Number.isSafeInteger(ppid) && ppid >= 0 ? ppid : -1,
    name,
    state: "running",
    threads: intList(),
    vmar: null,
    vmarClearedSeq: -1,
    vmarLock: -1,
    exitCode: null,
    tcaches: intList(),
    createdSeq: ev.seq,
    exitingSeq: -1,
  });
  s.procs.set(pid, p);
  keyed(s.procs, p.ppid, p);
  return p;
}

function addThread(s: KState, p: Proc, tid: number, comm: string, state: ThreadState): void {
  const t = threadObj({ tid, pid: p.pid, state, ident: tid, kstack: -1, waitLock: -1, waitPid: -2 });
  t.comm = comm;
  s.threads.set(tid, t);
  noteLive(s.threads, t);
  p.threads.push(tid);
  if (tid === p.pid) p.name = comm;
}

/** Takes thread t out of its process; a process left without threads goes (it was only t's). */
function leave(s: KState, t: Thread): void {
  const p = s.procs.get(t.pid);
  if (!p) return;
  p.threads = p.threads.filter((x) => x !== t.tid);
  if (p.threads.length === 0 && p.state === "running") s.procs.delete(p.pid);
}

/**
 * A switch of an imported trace (state != 0): `from` (if still known) takes
 * the state prev_state gives, `to` runs here. Unlike the simulator's switch,
 * `to` runs whatever its state was: the trace is the authority.
 */
export function importedSwitch(s: KState, ev: KEvent): void {
  const cpu = cpuOf(s, ev);
  const st = stateOf(ev, ev.c);
  if (ev.a >= 0) {
    const from = s.threads.get(ev.a);
    if (from) {
      from.state = st;
      from.offSeq = ev.seq;
    }
  }
  if (ev.b >= 0) {
    const to = thread(s, ev, ev.b);
    to.state = "running";
    to.cpu = cpu.id;
    to.onSeq = ev.seq;
    cpu.tid = to.tid;
    cpu.kstack = to.kstack;
  } else {
    cpu.tid = -1;
    cpu.kstack = -1;
  }
  cpu.switchSeq = ev.seq;
}

/** task-new, task-fork, thread-state, migrate, cpu-ctx, task-join, task-rename, task-exec, lock-wait-end, lost, generic. */
export function applyImported(s: KState, ev: KEvent): void {
  switch (ev.kind) {
    case KIND.taskNew: {
      const tid = fresh(ev, s.threads, ev.a, "thread");
      const p = s.procs.get(ev.b) ?? newProc(s, ev, ev.b, ev.c, ev.s);
      if (p.ppid < 0 && Number.isSafeInteger(ev.c) && ev.c >= 0) {
        p.ppid = ev.c;
        keyed(s.procs, p.ppid, p);
      }
      addThread(s, p, tid, ev.s, "unknown");
      return;
    }
    case KIND.taskFork: {
      const tid = fresh(ev, s.threads, ev.a, "thread");
      const parent = s.threads.get(ev.tid);
      let p: Proc;
      if (ev.c === 1) {
        p =
          s.procs.get(ev.b) ??
          (() => {
            throw new ApplyError(ev.seq, `no process ${ev.b}`);
          })();
      } else {
        p = newProc(s, ev, ev.b, parent ? parent.pid : -1, ev.s);
      }
      addThread(s, p, tid, ev.s, "runnable");
      return;
    }
    case KIND.threadState:
      thread(s, ev, ev.a).state = stateOf(ev, ev.b);
      return;
    case KIND.migrate: {
      const t = thread(s, ev, ev.a);
      if (!Number.isSafeInteger(ev.c) || ev.c < 0) throw new ApplyError(ev.seq, `bad cpu ${ev.c}`);
      t.cpu = ev.c;
      return;
    }
    case KIND.cpuCtx: {
      const c = cpuOf(s, ev);
      const k = CPU_CTX[ev.a];
      if (k === undefined || k === "task") throw new ApplyError(ev.seq, `bad cpu context ${ev.a}`);
      const ctx = (c.ctx ??= []);
      if (ev.b) {
        if (ctx.length >= MAX_CTX_DEPTH) ctx.shift();
        ctx.push({ kind: k, num: ev.c, name: ev.s, since: ev.seq });
      } else {
        // Leaving a context leaves whatever it interrupted and did not see end (lost exits).
        for (let i = ctx.length - 1; i >= 0; i--) {
          if (ctx[i]!.kind === k) {
            ctx.length = i;
            break;
          }
        }
      }
      if (ctx.length === 0) c.ctx = undefined;
      return;
    }
    case KIND.taskJoin: {
      const t = thread(s, ev, ev.a);
      if (t.pid === ev.b) return;
      const p = s.procs.get(ev.b) ?? newProc(s, ev, ev.b, -1, t.comm ?? "");
      leave(s, t);
      t.pid = p.pid;
      p.threads.push(t.tid);
      if (t.tid === p.pid && t.comm !== undefined) p.name = t.comm;
      return;
    }
    case KIND.taskRename: {
      const t = thread(s, ev, ev.a);
      t.comm = ev.s;
      const p = s.procs.get(t.pid);
      if (p && t.tid === p.pid) p.name = ev.s;
      return;
    }
    case KIND.taskExec: {
      let t = thread(s, ev, ev.b);
      if (ev.b !== ev.a) {
        // de_thread: the exec'ing thread becomes the leader, under the leader's tid.
        if (!Number.isSafeInteger(ev.a) || ev.a <= 0) throw new ApplyError(ev.seq, `bad thread id ${ev.a}`);
        const old = s.threads.get(ev.a);
        if (old) {
          leave(s, old);
          s.threads.delete(old.tid);
        }
        const p = s.procs.get(t.pid);
        s.threads.delete(t.tid);
        if (p) p.threads = p.threads.map((x) => (x === t.tid ? ev.a : x));
        t.tid = ev.a;
        t.ident = ev.a;
        s.threads.set(t.tid, t);
        for (const c of s.cpus) if (c.tid === ev.b) c.tid = ev.a;
        t = thread(s, ev, ev.a);
      }
      const comm = commOf(ev.s);
      t.comm = comm;
      const p = s.procs.get(t.pid);
      if (p) p.name = comm;
      return;
    }
    case KIND.lockWaitEnd: {
      if (!s.locks.has(ev.a)) throw new ApplyError(ev.seq, `no lock ${ev.a}`);
      const t = s.threads.get(ev.tid);
      if (t && t.waitLock === ev.a) t.waitLock = -1;
      return;
    }
    case KIND.lost: {
      const c = s.cpus[ev.cpu];
      if (!c) return; // a tracer that does not say which cpu lost them
      c.lostSeq = ev.seq;
      c.switchSeq = undefined;
      c.ctx = undefined;
      return;
    }
    case KIND.generic:
      return;
    default:
      throw new ApplyError(ev.seq, `unknown event kind ${ev.kind}`);
  }
}
