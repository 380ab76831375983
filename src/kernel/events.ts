// Events by name: typed constructors and typed readers over KEvent's compact
// a/b/c/s slots.
//
// EVENT_KINDS (types.ts) is the one definition of each kind's fields. The
// constructors below take the fields by name (`ev.lockAcquire({ lock, level })`)
// and put them in the slots the table gives; their parameter types are derived
// from the table (EventFields), so a wrong or missing field name does not
// compile, and test/kernel-events.test.ts checks every constructor against the
// table slot by slot. `fieldsOf` reads any event back as named fields.
//
// A constructed event has seq 0, time 0, cpu -1 and tid -1: the simulator's
// emit() fills those in.

import { EVENT_KINDS, type EventFields, type KEvent, KIND, type KindName } from "./types.ts";

function mk(kind: number, a = 0, b = 0, c = 0, s = ""): KEvent {
  return { seq: 0, time: 0, cpu: -1, tid: -1, kind, a, b, c, s };
}

type F<N extends KindName> = EventFields<N>;

/** One constructor per event kind, named in camelCase (as KIND). */
export const ev = {
  // The simulator's switches leave `state` 0 (its rule); imported ones give prev's state.
  switch: (f: Omit<F<"switch">, "state"> & { state?: number }) => mk(KIND.switch, f.from, f.to, f.state ?? 0),
  user: (f: F<"user">) => mk(KIND.user, 0, 0, 0, f.label),
  kwork: (f: F<"kwork">) => mk(KIND.kwork, 0, 0, 0, f.label),
  procNew: (f: F<"proc-new">) => mk(KIND.procNew, f.pid, f.ppid, 0, f.name),
  threadNew: (f: F<"thread-new">) => mk(KIND.threadNew, f.tid, f.pid, f.ident),
  fork: (f: F<"fork">) => mk(KIND.fork, f.pid, f.child, f.childTid),
  spawn: (f: F<"spawn">) => mk(KIND.spawn, f.pid, f.child, f.childTid, f.program),
  exec: (f: F<"exec">) => mk(KIND.exec, f.pid, 0, 0, f.program),
  threadExit: (f: F<"thread-exit">) => mk(KIND.threadExit, f.tid, f.code),
  threadRelease: (f: F<"thread-release">) => mk(KIND.threadRelease, f.tid),
  procExit: (f: F<"proc-exit">) => mk(KIND.procExit, f.pid, f.code),
  reparent: (f: F<"reparent">) => mk(KIND.reparent, f.pid, f.to),
  vmarClear: (f: F<"vmar-clear">) => mk(KIND.vmarClear, f.pid),
  reap: (f: F<"reap">) => mk(KIND.reap, f.pid),
  waitBlock: (f: F<"wait-block">) => mk(KIND.waitBlock, f.pid),
  lockNew: (f: F<"lock-new">) => mk(KIND.lockNew, f.lock, f.space, f.type, f.name),
  lockAcquire: (f: Omit<F<"lock-acquire">, "inferred"> & { inferred?: number }) =>
    mk(KIND.lockAcquire, f.lock, f.level, f.inferred ?? 0),
  lockWait: (f: F<"lock-wait">) => mk(KIND.lockWait, f.lock, f.spin),
  lockRelease: (f: F<"lock-release">) => mk(KIND.lockRelease, f.lock, f.level),
  unlockNotOwner: (f: F<"unlock-not-owner">) => mk(KIND.unlockNotOwner, f.lock, f.owner, f.ident),
  lockRestamp: (f: F<"lock-restamp">) => mk(KIND.lockRestamp, f.lock, f.ident),
  malloc: (f: F<"malloc">) => mk(KIND.malloc, f.size, f.path),
  free: (f: F<"free">) => mk(KIND.free, f.size),
  tcacheNew: (f: F<"tcache-new">) => mk(KIND.tcacheNew, f.pid),
  kstackAlloc: (f: F<"kstack-alloc">) => mk(KIND.kstackAlloc, f.kstack, f.tid),
  kstackFree: (f: F<"kstack-free">) => mk(KIND.kstackFree, f.kstack),
  tlbFlush: () => mk(KIND.tlbFlush),
  pageFault: (f: F<"page-fault">) => mk(KIND.pageFault, f.kstack),
  procfsOpen: (f: F<"procfs-open">) => mk(KIND.procfsOpen, f.pid, f.pin, 0, f.path),
  procfsRead: (f: F<"procfs-read">) => mk(KIND.procfsRead, f.pid, f.rss),
  fatal: (f: F<"fatal">) => mk(KIND.fatal, f.pid, f.signal, 0, f.message),
  panic: (f: F<"panic">) => mk(KIND.panic, 0, 0, 0, f.message),
  hang: (f: F<"hang">) => mk(KIND.hang, 0, 0, 0, f.message),
  // The end event has carried its outcome message in s since format 1.0, but
  // the kind table has no string slot for it (the writer stores it as a "full"
  // event); the table keeps that shape so recorded bytes do not change.
  end: (f: Omit<F<"end">, "progress"> & { progress?: number; message: string }) =>
    mk(KIND.end, f.outcome, f.progress ?? 0, 0, f.message),
  exitGroup: (f: F<"exit-group">) => mk(KIND.exitGroup, f.pid, f.code, 0, f.label),
  varNew: (f: F<"var-new">) => mk(KIND.varNew, f.var, f.space, f.value, f.decl),
  load: (f: F<"load">) => mk(KIND.load, f.var, f.value, 0, f.reg),
  store: (f: F<"store">) => mk(KIND.store, f.var, f.old, f.new),
  atomicLoad: (f: F<"atomic-load">) => mk(KIND.atomicLoad, f.var, f.value, 0, f.reg),
  atomicStore: (f: F<"atomic-store">) => mk(KIND.atomicStore, f.var, f.old, f.new),
  cas: (f: F<"cas">) => mk(KIND.cas, f.var, f.old, f.new, f.reg),
  fetchAdd: (f: F<"fetch-add">) => mk(KIND.fetchAdd, f.var, f.old, f.new, f.reg),
  xchg: (f: F<"xchg">) => mk(KIND.xchg, f.var, f.old, f.new, f.reg),
  regSet: (f: F<"reg-set">) => mk(KIND.regSet, f.value, f.type, 0, f.reg),
  objNew: (f: F<"obj-new">) => mk(KIND.objNew, f.obj, f.space, 0, f.name),
  objFree: (f: F<"obj-free">) => mk(KIND.objFree, f.obj, f.double),
  objUse: (f: F<"obj-use">) => mk(KIND.objUse, f.obj, f.freed, 0, f.label),
  assertFail: (f: F<"assert-fail">) => mk(KIND.assertFail, f.kernel, 0, 0, f.message),
  progress: (f: F<"progress">) => mk(KIND.progress, 0, 0, 0, f.label),
  lockMisuse: (f: F<"lock-misuse">) => mk(KIND.lockMisuse, f.lock, f.what, f.errno),
  procfsClose: (f: F<"procfs-close">) => mk(KIND.procfsClose, f.pid),
  taskNew: (f: F<"task-new">) => mk(KIND.taskNew, f.tid, f.pid, f.ppid, f.comm),
  taskFork: (f: F<"task-fork">) => mk(KIND.taskFork, f.tid, f.pid, f.thread, f.comm),
  threadState: (f: F<"thread-state">) => mk(KIND.threadState, f.tid, f.state),
  migrate: (f: F<"migrate">) => mk(KIND.migrate, f.tid, f.from, f.to),
  cpuCtx: (f: F<"cpu-ctx">) => mk(KIND.cpuCtx, f.ctx, f.enter, f.num, f.name),
  taskJoin: (f: F<"task-join">) => mk(KIND.taskJoin, f.tid, f.pid),
  taskRename: (f: F<"task-rename">) => mk(KIND.taskRename, f.tid, 0, 0, f.comm),
  taskExec: (f: F<"task-exec">) => mk(KIND.taskExec, f.tid, f.oldTid, 0, f.filename),
  lockWaitEnd: (f: F<"lock-wait-end">) => mk(KIND.lockWaitEnd, f.lock, f.ret),
  lost: (f: F<"lost">) => mk(KIND.lost, f.count),
  generic: (f: F<"generic">) => mk(KIND.generic, 0, 0, 0, f.text),
  wake: (f: F<"wake">) => mk(KIND.wake, f.tid, f.by, f.how, f.context),
  futexWait: (f: F<"futex-wait">) => mk(KIND.futexWait, f.var, f.value, f.until),
  futexWake: (f: F<"futex-wake">) => mk(KIND.futexWake, f.var, f.n, f.woken),
  sleep: (f: F<"sleep">) => mk(KIND.sleep, f.until),
  errno: (f: F<"errno">) => mk(KIND.errno, f.errno, f.obj, 0, f.call),
  joinWait: (f: F<"join-wait">) => mk(KIND.joinWait, f.tid),
  join: (f: F<"join">) => mk(KIND.join, f.tid, f.code),
  detach: (f: F<"detach">) => mk(KIND.detach, f.tid),
  signal: (f: F<"signal">) => mk(KIND.signal, f.pid, f.sig, f.tid),
  sigaction: (f: F<"sigaction">) => mk(KIND.sigaction, f.sig, f.action, 0, f.handler),
  sigmask: (f: F<"sigmask">) => mk(KIND.sigmask, f.mask),
  signalDeliver: (f: F<"signal-deliver">) => mk(KIND.signalDeliver, f.sig, f.action, f.sent),
  sigreturn: (f: F<"sigreturn">) => mk(KIND.sigreturn, f.sig),
  pause: () => mk(KIND.pause),
  pipeNew: (f: F<"pipe-new">) => mk(KIND.pipeNew, f.pipe, f.cap),
  fdOpen: (f: F<"fd-open">) => mk(KIND.fdOpen, f.fd, f.pipe, f.flags),
  fdClose: (f: F<"fd-close">) => mk(KIND.fdClose, f.fd, f.pipe),
  fdFlags: (f: F<"fd-flags">) => mk(KIND.fdFlags, f.fd, f.cloexec),
  pipeWrite: (f: F<"pipe-write">) => mk(KIND.pipeWrite, f.pipe, f.n, f.used),
  pipeRead: (f: F<"pipe-read">) => mk(KIND.pipeRead, f.pipe, f.n, f.used),
  pipeWait: (f: F<"pipe-wait">) => mk(KIND.pipeWait, f.pipe, f.write, f.need),
  schedSet: (f: F<"sched-set">) => mk(KIND.schedSet, f.tid, f.prio, f.policy),
  storeCommit: (f: F<"store-commit">) => mk(KIND.storeCommit, f.var, f.old, f.new),
  fence: (f: F<"fence">) => mk(KIND.fence, f.store),
  lockRobust: (f: F<"lock-robust">) => mk(KIND.lockRobust, f.lock, f.state, f.tid),
  sigwait: (f: F<"sigwait">) => mk(KIND.sigwait, f.mask, f.until),
  pdeathsig: (f: F<"pdeathsig">) => mk(KIND.pdeathsig, f.sig),
} as const satisfies { [K in keyof typeof KIND]: (f: never) => KEvent };

