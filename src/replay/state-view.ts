// The kernel state as plain JSON (`ktrace state --json`, the TUI) and as
// aligned text tables.

import { ownerAlive } from "../kernel/locks.ts";
import { baseRank, prioText, rank } from "../kernel/prio.ts";
import {
  isImportedState,
  type KState,
  type Outcome,
  type PendingSignal,
  type Pipe,
  sigActionText,
  sigName,
  type Thread,
  wakeHowName,
} from "../kernel/types.ts";
import { waitText } from "../kernel/wait.ts";
import { table } from "../util/text-table.ts";
import { spaceShort, spaceText, valueText, WMB } from "./describe.ts";

export interface CpuView {
  id: number;
  tid: number;
  kstack: number;
  /** Imported traces: interrupt contexts the cpu is in, innermost last ("hardirq 19 eth0", "softirq NET_RX"). */
  ctx?: string[];
  /** Imported traces: false while what the cpu runs is not known (before its first switch, after lost events). */
  known?: boolean;
}

export interface ProcessView {
  pid: number;
  ppid: number;
  state: string;
  /** Root VMAR id, null once exit cleared it. */
  vmar: number | null;
  name: string;
  threads: number[];
  vmarClearedSeq: number;
  exitCode: number | null;
  createdSeq: number;
  exitingSeq: number;
  /** Open file descriptors. */
  fds: FdView[];
  /** Signal actions other than the default, and signals pending on the process. */
  sigActions: { sig: string; action: string }[];
  sigPending: PendingView[];
  /** seq of the reparent that handed it to init, -1 if none. */
  adoptedSeq: number;
}

export interface ThreadView {
  tid: number;
  pid: number;
  state: string;
  ident: number;
  kstack: number;
  /** Lock it blocks or spins on, -1 when none. */
  waitLock: number;
  /** Child it waits for in waitpid (-1 any), -2 when not waiting. */
  waitPid: number;
  /** Registers, by name ($x: the value of variable x an op loaded for its expression). */
  regs: RegView[];
  /** Imported traces: the task's command name, and the cpu it last ran on (absent when not known). */
  comm?: string;
  cpu?: number;
  /** What it waits on besides a lock or a child (absent when nothing): a futex word, a sleep, a join, a pipe, a signal. */
  waitOn?: { what: string; id: number; since: number; until: number; text: string };
  /** Its last wakeup: who woke it (-1: the kernel, a timer), at which event, how (WAKE_HOW's name). */
  woken?: { by: number; seq: number; how: string };
  /** Scheduling: class, base priority, and the priority it runs at (boosted by inheritance, when so). */
  sched: { policy: string; prio: number; text: string; boosted: boolean };
  /** Signals it blocks, signals pending for it, handlers running on it (innermost last). */
  signals?: {
    blocked: string[];
    pending: PendingView[];
    handling: { sig: string; sent: number; at: number; by: number }[];
    /** prctl(PR_SET_PDEATHSIG): the signal its process gets when the thread that forked it exits (absent: none). */
    pdeath?: string;
  };
  /** tso, pso: the stores in its store buffer, oldest first, not yet in memory (absent: none); wmb: a store barrier (smp_wmb) follows it (pso). */
  stores?: { var: number; name: string; value: number; seq: number; wmb?: true }[];
}

export interface PendingView {
  sig: string;
  /** seq of the signal event, and its sender (-1: the kernel). */
  seq: number;
  by: number;
}

/** A futex word and what is built on it (condvar, semaphore, rwlock). */
export interface SyncView {
  var: number;
  name: string;
  kind: string;
  space: number;
  value: number;
  /** The value as the object reads: "seq 3", "count 2", "2 readers", "a writer", "free". */
  text: string;
  /** Threads blocked on the word, in the order they queued. */
  waiters: number[];
  /** The last futex-wake on it: seq, how many it woke, by whom (absent: none). */
  lastWake?: { seq: number; woken: number; by: number };
}

