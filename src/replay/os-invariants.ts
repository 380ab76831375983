// Invariants for the objects of issue 11: a signal handler waiting for a
// lock its own interrupted thread holds (signal-safety), a zombie its living
// parent never reaps (zombie-leak, opt-in), and a priority inversion
// (priority-inversion). Registered in invariants.ts.

import { inversion, prioText, rank, rankText } from "../kernel/prio.ts";
import { actionOf, handlerRelock } from "../kernel/signal.ts";
import { IMPORTED_KINDS, type KEvent, KIND, type KState, MISUSES, type Proc, SIG, sigName } from "../kernel/types.ts";
import type { Cause, Finding, Invariant } from "./invariants.ts";

const RELOCK = MISUSES.indexOf("relock");

function sorted(cs: Cause[]): Cause[] {
  return cs.filter((c) => c.seq >= 0).sort((a, b) => a.seq - b.seq);
}

/**
 * The finding when ev (a relock, a lock-wait) is a signal handler taking a
 * lock that the code it interrupted holds on the same thread; undefined
 * otherwise. lock-misuse and no-deadlock leave these to signal-safety.
 */
export function handlerDeadlock(s: KState, ev: KEvent): Finding | undefined {
  if (ev.kind === KIND.lockMisuse && ev.b !== RELOCK) return undefined;
  if (ev.kind !== KIND.lockMisuse && ev.kind !== KIND.lockWait) return undefined;
  const h = handlerRelock(s, ev.tid, ev.a);
  if (h === undefined) return undefined;
  const l = s.locks.get(ev.a)!;
  const t = s.threads.get(ev.tid)!;
  return {
    message: `tid ${ev.tid} (pid ${t.pid}) in its ${sigName(h.sig)} handler waits for ${l.name}, which the code the signal interrupted holds on the same thread: it can never be released (a handler may only make async-signal-safe calls)`,
    causes: sorted([
      { seq: l.since, why: `tid ${ev.tid} took ${l.name}` },
      { seq: h.sent, why: `${h.by >= 0 ? `tid ${h.by}` : "the kernel"} sent ${sigName(h.sig)}` },
      { seq: h.at, why: `${sigName(h.sig)} interrupted tid ${ev.tid} while it held ${l.name}; its handler runs` },
    ]),
  };
}

export const signalSafety: Invariant = {
  name: "signal-safety",
  doc: "A signal handler never takes a lock that the code it interrupted holds: a relock or lock-wait, inside a handler, on a lock its own thread took before the signal came (malloc in a handler while the thread was inside malloc), breaks it; the handler and the interrupted code can never go on.",
  kinds: [KIND.lockMisuse, KIND.lockWait],
  pre(s, ev) {
    return handlerDeadlock(s, ev) ?? null;
  },
};

/** The inversion finding for thread tid running on cpu, if it runs in one. */
function inversionFinding(s: KState, tid: number, cpu: number): Finding | null {
  const inv = inversion(s, tid);
  if (!inv) return null;
  const me = s.threads.get(tid)!;
  const { high, lock, owner } = inv;
  const fix = lock.pi
    ? ""
    : ` (priority inheritance on ${lock.name} would let tid ${owner.tid} run at ${rankText(rank(high))})`;
  return {
    message: `tid ${tid} (pid ${me.pid}, ${prioText(me)}) runs on cpu ${cpu} while tid ${high.tid} (${prioText(high)}) waits on ${lock.name} held by tid ${owner.tid} (${prioText(owner)}), which is ready but cannot run: a priority inversion${fix}`,
    causes: sorted([
      { seq: lock.since, why: `tid ${owner.tid} took ${lock.name}` },
      { seq: high.waitSince ?? -1, why: `tid ${high.tid} waits on ${lock.name}` },
    ]),
  };
}

export const priorityInversion: Invariant = {
  name: "priority-inversion",
  doc: 'A thread never runs while a higher-priority thread waits on a lock held by a lower-priority thread that is ready but not running (the middle thread takes the cpu the lock\'s owner needs): a switch to such a thread, or a lock-wait that makes the running one such, breaks it. Priority inheritance on the lock (protocol: "inherit") prevents it.',
  kinds: [KIND.switch, KIND.lockWait],
  // An inversion needs a thread ranked above 0: only a sched-set makes one where none is (a boost is lent by one).
  armed: {
    by: [KIND.schedSet, ...IMPORTED_KINDS],
    test(s) {
      for (const t of s.threads.values()) if (rank(t) > 0) return true;
      return false;
    },
  },
  post(s, ev) {
    if (ev.kind === KIND.switch) return ev.b >= 0 ? inversionFinding(s, ev.b, ev.cpu) : null;
    for (const c of s.cpus) {
      if (c.tid < 0) continue;
      const f = inversionFinding(s, c.tid, c.id);
      if (f) return f;
    }
    return null;
  },
};

/** Whether parent pid p is about to reap: SIGCHLD pending for it, a handler for it running, or a thread in waitpid. */
function reaping(s: KState, p: Proc): boolean {
  if (p.sigPending?.some((x) => x.sig === SIG.SIGCHLD)) return true;
  for (const tid of p.threads) {
    const t = s.threads.get(tid);
    if (!t || t.state === "exited") continue;
    if (t.sigPending?.some((x) => x.sig === SIG.SIGCHLD) || t.handling?.some((h) => h.sig === SIG.SIGCHLD)) return true;
    if (t.state === "blocked" && t.waitPid >= -1) return true;
  }
  return false;
}

export const zombieLeak: Invariant = {
  name: "zombie-leak",
  doc: "Opt-in (a scenario sets rules: { zombieCheck: true }, or `--invariant zombie-leak`): at the end of the run, no child that exited is still a zombie while its parent runs on without reaping it (no waitpid, no SIGCHLD handler that reaps, nothing pending that would). Orphans are init's to reap.",
  kinds: [KIND.end],
  optIn: "zombieCheck",
  pre(s) {
    const zs = [...s.procs.values()].filter((p) => p.state === "zombie").sort((a, b) => a.pid - b.pid);
    for (const z of zs) {
      const parent = s.procs.get(z.ppid);
      if (parent?.state !== "running" || reaping(s, parent)) continue;
      const handler =
        actionOf(parent, SIG.SIGCHLD) === "handler"
          ? "its SIGCHLD handler did not reap it"
          : "it has no SIGCHLD handler and never waited for it";
      const more = zs.filter((x) => x.ppid === z.ppid && x.pid !== z.pid).length;
      return {
        message: `pid ${z.pid} exited${z.exitSeq !== undefined ? ` at seq ${z.exitSeq}` : ""} and is still a zombie at the end of the run: its parent pid ${parent.pid} runs on and never reaped it (${handler})${more > 0 ? `; ${more} more zombie${more === 1 ? "" : "s"} of pid ${parent.pid}` : ""}`,
        causes: sorted([
          { seq: z.createdSeq, why: `pid ${parent.pid} created pid ${z.pid}` },
          { seq: z.exitSeq ?? -1, why: `pid ${z.pid} exited: a zombie until its parent reaps it` },
        ]),
      };
    }
    return null;
  },
};
