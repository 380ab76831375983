// Trace consistency: invariants a real kernel never breaks, so a trace that
// breaks them is wrong (lost or reordered events, a broken tracer, a hand-edited
// file), and which invariants an imported trace has the data for.
//
// The scheduler's own rules, judged at each switch: a task runs on one cpu at a
// time; a cpu switches away from the task it runs; an exited task never runs
// again. They hold in simulated runs too (the simulator keeps them), so they
// are registered with the built-in invariants and run on every trace. On an
// imported trace a cpu's current task is known only from its first switch on,
// and again after lost events only from the next one (Cpu.switchSeq): until
// then the rules that need it do not judge.
//
// Which built-in invariants an imported trace can be checked against depends
// on what a real trace records (importedApplicability): no kernel stacks,
// address spaces, heap objects, program checks or progress marks; lock owners
// only from lockdep's events.

import { type Cpu, isImportedState, type KEvent, KIND, type KState } from "../kernel/types.ts";
import { taskText } from "./describe.ts";
import type { Cause, Finding, Invariant } from "./invariants.ts";
import type { SourceMeta } from "./source.ts";

/** Whether what cpu c runs is known: always in a simulated run (switch state 0), from the first switch on in an imported one. */
function known(c: Cpu, ev: KEvent): boolean {
  return ev.c === 0 || c.switchSeq !== undefined;
}

/** What a broken rule means in a real trace: the input, not the kernel (said once, after the finding). */
function inputNote(s: KState): string {
  return isImportedState(s)
    ? " (the input is inconsistent here: events lost or reordered, e.g. a tracer's buffer overrun, or an edited file)"
    : "";
}

function switchCause(c: Cpu, tid: number, s: KState): Cause[] {
  return c.switchSeq !== undefined ? [{ seq: c.switchSeq, why: `cpu ${c.id} switched to ${taskText(s, tid)}` }] : [];
}

export const oneCpuAtATime: Invariant = {
  name: "one-cpu-at-a-time",
  doc: "A task runs on one cpu at a time: a switch to a task that another cpu runs (as that cpu's last switch says) breaks it.",
  kinds: [KIND.switch],
  pre(s, ev) {
    if (ev.b < 0) return null;
    for (const c of s.cpus) {
      if (c.id === ev.cpu || c.tid !== ev.b || !known(c, ev)) continue;
      return {
        message: `cpu ${ev.cpu} switches to ${taskText(s, ev.b)}, which cpu ${c.id} runs: a task on two cpus at once${inputNote(s)}`,
        causes: switchCause(c, ev.b, s),
      };
    }
    return null;
  },
};

export const switchFromCurrent: Invariant = {
  name: "switch-from-current",
  doc: "A cpu switches away from the task it runs: a switch on cpu c whose `from` is not the task c's last switch put there breaks it (in an imported trace, a cpu left idle is not judged: real traces miss switches out of idle).",
  kinds: [KIND.switch],
  pre(s, ev) {
    const c = s.cpus[ev.cpu];
    if (c === undefined || !known(c, ev) || c.tid === ev.a) return null;
    // A task found running on a cpu its trace left idle is common in real captures (every one in
    // fixtures/import/real/): the switch out of idle, and the idle balancer's migration, happen in
    // the idle task's context and are sometimes not traced. Not judged: it would flag every real trace.
    if (ev.c !== 0 && c.tid < 0) return null;
    return {
      message: `cpu ${ev.cpu} switches away from ${taskText(s, ev.a)}, but it runs ${taskText(s, c.tid)}${inputNote(s)}`,
      causes: switchCause(c, c.tid, s),
    };
  },
};

export const noRunAfterExit: Invariant = {
  name: "no-run-after-exit",
  doc: "An exited task never runs again: a switch to a thread that has exited breaks it.",
  kinds: [KIND.switch],
  pre(s, ev) {
    const t = ev.b >= 0 ? s.threads.get(ev.b) : undefined;
    if (t === undefined || t.state !== "exited") return null;
    const off = t.offSeq ?? -1;
    return {
      message: `cpu ${ev.cpu} switches to ${taskText(s, ev.b)}, which has exited${inputNote(s)}`,
      causes: off >= 0 ? [{ seq: off, why: `${taskText(s, ev.b)} last left a cpu` }] : [],
    };
  },
};