export interface FdView {
  fd: number;
  pipe: number;
  end: "read" | "write";
  cloexec: boolean;
  /** The event that put it in this process's table (pipe, dup, or the fork/spawn it came with). */
  seq: number;
}

export interface PipeView {
  id: number;
  cap: number;
  used: number;
  /** Open descriptors on each end, in every process. */
  readers: number;
  writers: number;
  /** Who holds each end: pid and its descriptors. */
  holders: { pid: number; fds: number[]; end: "read" | "write" }[];
  /** Threads blocked reading it (empty) or writing it (full). */
  waiting: { tid: number; to: "read" | "write" }[];
  createdSeq: number;
  /** seq of the close of its last write end (readers see EOF since), -1 while one is open. */
  wclosedSeq: number;
}

export interface RegView {
  name: string;
  type: string;
  value: number;
  /** The value as written in a program: an int, None, or &name#id. */
  text: string;
}

export interface VarView {
  id: number;
  name: string;
  type: string;
  /** 0 = kernel, p > 0 = pid p's user memory, -p = pid p's kernel struct. */
  space: number;
  value: number;
  text: string;
  /** seq of the last write (why-query), and its writer (-1: the initial value). */
  since: number;
  writer: number;
  /** seq of the fork that copied it here, -1 if not a copy. */
  copiedSeq: number;
  /** What the word is used as (condvar, semaphore, rwlock, futex), absent for a plain variable. */
  sync?: string;
}

export interface ObjectView {
  id: number;
  name: string;
  space: number;
  state: string;
  allocSeq: number;
  freeSeq: number;
}

export interface LockView {
  id: number;
  name: string;
  /** 0 for the kernel, else the pid whose memory holds it. */
  space: number;
  type: string;
  /** tid of the holder, -1 when free. */
  owner: number;
  ident: number;
  level: number;
  /** seq of the event that last set the owner (why-query), -1 never. */
  ownerSince: number;
  /** Whether the owner is a live thread of the lock's space; null when free. */
  ownerAlive: boolean | null;
  /** seq of the fork that copied it here, -1 if not a copy. */
  copiedSeq: number;
  /** Threads blocked or spinning on it. */
  waiters: number[];
  /** A robust mutex's state (consistent, owner-died, inconsistent, not-recoverable); absent when it is not robust. */
  robust?: string;
}

export interface KstackView {
  id: number;
  tid: number;
  state: string;
  allocSeq: number;
  freeSeq: number;
  /** CPU running on it now, null when none. */
  runningOn: number | null;
  flushed: boolean;
}

export interface VmarView {
  pid: number;
  vmar: number | null;
  state: "live" | "cleared";
  clearedSeq: number;
  /** Kernel lock guarding it. */
  lock: number;
}

export interface StateView {
  seq: number;
  time: number;
  outcome: Outcome | null;
  cpus: CpuView[];
  processes: ProcessView[];
  threads: ThreadView[];
  locks: LockView[];
  kstacks: KstackView[];
  vmars: VmarView[];
  vars: VarView[];
  objects: ObjectView[];
  /** Futex words in use: condvars, semaphores, rwlocks, and plain words with waiters. */
  sync: SyncView[];
  pipes: PipeView[];
}

export { isImportedState };

const byKey =
  <T>(key: (x: T) => number) =>
  (a: T, b: T) =>
    key(a) - key(b);