/**
 * The named fields of an event, from the kind table: `{ lock: 3, level: 1 }`
 * for a lock-acquire. An unknown kind (a newer trace) gives its raw slots
 * `{ a, b, c, s }`.
 */
export function fieldsOf(e: KEvent): Record<string, number | string> {
  const info = EVENT_KINDS[e.kind];
  const out: Record<string, number | string> = {};
  if (!info) {
    out.a = e.a;
    out.b = e.b;
    out.c = e.c;
    if (e.s) out.s = e.s;
    return out;
  }
  const slots = [e.a, e.b, e.c];
  for (let i = 0; i < info.args.length; i++) out[info.args[i]!] = slots[i]!;
  if (info.str !== undefined) out[info.str] = e.s;
  return out;
}

/**
 * The named fields of `e` typed as kind N, or null when `e` is of another
 * kind: `fieldsAs(e, "lock-acquire")?.lock`.
 */
export function fieldsAs<N extends KindName>(e: KEvent, name: N): EventFields<N> | null {
  return EVENT_KINDS[e.kind]?.name === name ? (fieldsOf(e) as EventFields<N>) : null;
}

function globToRegExp(glob: string): RegExp {
  // `lock.*` (regex style) reads as the glob `lock*`.
  const g = glob.replace(/\.\*/g, "*");
  const body = g
    .replace(/[\\^$+.()|{}[\]]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^(?:${body})$`);
}

/**
 * Kind codes matching a pattern: a comma list of kind names or globs
 * (`lock-*`, `fork,spawn,exec`, `*exit*`; `lock.*` works too). Null when the
 * pattern is empty or a part of it matches no kind (its text is then in
 * `unmatched`).
 */
export function kindsMatching(pattern: string, unmatched?: { part: string }): number[] | null {
  const parts = pattern
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  if (parts.length === 0 || pattern.length > 1000) return null;
  const out = new Set<number>();
  for (const part of parts) {
    const re = globToRegExp(part);
    let hit = false;
    EVENT_KINDS.forEach((k, i) => {
      if (re.test(k.name)) {
        out.add(i);
        hit = true;
      }
    });
    if (!hit) {
      if (unmatched) unmatched.part = part;
      return null;
    }
  }
  return [...out].sort((a, b) => a - b);
}