/** The consistency invariants, in the order they join the built-in ones. */
export const CONSISTENCY_INVARIANTS: readonly Invariant[] = [oneCpuAtATime, switchFromCurrent, noRunAfterExit];

/** Built-in invariants an imported trace has no data for, and why (one line each). */
export const NOT_IN_REAL_TRACES: Readonly<Record<string, string>> = {
  "recursive-mutex-owner": "a real trace does not record the owner ident a recursive mutex stores",
  "kstack-in-use": "a real trace does not record kernel stacks",
  "vmar-live": "a real trace does not record address spaces (VMARs)",
  "lock-misuse":
    "a real trace does not say when a lock is misused (lockdep reports it in the kernel log, not as trace events)",
  "use-after-free": "a real trace does not record heap objects",
  assertions: "a real trace has no program checks",
  "no-livelock": "a real trace has no progress marks",
  "no-panic": "a panic is not a trace event (the trace ends)",
  "data-race": "a real trace does not record memory accesses",
  "signal-safety": "an import keeps signals as generic events (no handlers, masks or pending sets)",
  "priority-inversion": "an import drops task priorities (sched_switch's prio fields)",
  "wakeup-inversion": "an import drops task priorities (sched_switch's prio fields)",
  "zombie-leak": "a real trace ends mid-run (a zombie at its end may still be reaped)",
  "no-starvation": "a real trace has no progress marks",
  "atomic-sleep":
    "a real trace does not say which locks are spinlocks (lockdep's lock_acquire does not; only lock:contention_begin's flags do, for a contended one) nor when a task calls something that may sleep",
};

/** An invariant left out of a check (or, `partly`, judged on part of the events only), and why. */
export interface NotEvaluated {
  invariant: string;
  reason: string;
  partly?: boolean;
}

/**
 * The invariants among `invs` an imported trace (meta.imported set) can be
 * checked against, and those it cannot (with the reason). A recorded trace
 * keeps them all.
 */
export function importedApplicability(
  meta: Pick<SourceMeta, "imported">,
  invs: readonly Invariant[],
): { run: Invariant[]; notEvaluated: NotEvaluated[] } {
  if (!meta.imported) return { run: [...invs], notEvaluated: [] };
  const run: Invariant[] = [];
  const notEvaluated: NotEvaluated[] = [];
  for (const inv of invs) {
    const why = NOT_IN_REAL_TRACES[inv.name];
    if (why === undefined) run.push(inv);
    else notEvaluated.push({ invariant: inv.name, reason: why });
  }
  return { run, notEvaluated };
}

/**
 * Counts, during a check, the lock events that make the lock invariants
 * meaningful on an imported trace: acquisitions (owners known: lockdep) and
 * waits on a lock with no known owner (lock:contention_begin). Passed to the
 * scan beside the invariants; it never reports anything.
 */
export class LockEvidence implements Invariant {
  readonly name = "(lock evidence)";
  readonly doc = "counts lock acquisitions and waits with an unknown owner";
  readonly kinds = [KIND.lockAcquire, KIND.lockWait];
  acquires = 0;
  waits = 0;
  unknownOwner = 0;
  pre(s: KState, ev: KEvent): Finding | null {
    if (ev.kind === KIND.lockAcquire) this.acquires++;
    else {
      this.waits++;
      const l = s.locks.get(ev.a);
      if (l === undefined || l.owner < 0) this.unknownOwner++;
    }
    return null;
  }

  /** What the lock invariants could not judge, for the check's report (empty when they judged every wait). */
  notes(): NotEvaluated[] {
    if (this.waits === 0 && this.acquires === 0) {
      return ["no-deadlock", "lock-owner-alive"].map((invariant) => ({
        invariant,
        reason: "the trace has no lock events (lockdep's lock_acquire/lock_release, or lock:contention_*)",
      }));
    }
    if (this.unknownOwner === 0) return [];
    const of = `${this.unknownOwner} of ${this.waits} lock waits`;
    const why =
      this.acquires === 0
        ? `no event names a lock's owner (lock:contention_begin does not; lockdep's lock_acquire does): ${of} could not be judged`
        : `${of} are on locks whose owner no event named (taken before the trace began, or seen only through lock:contention_begin) and could not be judged`;
    return [{ invariant: "no-deadlock", reason: why, partly: this.unknownOwner < this.waits }];
  }
}