/** The state as JSON-ready data, every table sorted by id. */
export function stateView(s: KState): StateView {
  const waiters = new Map<number, number[]>();
  const imported = isImportedState(s);
  for (const t of s.threads.values()) {
    // In an imported trace a wait lasts until the lock is taken or the wait ends, whatever the thread's state.
    if (t.waitLock < 0 || (!imported && t.state !== "blocked" && t.state !== "spinning")) continue;
    const w = waiters.get(t.waitLock);
    if (w) w.push(t.tid);
    else waiters.set(t.waitLock, [t.tid]);
  }
  const procs = [...s.procs.values()].sort(byKey((p) => p.pid));
  return {
    seq: s.seq,
    time: s.time,
    outcome: s.outcome ? { ...s.outcome } : null,
    cpus: s.cpus.map((c) => {
      const v: CpuView = { id: c.id, tid: c.tid, kstack: c.kstack };
      if (imported) {
        v.known = c.switchSeq !== undefined;
        v.ctx = (c.ctx ?? []).map(
          (x) => `${x.kind} ${x.kind === "hardirq" ? `${x.num}${x.name ? ` ${x.name}` : ""}` : x.name || x.num}`,
        );
      }
      return v;
    }),
    processes: procs.map((p) => ({
      pid: p.pid,
      ppid: p.ppid,
      state: p.state,
      vmar: p.vmar,
      name: p.name,
      threads: [...p.threads],
      vmarClearedSeq: p.vmarClearedSeq,
      exitCode: p.exitCode,
      createdSeq: p.createdSeq,
      exitingSeq: p.exitingSeq ?? -1,
      fds: (p.fds ?? []).map((f) => ({
        fd: f.fd,
        pipe: f.pipe,
        end: f.write ? ("write" as const) : ("read" as const),
        cloexec: f.cloexec,
        seq: f.seq,
      })),
      sigActions: (p.sigActions ?? []).map(([sig, a]) => ({
        sig: sigName(sig),
        action: sigActionText(a),
      })),
      sigPending: pendingView(p.sigPending),
      adoptedSeq: p.adoptedSeq ?? -1,
    })),
    threads: [...s.threads.values()].sort(byKey((t) => t.tid)).map((t) => ({
      tid: t.tid,
      pid: t.pid,
      state: t.state,
      ident: t.ident,
      kstack: t.kstack,
      waitLock: t.waitLock,
      waitPid: t.waitPid,
      regs: [...(t.regs ?? [])]
        .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
        .map(([name, value]) => {
          const type = s.regTypes.get(name) ?? "int";
          return { name, type, value, text: valueText(s, type, value) };
        }),
      ...threadExtras(s, t),
    })),
    locks: [...s.locks.values()].sort(byKey((l) => l.id)).map((l) => {
      return {
        id: l.id,
        name: l.name,
        space: l.space,
        type: l.type,
        owner: l.owner,
        ident: l.ident,
        level: l.level,
        ownerSince: l.since,
        ownerAlive: ownerAlive(s, l),
        copiedSeq: l.copiedSeq,
        waiters: (waiters.get(l.id) ?? []).sort((a, b) => a - b),
        ...(l.robust !== undefined ? { robust: l.robust } : {}),
      };
    }),
    kstacks: [...s.kstacks.values()].sort(byKey((k) => k.id)).map((k) => {
      const cpu = s.cpus.find((c) => c.kstack === k.id);
      return {
        id: k.id,
        tid: k.tid,
        state: k.state,
        allocSeq: k.allocSeq,
        freeSeq: k.freeSeq,
        runningOn: cpu ? cpu.id : null,
        flushed: k.flushed,
      };
    }),
    // Processes of imported traces have no VMAR modelled (vmarLock -1): none to list.
    vmars: procs
      .filter((p) => p.vmarLock >= 0)
      .map((p) => ({
        pid: p.pid,
        vmar: p.vmar,
        state: p.vmar === null ? ("cleared" as const) : ("live" as const),
        clearedSeq: p.vmarClearedSeq,
        lock: p.vmarLock,
      })),
    vars: [...s.vars.values()].sort(byKey((v) => v.id)).map((v) => ({
      id: v.id,
      name: v.name,
      type: v.type,
      space: v.space,
      value: v.value,
      text: valueText(s, v.type, v.value),
      since: v.since,
      writer: v.writer,
      copiedSeq: v.copiedSeq,
      ...(v.sync !== undefined ? { sync: v.sync } : {}),
    })),
    objects: [...s.objs.values()].sort(byKey((o) => o.id)).map((o) => ({
      id: o.id,
      name: o.name,
      space: o.space,
      state: o.state,
      allocSeq: o.allocSeq,
      freeSeq: o.freeSeq,
    })),
    sync: syncViews(s),
    pipes: [...s.pipes.values()].sort(byKey((p) => p.id)).map((p) => pipeView(s, p)),
  };
}

