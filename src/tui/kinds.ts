// Event kinds as the replay UI shows them. Each kind belongs to one class
// (scheduling, processes and threads, fork/exec, locks, memory, faults, routine
// work, other), and the class gives its colour: in the event list, on the
// timeline (the class that dominates a cell) and in the legend of `?`. One
// table; a kind the table does not name (a newer kernel's) is `other`.

import { EVENT_KINDS, KIND } from "../kernel/types.ts";
import { MISSING_KIND } from "./frame.ts";

export interface KindClass {
  readonly name: string;
  /** For the legend: what the class holds. */
  readonly label: string;
  /** For the legend, in a word or two. */
  readonly short: string;
  /** Ink colour name; undefined: the terminal's default. */
  readonly color: string | undefined;
  /** Drawn dim in the event list, and not counted as activity on the timeline. */
  readonly routine: boolean;
  readonly kinds: readonly number[];
}

export const KIND_CLASSES: readonly KindClass[] = [
  {
    name: "routine",
    short: "routine work",
    label: "routine work: user steps, kernel work, malloc, free; events of a real trace kept as text",
    color: undefined,
    routine: true,
    kinds: [KIND.user, KIND.kwork, KIND.malloc, KIND.free, KIND.generic],
  },
  {
    name: "sched",
    short: "switches",
    label: "scheduling: context switches, wakeups, priorities; in real traces also task states, migrations, interrupts",
    color: "blue",
    routine: false,
    kinds: [KIND.switch, KIND.wake, KIND.schedSet, KIND.threadState, KIND.migrate, KIND.cpuCtx],
  },
  {
    name: "proc",
    short: "processes",
    label: "processes and threads: create, exit, wait, reap",
    color: "cyan",
    routine: false,
    kinds: [
      KIND.procNew,
      KIND.threadNew,
      KIND.threadExit,
      KIND.threadRelease,
      KIND.procExit,
      KIND.reparent,
      KIND.reap,
      KIND.waitBlock,
      KIND.exitGroup,
      KIND.taskNew,
      KIND.taskJoin,
      KIND.taskRename,
    ],
  },
  {
    name: "fork",
    short: "fork/exec",
    label: "fork, spawn, exec",
    color: "magenta",
    routine: false,
    kinds: [KIND.fork, KIND.spawn, KIND.exec, KIND.taskFork, KIND.taskExec],
  },
  {
    name: "lock",
    short: "locks/waits",
    label: "locks and waits: locks, futexes (condvars, semaphores), sleeps, joins, pause",
    color: "yellow",
    routine: false,
    kinds: [
      KIND.lockNew,
      KIND.lockAcquire,
      KIND.lockWait,
      KIND.lockRelease,
      KIND.lockRestamp,
      KIND.lockRobust,
      KIND.lockWaitEnd,
      KIND.futexWait,
      KIND.futexWake,
      KIND.sleep,
      KIND.joinWait,
      KIND.join,
      KIND.detach,
      KIND.pause,
    ],
  },
  {
    name: "memory",
    short: "kstacks/VMARs/procfs",
    label: "kernel stacks, VMARs, procfs",
    color: "green",
    routine: false,
    kinds: [KIND.kstackAlloc, KIND.kstackFree, KIND.vmarClear, KIND.procfsOpen, KIND.procfsRead],
  },
  {
    name: "fault",
    short: "faults",
    label: "faults and failures: bad unlock, TLB flush, page fault, fatal, panic, hang; events a tracer lost",
    color: "red",
    routine: false,
    kinds: [KIND.unlockNotOwner, KIND.tlbFlush, KIND.pageFault, KIND.fatal, KIND.panic, KIND.hang, KIND.lost],
  },
  {
    name: "signal",
    short: "signals",
    label: "signals: sent, delivered, handlers, actions, masks",
    color: "magentaBright",
    routine: false,
    kinds: [
      KIND.signal,
      KIND.sigaction,
      KIND.sigmask,
      KIND.signalDeliver,
      KIND.sigreturn,
      KIND.sigwait,
      KIND.pdeathsig,
    ],
  },
  {
    name: "fd",
    short: "pipes/fds",
    label: "file descriptors and pipes: open, close, write, read, wait",
    color: "greenBright",
    routine: false,
    kinds: [KIND.pipeNew, KIND.fdOpen, KIND.fdClose, KIND.fdFlags, KIND.pipeWrite, KIND.pipeRead, KIND.pipeWait],
  },
  {
    name: "other",
    short: "other",
    label: "anything else (thread caches, errno returns, the end of the run)",
    color: undefined,
    routine: false,
    kinds: [],
  },
];

/** Index of the `other` class (the last): kinds no class names. */
export const OTHER_CLASS = KIND_CLASSES.length - 1;
/** Index of the `fault` class. */
export const FAULT_CLASS = KIND_CLASSES.findIndex((c) => c.name === "fault");

/** Kind code -> class index, for every kind the kernel knows (see DensityScan's classOf). */
export const CLASS_OF: Uint8Array = (() => {
  const m = new Uint8Array(EVENT_KINDS.length).fill(OTHER_CLASS);
  KIND_CLASSES.forEach((c, i) => {
    for (const k of c.kinds) m[k] = i;
  });
  return m;
})();

/** The class of an event kind. */
export function kindClass(kind: number): KindClass {
  return KIND_CLASSES[CLASS_OF[kind] ?? OTHER_CLASS]!;
}

/** The colour of an event kind in the event list (Ink colour names); a missing event's row (a damaged trace) is yellow, as its gap on the timeline. */
export function kindColor(kind: number): string | undefined {
  return kind === MISSING_KIND ? "yellow" : kindClass(kind).color;
}

/** Kinds drawn dim (routine work that would drown the interesting events). */
export function kindDim(kind: number): boolean {
  return kindClass(kind).routine;
}