function pendingView(ps: readonly PendingSignal[] | undefined): PendingView[] {
  return (ps ?? []).map((x) => ({ sig: sigName(x.sig), seq: x.seq, by: x.by }));
}

/** The signals in a mask, by name. */
export function maskNames(mask: number): string[] {
  const out: string[] = [];
  for (let sig = 1; sig <= 31; sig++) if (mask & (1 << (sig - 1))) out.push(sigName(sig));
  return out;
}

/** A thread's issue 11 fields: its wait, last wakeup, scheduling, signals. */
function threadExtras(
  s: KState,
  t: Thread,
): Pick<ThreadView, "comm" | "cpu" | "waitOn" | "woken" | "sched" | "signals" | "stores"> {
  const r = rank(t);
  const out: Pick<ThreadView, "comm" | "cpu" | "waitOn" | "woken" | "sched" | "signals" | "stores"> = {
    sched: { policy: t.policy ?? "other", prio: t.prio ?? 0, text: prioText(t), boosted: r !== baseRank(t) },
  };
  if (t.comm !== undefined) out.comm = t.comm;
  if (t.cpu !== undefined) out.cpu = t.cpu;
  if (t.waitOn !== undefined && t.state === "blocked") out.waitOn = { ...t.waitOn, text: waitText(s, t) };
  if (t.woken !== undefined) out.woken = { by: t.woken.by, seq: t.woken.seq, how: wakeHowName(t.woken.how) };
  if (t.sigMask !== undefined || t.sigPending !== undefined || t.handling !== undefined || t.pdeathSig !== undefined) {
    out.signals = {
      blocked: maskNames(t.sigMask ?? 0),
      pending: pendingView(t.sigPending),
      handling: (t.handling ?? []).map((h) => ({ sig: sigName(h.sig), sent: h.sent, at: h.at, by: h.by })),
    };
    if (t.pdeathSig !== undefined) out.signals.pdeath = sigName(t.pdeathSig);
  }
  if (t.stores !== undefined)
    out.stores = t.stores.map((x) => ({
      var: x.var,
      name: s.vars.get(x.var)?.name ?? `var ${x.var}`,
      value: x.value,
      seq: x.seq,
      ...(x.wmb === true ? { wmb: true as const } : {}),
    }));
  return out;
}

/** What a sync word's value means: "seq 3", "count 2", "2 readers". */
export function syncValue(kind: string | undefined, value: number): string {
  switch (kind) {
    case "condvar":
      return `seq ${value}`;
    case "semaphore":
      return `count ${value}`;
    case "rwlock":
      return value === 0 ? "free" : value < 0 ? "a writer" : `${value} reader${value === 1 ? "" : "s"}`;
    default:
      return String(value);
  }
}

/** Waiters of futex word id, in the order they queued. */
export function futexWaitersOf(s: KState, id: number): number[] {
  return [...s.threads.values()]
    .filter((t) => t.state === "blocked" && t.waitOn?.what === "futex" && t.waitOn.id === id)
    .sort((a, b) => a.waitOn!.since - b.waitOn!.since)
    .map((t) => t.tid);
}

function syncViews(s: KState): SyncView[] {
  const out: SyncView[] = [];
  for (const v of [...s.vars.values()].sort(byKey((x) => x.id))) {
    const waiters = futexWaitersOf(s, v.id);
    if (v.sync === undefined && waiters.length === 0 && v.wake === undefined) continue;
    const sv: SyncView = {
      var: v.id,
      name: v.name,
      kind: v.sync ?? "futex",
      space: v.space,
      value: v.value,
      text: syncValue(v.sync, v.value),
      waiters,
    };
    if (v.wake !== undefined) sv.lastWake = { ...v.wake };
    out.push(sv);
  }
  return out;
}

function pipeView(s: KState, p: Pipe): PipeView {
  const holders: PipeView["holders"] = [];
  for (const pr of [...s.procs.values()].sort(byKey((x) => x.pid))) {
    for (const end of ["read", "write"] as const) {
      const fds = (pr.fds ?? []).filter((f) => f.pipe === p.id && f.write === (end === "write")).map((f) => f.fd);
      if (fds.length > 0) holders.push({ pid: pr.pid, fds, end });
    }
  }
  const waiting = [...s.threads.values()]
    .filter(
      (t) =>
        t.state === "blocked" &&
        (t.waitOn?.what === "pipe-read" || t.waitOn?.what === "pipe-write") &&
        t.waitOn.id === p.id,
    )
    .sort(byKey((t) => t.tid))
    .map((t) => ({ tid: t.tid, to: t.waitOn!.what === "pipe-read" ? ("read" as const) : ("write" as const) }));
  return {
    id: p.id,
    cap: p.cap,
    used: p.used,
    readers: p.readers,
    writers: p.writers,
    holders,
    waiting,
    createdSeq: p.createdSeq,
    wclosedSeq: p.wclosedSeq,
  };
}

/** The one text-table helper (cell widths, so CJK and emoji names align); re-exported for the CLI. */
export { table };

const seqText = (n: number) => (n < 0 ? "-" : String(n));
const tidText = (n: number) => (n < 0 ? "-" : String(n));

/** A thread's signals in a cell: "blocks SIGHUP; pending SIGUSR1; in SIGCHLD handler; SIGTERM at parent death". */
function signalsText(x: ThreadView["signals"]): string {
  if (!x) return "-";
  const parts: string[] = [];
  if (x.blocked.length) parts.push(`blocks ${x.blocked.join(",")}`);
  if (x.pending.length) parts.push(`pending ${x.pending.map((p) => p.sig).join(",")}`);
  if (x.handling.length) parts.push(`in ${x.handling.map((h) => h.sig).join(" > ")} handler`);
  if (x.pdeath !== undefined) parts.push(`${x.pdeath} at parent death`);
  return parts.join("; ") || "-";
}

/** The processes table of `state` and `report` (one rule for both): no VMAR column for an imported trace. */
export function processTable(v: StateView, procs: readonly ProcessView[]): { headers: string[]; rows: string[][] } {
  const imported = v.cpus.some((c) => c.known !== undefined);
  const vmarText = (p: ProcessView) =>
    p.vmar !== null ? String(p.vmar) : p.vmarClearedSeq >= 0 ? `None (cleared at ${p.vmarClearedSeq})` : "-";
  return {
    headers: ["pid", "ppid", "state", ...(imported ? [] : ["vmar"]), "name", "threads"],
    rows: procs.map((p) => [
      String(p.pid),
      tidText(p.ppid),
      p.state + (p.exitCode !== null ? ` (${p.exitCode})` : ""),
      ...(imported ? [] : [vmarText(p)]),
      p.name,
      p.threads.join(",") || "-",
    ]),
  };
}

/**
 * The threads table of `state` and `report` (one rule for both): an imported
 * trace's tasks with comm, cpu and who woke each last; a recorded one's with
 * pthread_self (ident) and kernel stack; then scheduling, signals and
 * registers where any thread of the state has them. `threads` is the rows to
 * show (all of v's, or those a report involves); v gives the names.
 */
export function threadTable(v: StateView, threads: readonly ThreadView[]): { headers: string[]; rows: string[][] } {
  const regs = v.threads.some((t) => t.regs.length > 0);
  const comms = v.threads.some((t) => t.comm !== undefined);
  const prios = v.threads.some((t) => t.sched.policy !== "other" || t.sched.boosted);
  const sigs = v.threads.some((t) => t.signals !== undefined);
  const buffers = v.threads.some((t) => t.stores !== undefined);
  const commOf = new Map(v.threads.map((t) => [t.tid, t.comm]));
  const wokenText = (t: ThreadView) => {
    const w = t.woken;
    if (!w) return "-";
    const c = commOf.get(w.by);
    return `${w.by < 0 ? "kernel" : c ? `${c}-${w.by}` : `tid ${w.by}`} (${w.how}, seq ${w.seq})`;
  };
  const heads = comms
    ? ["tid", "comm", "pid", "state", "cpu", "waits on", "woken by"]
    : ["tid", "pid", "state", "ident", "kstack", "waits on"];
  const locks = new Map(v.locks.map((l) => [l.id, l]));
  const rows = threads.map((t) => {
    const lock = t.waitLock >= 0 ? locks.get(t.waitLock) : undefined;
    const wait =
      t.waitLock >= 0
        ? lock
          ? `${lock.name} (lock ${lock.id})`
          : `lock ${t.waitLock}`
        : t.waitOn
          ? t.waitOn.text.replace(/^waits on /, "")
          : t.waitPid >= -1
            ? `waitpid(${t.waitPid})`
            : "-";
    const row: (string | number)[] = comms
      ? [t.tid, t.comm ?? "-", t.pid, t.state, t.cpu === undefined ? "-" : t.cpu, wait, wokenText(t)]
      : [t.tid, t.pid, t.state, t.ident, tidText(t.kstack), wait];
    if (prios) row.push(t.sched.text);
    if (sigs) row.push(signalsText(t.signals));
    if (buffers)
      row.push(t.stores?.map((x) => `${x.name}=${x.value} (seq ${x.seq})${x.wmb ? WMB : ""}`).join(", ") || "-");
    if (regs) row.push(t.regs.map((r) => `${r.name}=${r.text}`).join(" ") || "-");
    return row.map(String);
  });
  return {
    headers: [
      ...heads,
      ...(prios ? ["sched"] : []),
      ...(sigs ? ["signals"] : []),
      ...(buffers ? ["store buffer"] : []),
      ...(regs ? ["registers"] : []),
    ],
    rows,
  };
}

/** The state as text: a heading and one aligned table per kind of object. */
export function stateText(v: StateView): string[] {
  const out: string[] = [];
  const o = v.outcome;
  out.push(`state after event ${v.seq} (time ${v.time} ns)${o ? `; outcome ${o.kind} at seq ${o.seq}` : ""}`);
  const section = (title: string, headers: string[], rows: (string | number)[][]) => {
    out.push("", `${title} (${rows.length})`);
    if (rows.length > 0) out.push(...table(headers, rows).map((l) => `  ${l}`));
  };
  const imported = v.cpus.some((c) => c.known !== undefined);
  if (imported) {
    // An imported trace: what each cpu runs (comm-tid), "?" until known, and its interrupt contexts.
    const comm = new Map(v.threads.map((t) => [t.tid, t.comm]));
    const runs = (c: CpuView) =>
      c.known === false ? "?" : c.tid < 0 ? "idle" : comm.get(c.tid) ? `${comm.get(c.tid)}-${c.tid}` : String(c.tid);
    section(
      "cpus",
      ["cpu", "runs", "in"],
      v.cpus.map((c) => [c.id, runs(c), c.ctx?.length ? c.ctx.join(" > ") : "-"]),
    );
  } else {
    section(
      "cpus",
      ["cpu", "tid", "kstack"],
      v.cpus.map((c) => [c.id, tidText(c.tid), tidText(c.kstack)]),
    );
  }
  const ps = processTable(v, v.processes);
  section("processes", ps.headers, ps.rows);
  const th = threadTable(v, v.threads);
  section("threads", th.headers, th.rows);
  section(
    "locks",
    ["id", "name", "space", "type", "owner", "level", "since", "copied", "waiters"],
    v.locks.map((l) => {
      let owner = "-";
      if (l.owner >= 0)
        owner = `tid ${l.owner}${l.type === "recursive" ? ` (ident ${l.ident})` : ""}${l.ownerAlive ? "" : " DEAD"}`;
      return [
        l.id,
        l.name,
        spaceShort(l.space),
        l.robust !== undefined ? `${l.type} (robust: ${l.robust})` : l.type,
        owner,
        l.level,
        seqText(l.ownerSince),
        seqText(l.copiedSeq),
        l.waiters.join(",") || "-",
      ];
    }),
  );
  if (!imported || v.kstacks.length > 0)
    section(
      "kstacks",
      ["id", "tid", "state", "alloc", "freed", "cpu"],
      v.kstacks.map((k) => [
        k.id,
        k.tid,
        k.state + (k.state === "freed" && k.runningOn !== null ? " IN USE" : ""),
        seqText(k.allocSeq),
        seqText(k.freeSeq),
        k.runningOn === null ? "-" : String(k.runningOn),
      ]),
    );
  if (!imported || v.vmars.length > 0)
    section(
      "vmars",
      ["pid", "vmar", "state", "cleared", "lock"],
      v.vmars.map((m) => [m.pid, m.vmar === null ? "None" : String(m.vmar), m.state, seqText(m.clearedSeq), m.lock]),
    );
  if (v.vars.length > 0) {
    section(
      "vars",
      ["id", "name", "in", "type", "value", "written", "by", "copied"],
      v.vars.map((x) => [
        x.id,
        x.name,
        spaceText(x.space),
        x.type,
        x.text,
        seqText(x.since),
        x.writer < 0 ? "init" : `tid ${x.writer}`,
        seqText(x.copiedSeq),
      ]),
    );
  }
  if (v.sync.length > 0) {
    section(
      "sync (futex words)",
      ["var", "name", "kind", "in", "value", "waiters", "last wake"],
      v.sync.map((x) => [
        x.var,
        x.name,
        x.kind,
        spaceText(x.space),
        x.text,
        x.waiters.join(",") || "-",
        x.lastWake
          ? `seq ${x.lastWake.seq} by tid ${x.lastWake.by}: ${x.lastWake.woken === 0 ? "nobody waited (lost)" : `${x.lastWake.woken} woken`}`
          : "-",
      ]),
    );
  }
  if (v.pipes.length > 0) {
    section(
      "pipes",
      ["pipe", "buffer", "read end in", "write end in", "blocked", "eof since"],
      v.pipes.map((p) => [
        p.id,
        `${p.used}/${p.cap}`,
        p.holders
          .filter((h) => h.end === "read")
          .map((h) => `pid ${h.pid} (fd ${h.fds.join(",")})`)
          .join(", ") || "-",
        p.holders
          .filter((h) => h.end === "write")
          .map((h) => `pid ${h.pid} (fd ${h.fds.join(",")})`)
          .join(", ") || "-",
        p.waiting.map((w) => `tid ${w.tid} (${w.to})`).join(", ") || "-",
        seqText(p.wclosedSeq),
      ]),
    );
  }
  const procSigs = v.processes.filter((p) => p.fds.length > 0 || p.sigActions.length > 0 || p.sigPending.length > 0);
  if (procSigs.length > 0) {
    section(
      "descriptors and signals",
      ["pid", "fds", "signal actions", "pending"],
      procSigs.map((p) => [
        p.pid,
        p.fds.map((f) => `${f.fd}:pipe ${f.pipe} ${f.end}${f.cloexec ? " cloexec" : ""}`).join(", ") || "-",
        p.sigActions.map((a) => `${a.sig} ${a.action}`).join(", ") || "-",
        p.sigPending.map((x) => `${x.sig} (seq ${x.seq})`).join(", ") || "-",
      ]),
    );
  }
  if (v.objects.length > 0) {
    section(
      "objects",
      ["id", "name", "in", "state", "alloc", "freed"],
      v.objects.map((o) => [o.id, o.name, spaceText(o.space), o.state, seqText(o.allocSeq), seqText(o.freeSeq)]),
    );
  }
  return out;
}
