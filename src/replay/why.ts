// Why queries, in the spirit of Pernosco's dataflow: for an object in the
// state, the events that made it what it is. The kernel state keeps the seqs
// (Lock.since, Lock.copiedSeq, KStack.allocSeq/freeSeq, Proc.vmarClearedSeq,
// Proc.createdSeq); given the source, each comes back with its event and a
// one-line explanation.

import { ownerClause } from "../kernel/locks.ts";
import { pdeathSent } from "../kernel/signal.ts";
import {
  type KEvent,
  KIND,
  type KState,
  type Lock,
  sigName,
  type Thread,
  VAR_WRITE_KINDS,
  type Var,
  wakeHowName,
} from "../kernel/types.ts";
import { waitText } from "../kernel/wait.ts";
import { describe, spaceShort, spaceText, taskText, valueText } from "./describe.ts";
import { eventAt, eventOrNull, type ReplaySource } from "./source.ts";
import { futexWaitersOf, isImportedState, syncValue } from "./state-view.ts";

/** An object of the kernel state: a lock, kernel stack, thread (id = tid), process or its VMAR (id = pid), cpu, variable or heap object. */
export interface ObjectRef {
  readonly kind: "lock" | "kstack" | "thread" | "proc" | "vmar" | "cpu" | "var" | "obj" | "pipe";
  readonly id: number;
}

export interface WhyEntry {
  seq: number;
  /** What the event did to the object: owner, released, copied, owner-died, allocated, freed, created, cleared, exiting. */
  role: string;
  /** One line in kernel terms. */
  explanation: string;
  /** The event itself and its description, when a source was given. */
  event?: KEvent;
  desc?: string;
}

/** A reference that does not parse or names nothing in the state. exitCode 2. */
export class RefError extends Error {
  readonly exitCode = 2;
  readonly hint =
    "objects: lock:ID|NAME|NAME@PID, var:ID|NAME|NAME@PID (futex:, condvar:, semaphore:, rwlock: too), obj:ID, pipe:ID, kstack:ID, vmar:PID, proc:PID, thread:TID, cpu:N";
}

/**
 * Parses `lock:ID`, `lock:NAME`, `lock:NAME@PID`, `kstack:ID`, `vmar:PID`,
 * `proc:PID`, `thread:TID`, `cpu:N`. A lock name is looked up in `state`: when copies
 * exist in several address spaces the one with the lowest id is taken unless
 * @PID says which.
 */
export function parseRef(text: string, state: KState): ObjectRef {
  const i = text.indexOf(":");
  const head = i < 0 ? text : text.slice(0, i);
  const arg = i < 0 ? "" : text.slice(i + 1);
  const num = () => {
    if (!/^[0-9]+$/.test(arg)) throw new RefError(`'${text}': expected a number after '${head}:'`);
    return Number(arg);
  };
  switch (head) {
    case "lock": {
      if (/^[0-9]+$/.test(arg)) return { kind: "lock", id: Number(arg) };
      const at = /^(.*)@([0-9]+)$/.exec(arg);
      const name = at ? at[1]! : arg;
      const space = at ? Number(at[2]) : undefined;
      let best: Lock | undefined;
      for (const l of state.locks.values()) {
        if (l.name !== name || (space !== undefined && l.space !== space)) continue;
        if (!best || l.id < best.id) best = l;
      }
      if (!best) throw new RefError(`no lock named '${arg}' at seq ${state.seq}`);
      return { kind: "lock", id: best.id };
    }
    case "var":
    case "futex":
    case "condvar":
    case "semaphore":
    case "rwlock": {
      if (/^[0-9]+$/.test(arg)) return { kind: "var", id: Number(arg) };
      const at = /^(.*)@(-?[0-9]+)$/.exec(arg);
      const name = at ? at[1]! : arg;
      const space = at ? Number(at[2]) : undefined;
      let best: Var | undefined;
      for (const v of state.vars.values()) {
        if (v.name !== name || (space !== undefined && v.space !== space)) continue;
        if (!best || v.id < best.id) best = v;
      }
      if (!best) throw new RefError(`no variable named '${arg}' at seq ${state.seq}`);
      return { kind: "var", id: best.id };
    }
    case "kstack":
    case "vmar":
    case "cpu":
    case "obj":
    case "pipe":
      return { kind: head, id: num() };
    case "proc":
    case "pid":
      return { kind: "proc", id: num() };
    case "thread":
    case "tid":
      return { kind: "thread", id: num() };
    default:
      throw new RefError(`unknown object '${text}'`);
  }
}

/** One line naming an object as it is in state s: "pipe 2 (0/64 bytes; 1 read end, 0 write ends open)". */
export function objectTitle(s: KState, ref: ObjectRef): string {
  switch (ref.kind) {
    case "cpu": {
      const c = s.cpus[ref.id];
      return `cpu ${ref.id}${c && c.tid >= 0 ? ` running tid ${c.tid}` : " (idle)"}`;
    }
    case "thread": {
      const t = s.threads.get(ref.id);
      if (t?.comm !== undefined)
        return `thread ${t.comm}-${ref.id} (pid ${t.pid}, ${t.state}${t.cpu !== undefined ? `, cpu ${t.cpu}` : ""})`;
      return `thread tid ${ref.id}${t ? ` (pid ${t.pid}, ${t.state}, pthread_self ${t.ident})` : ""}`;
    }
    case "lock": {
      const l = s.locks.get(ref.id);
      if (!l) return `lock ${ref.id}`;
      const owner = l.owner < 0 ? "free" : `owner tid ${l.owner}, level ${l.level}`;
      const robust = l.robust !== undefined ? `, robust: ${l.robust}` : "";
      return `lock ${l.name} (${l.type}${robust}, ${spaceShort(l.space)}; ${owner})`;
    }
    case "kstack": {
      const k = s.kstacks.get(ref.id);
      return `kernel stack ${ref.id}${k ? ` (tid ${k.tid}, ${k.state})` : ""}`;
    }
    case "proc": {
      const p = s.procs.get(ref.id);
      return `process pid ${ref.id}${p ? ` ${p.name} (${p.state}, VMAR ${p.vmar === null ? "None" : p.vmar})` : ""}`;
    }
    case "var": {
      const v = s.vars.get(ref.id);
      if (!v) return `variable ${ref.id}`;
      const waiters = futexWaitersOf(s, v.id);
      if (v.sync === undefined && waiters.length === 0)
        return `variable ${v.name} (${v.type}, ${spaceText(v.space)}) = ${valueText(s, v.type, v.value)}`;
      return `${v.sync ?? "futex"} ${v.name} (${syncValue(v.sync, v.value)}; waiters ${waiters.join(", ") || "none"})`;
    }
    case "vmar": {
      const p = s.procs.get(ref.id);
      return `VMAR of pid ${ref.id}${p ? ` (${p.vmar === null ? "cleared: None" : `root ${p.vmar}`})` : ""}`;
    }
    case "obj": {
      const o = s.objs.get(ref.id);
      return `object ${o ? `${o.name}#${o.id} (${spaceText(o.space)}, ${o.state})` : ref.id}`;
    }
    case "pipe": {
      const p = s.pipes.get(ref.id);
      return `pipe ${ref.id}${p ? ` (${p.used}/${p.cap} bytes; ${p.readers} read end${p.readers === 1 ? "" : "s"}, ${p.writers} write end${p.writers === 1 ? "" : "s"} open)` : ""}`;
    }
  }
}

function lockWhy(s: KState, l: Lock, src?: ReplaySource): WhyEntry[] {
  const out: WhyEntry[] = [];
  const where = spaceText(l.space);
  if (l.since >= 0) {
    const ev = src && l.since < src.eventCount ? eventAt(src, l.since) : undefined;
    if (l.owner >= 0) {
      let how = `tid ${l.owner} took ${l.name}`;
      if (ev?.kind === KIND.lockRestamp) how = `tid ${ev.tid} re-stamped ${l.name}'s owner ident to ${ev.b}`;
      else if (ev && ev.kind === KIND.lockAcquire && ev.tid !== l.owner)
        how = `tid ${ev.tid} took ${l.name} (the fork child's thread tid ${l.owner} inherited it)`;
      const before =
        l.copiedSeq >= 0 && l.since < l.copiedSeq
          ? `, in the parent before the fork at seq ${l.copiedSeq} copied it`
          : "";
      out.push({ seq: l.since, role: "owner", explanation: `${how}${before} (owner since seq ${l.since})` });
    } else {
      out.push({ seq: l.since, role: "released", explanation: `${l.name} released; free since seq ${l.since}` });
    }
  }
  if (l.copiedSeq >= 0) {
    let held = "free";
    if (l.owner >= 0) held = `held by tid ${l.owner}${ownerClause(s, l)}`;
    out.push({ seq: l.copiedSeq, role: "copied", explanation: `fork copied ${l.name} into ${where}, ${held}` });
  }
  if (l.robust !== undefined && l.robust !== "consistent" && l.diedSeq !== undefined) {
    const died = src && l.diedSeq < src.eventCount ? eventAt(src, l.diedSeq) : undefined;
    const who = died?.kind === KIND.lockRobust ? `tid ${died.c}` : "its owner";
    const now =
      l.robust === "owner-died"
        ? "the next lock returns EOWNERDEAD"
        : l.robust === "inconsistent"
          ? `tid ${l.owner} took it with EOWNERDEAD and has not called pthread_mutex_consistent`
          : "it was unlocked while inconsistent: not recoverable, every lock fails with ENOTRECOVERABLE";
    out.push({
      seq: l.diedSeq,
      role: "owner-died",
      explanation: `${who} died holding robust ${l.name}; ${now}`,
    });
  }
  return out;
}

/** A variable: its creation (or the fork that copied it), and its last write: who wrote what. */
function varWhy(s: KState, v: Var, src?: ReplaySource): WhyEntry[] {
  const out: WhyEntry[] = [];
  const where = spaceText(v.space);
  const val = (x: number) => valueText(s, v.type, x);
  if (v.copiedSeq >= 0)
    out.push({ seq: v.copiedSeq, role: "copied", explanation: `fork copied ${v.name} into ${where}` });
  if (v.writer < 0) {
    if (v.copiedSeq < 0)
      out.push({
        seq: v.since,
        role: "created",
        explanation: `${v.name} created in ${where} = ${val(v.value)}; never written since`,
      });
    return out;
  }
  const ev = src && v.since < src.eventCount ? eventAt(src, v.since) : undefined;
  const how =
    ev && VAR_WRITE_KINDS.includes(ev.kind)
      ? ` (${val(ev.b)} → ${val(ev.c)}${ev.kind === KIND.store ? ", a plain store" : ev.kind === KIND.storeCommit ? ", its buffered store reaching memory (tso)" : ", atomically"})`
      : "";
  const copied =
    v.copiedSeq >= 0 && v.since < v.copiedSeq ? `, in the parent before the fork at seq ${v.copiedSeq} copied it` : "";
  out.push({
    seq: v.since,
    role: "written",
    explanation: `tid ${v.writer} last wrote ${v.name}${how}${copied}; it holds ${val(v.value)}`,
  });
  return out;
}

/** A futex word's waits and wakes: who waits on it since when, and its last wake (a lost one says so). */
function futexWhy(s: KState, v: Var): WhyEntry[] {
  const out: WhyEntry[] = [];
  const what = `${v.sync ?? "futex"} ${v.name}`;
  if (v.wake !== undefined) {
    const lost = v.wake.woken === 0;
    out.push({
      seq: v.wake.seq,
      role: lost ? "lost-wake" : "woke",
      explanation: lost
        ? `tid ${v.wake.by} woke ${what} when no thread waited on it: nobody received that wakeup`
        : `tid ${v.wake.by} woke ${v.wake.woken} waiter${v.wake.woken === 1 ? "" : "s"} of ${what}`,
    });
  }
  for (const t of s.threads.values()) {
    if (t.state !== "blocked" || t.waitOn?.what !== "futex" || t.waitOn.id !== v.id) continue;
    out.push({
      seq: t.waitOn.since,
      role: "waiter",
      explanation: `tid ${t.tid} waits on ${what} (since seq ${t.waitOn.since}${t.waitOn.until >= 0 ? ", timed" : ""})`,
    });
  }
  return out;
}

/** A pipe: its creation, who holds each end (and how the descriptor got there), its last write and read, the close of its last write end. */
function pipeWhy(s: KState, id: number): WhyEntry[] {
  const p = s.pipes.get(id);
  if (!p) throw new RefError(`no pipe ${id} at seq ${s.seq}`);
  const out: WhyEntry[] = [{ seq: p.createdSeq, role: "created", explanation: `pipe ${id} created (${p.cap} bytes)` }];
  for (const pr of [...s.procs.values()].sort((a, b) => a.pid - b.pid)) {
    for (const f of pr.fds ?? []) {
      if (f.pipe !== id) continue;
      const end = f.write ? "write" : "read";
      const how = f.seq === pr.createdSeq ? `, inherited when pid ${pr.pid} was created (fork or spawn)` : "";
      out.push({
        seq: f.seq,
        role: f.write ? "holds-write" : "holds-read",
        explanation: `pid ${pr.pid} holds pipe ${id}'s ${end} end as fd ${f.fd}${f.cloexec ? " (close-on-exec)" : ""}${how}`,
      });
    }
  }
  if (p.writeSeq >= 0)
    out.push({
      seq: p.writeSeq,
      role: "written",
      explanation: `last write into pipe ${id} (${p.used}/${p.cap} bytes buffered now)`,
    });
  if (p.readSeq >= 0) out.push({ seq: p.readSeq, role: "read", explanation: `last read from pipe ${id}` });
  if (p.wclosedSeq >= 0)
    out.push({
      seq: p.wclosedSeq,
      role: "eof",
      explanation: `the last write end of pipe ${id} closed: readers see end of file`,
    });
  return out;
}

/**
 * Who woke t last (its `woken`): the waker, or for the kernel where it ran
 * (the wake event's context, read from src when given: "irq:timer",
 * "softirq:NET_RX" in an imported trace).
 */
function wokenWhy(s: KState, t: Thread, src: ReplaySource | undefined): WhyEntry | undefined {
  const w = t.woken;
  if (w === undefined) return undefined;
  const how = wakeHowName(w.how);
  let waker = w.by >= 0 ? taskText(s, w.by) : "the kernel (a timer or interrupt)";
  if (w.by < 0 && src && w.seq < src.eventCount) {
    const ev = eventOrNull(src, w.seq);
    // An imported wakeup's cpu is where sched_wakeup was traced, not always where its waker (sched_waking) ran.
    const cpu = ev !== null && ev.cpu >= 0 && !isImportedState(s) ? ` on cpu ${ev.cpu}` : "";
    if (ev?.kind === KIND.wake && ev.s) waker = `the kernel (${ev.s}${cpu})`;
  }
  return { seq: w.seq, role: "woken", explanation: `${waker} woke ${taskText(s, t.tid)} (${how}) at seq ${w.seq}` };
}

/** Who sent sig to pid: a thread, the kernel, or a parent thread's exit (its parent-death signal: pdeathSent). */
function senderText(s: KState, by: number, pid: number, sig: number): string {
  if (by < 0) return "the kernel";
  if (pdeathSent(s, by, pid, sig))
    return `the exit of tid ${by}, the thread that forked pid ${pid} (its parent-death signal, PR_SET_PDEATHSIG),`;
  return `tid ${by}`;
}

/** A thread's wakeup, what it waits on now, and the signals it handles or has pending. */
function threadWakeWhy(s: KState, t: Thread, src: ReplaySource | undefined): WhyEntry[] {
  const out: WhyEntry[] = [];
  const woken = wokenWhy(s, t, src);
  if (woken) out.push(woken);
  const on = t.waitOn;
  if (on !== undefined && t.state === "blocked") {
    out.push({ seq: on.since, role: "waits", explanation: `tid ${t.tid} ${waitText(s, t)} since seq ${on.since}` });
    if (on.what === "futex") {
      const v = s.vars.get(on.id);
      if (v) for (const e of futexWhy(s, v)) if (e.role !== "waiter") out.push({ ...e, role: `waits-on-${e.role}` });
    } else if (on.what === "pipe-read" || on.what === "pipe-write") {
      if (s.pipes.has(on.id)) {
        const other = on.what === "pipe-read" ? "holds-write" : "holds-read";
        for (const e of pipeWhy(s, on.id)) if (e.role === other) out.push({ ...e, role: `waits-on-${e.role}` });
      }
    }
  }
  for (const h of t.handling ?? []) {
    out.push({
      seq: h.sent,
      role: "signal-sent",
      explanation: `${senderText(s, h.by, t.pid, h.sig)} sent ${sigName(h.sig)}, whose handler tid ${t.tid} runs (delivered at seq ${h.at})`,
    });
  }
  for (const x of [...(t.sigPending ?? []), ...(s.procs.get(t.pid)?.sigPending ?? [])]) {
    out.push({
      seq: x.seq,
      role: "signal-pending",
      explanation: `${senderText(s, x.by, t.pid, x.sig)} sent ${sigName(x.sig)}; pending${(t.sigMask ?? 0) & (1 << (x.sig - 1)) ? ` (tid ${t.tid} blocks it)` : ""}`,
    });
  }
  return out;
}

function objWhy(s: KState, id: number): WhyEntry[] {
  const o = s.objs.get(id);
  if (!o) throw new RefError(`no object ${id} at seq ${s.seq}`);
  const out: WhyEntry[] = [
    { seq: o.allocSeq, role: "allocated", explanation: `${o.name}#${o.id} allocated in ${spaceText(o.space)}` },
  ];
  if (o.freeSeq >= 0)
    out.push({
      seq: o.freeSeq,
      role: "freed",
      explanation: `${o.name}#${o.id} freed; any later use is a use after free`,
    });
  return out;
}

function kstackWhy(state: KState, id: number): WhyEntry[] {
  const k = state.kstacks.get(id);
  if (!k) throw new RefError(`no kernel stack ${id} at seq ${state.seq}`);
  const out: WhyEntry[] = [
    { seq: k.allocSeq, role: "allocated", explanation: `kernel stack ${k.id} allocated and mapped for tid ${k.tid}` },
  ];
  if (k.freeSeq >= 0) {
    const on = state.cpus.filter((c) => c.kstack === k.id).map((c) => `cpu ${c.id}`);
    out.push({
      seq: k.freeSeq,
      role: "freed",
      explanation: `kernel stack ${k.id} unmapped and freed${on.length ? `; ${on.join(", ")} still runs on it` : ""}${k.flushed ? " (TLB flushed since: touching it faults)" : ""}`,
    });
  }
  return out;
}

/**
 * The events that explain an object of `state` (oldest first): a lock's owner
 * (Lock.since) and the fork that copied it (copiedSeq); a variable's last
 * write (who wrote what: Var.since, Var.writer) or creation; a heap object's
 * allocation and free; a kernel stack's
 * allocation and free; a VMAR's clearing; a process's creation and exit; a
 * thread's kernel stack and the lock it waits on. With a source, each entry
 * carries its event and description. Throws RefError for an object absent
 * from the state.
 */
export function why(state: KState, ref: ObjectRef | string, src?: ReplaySource): WhyEntry[] {
  const r = typeof ref === "string" ? parseRef(ref, state) : ref;
  let out: WhyEntry[] = [];
  switch (r.kind) {
    case "lock": {
      const l = state.locks.get(r.id);
      if (!l) throw new RefError(`no lock ${r.id} at seq ${state.seq}`);
      out = lockWhy(state, l, src);
      break;
    }
    case "kstack":
      out = kstackWhy(state, r.id);
      break;
    case "vmar":
    case "proc": {
      const p = state.procs.get(r.id);
      if (!p) throw new RefError(`no process ${r.id} at seq ${state.seq}`);
      out.push({ seq: p.createdSeq, role: "created", explanation: `pid ${p.pid} created (its root VMAR with it)` });
      const exiting = p.exitingSeq ?? -1;
      if (r.kind === "proc" && exiting >= 0)
        out.push({ seq: exiting, role: "exiting", explanation: `exit() of pid ${p.pid} began` });
      if (r.kind === "proc" && p.exitSeq !== undefined)
        out.push({
          seq: p.exitSeq,
          role: "exited",
          explanation: `pid ${p.pid} exited (code ${p.exitCode}); ${p.state === "zombie" ? `a zombie until pid ${p.ppid} reaps it` : "reaped"}`,
        });
      if (r.kind === "proc" && p.adoptedSeq !== undefined)
        out.push({
          seq: p.adoptedSeq,
          role: "adopted",
          explanation: `its parent exited: pid ${p.pid} was handed to init, which reaps it`,
        });
      if (r.kind === "proc") {
        for (const x of p.sigPending ?? [])
          out.push({
            seq: x.seq,
            role: "signal-pending",
            explanation: `${senderText(state, x.by, p.pid, x.sig)} sent ${sigName(x.sig)} to pid ${p.pid}; pending`,
          });
      }
      if (p.vmarClearedSeq >= 0) {
        out.push({
          seq: p.vmarClearedSeq,
          role: "cleared",
          explanation: `exit of pid ${p.pid} set its root VMAR to None; pid ${p.pid} is ${p.state === "zombie" ? "a zombie until reaped" : "exiting"}`,
        });
      }
      break;
    }
    case "thread": {
      const t = state.threads.get(r.id);
      if (!t) throw new RefError(`no thread ${r.id} at seq ${state.seq}`);
      // Imported traces: when it last ran (the switches that put it on a cpu and took it off).
      const name = taskText(state, t.tid);
      if (t.onSeq !== undefined)
        out.push({
          seq: t.onSeq,
          role: "ran",
          explanation: `${name} last went on a cpu (cpu ${t.cpu ?? "?"})${t.state === "running" ? "; it runs since" : ""}`,
        });
      if (t.offSeq !== undefined && (t.onSeq === undefined || t.offSeq > t.onSeq)) {
        out.push({
          seq: t.offSeq,
          role: "left",
          explanation: `${name} last left a cpu; it is ${t.state} since (as far as the trace says)`,
        });
      }
      const k = state.kstacks.get(t.kstack);
      if (k && k.tid === t.tid) out.push(...kstackWhy(state, k.id));
      const l = state.locks.get(t.waitLock);
      if (l)
        for (const e of lockWhy(state, l, src))
          out.push({
            ...e,
            role: `waits-on-${e.role}`,
            explanation: `tid ${t.tid} waits on ${l.name}: ${e.explanation}`,
          });
      out.push(...threadWakeWhy(state, t, src));
      break;
    }
    case "pipe":
      out = pipeWhy(state, r.id);
      break;
    case "var": {
      const v = state.vars.get(r.id);
      if (!v) throw new RefError(`no variable ${r.id} at seq ${state.seq}`);
      out = [...varWhy(state, v, src), ...futexWhy(state, v)];
      break;
    }
    case "obj":
      out = objWhy(state, r.id);
      break;
    case "cpu": {
      const c = state.cpus[r.id];
      if (!c) throw new RefError(`no cpu ${r.id}`);
      if (c.kstack >= 0 && state.kstacks.has(c.kstack)) out = kstackWhy(state, c.kstack);
      // Imported traces: the switch that put its task there, the interrupts it is in, lost events.
      if (c.switchSeq !== undefined)
        out.push({
          seq: c.switchSeq,
          role: "switched",
          explanation: `cpu ${c.id} switched to ${taskText(state, c.tid)}`,
        });
      if (c.lostSeq !== undefined) {
        // A lost marker of count -1 is the cpu's last event (import/cpu-end.ts), not a loss.
        const end = src !== undefined && eventOrNull(src, c.lostSeq)?.a === -1;
        out.push({
          seq: c.lostSeq,
          role: "lost",
          explanation: `${end ? `the trace has no later event of cpu ${c.id}` : `the tracer lost events on cpu ${c.id}`}${c.switchSeq === undefined || c.switchSeq < c.lostSeq ? ": what it runs is not known since" : ""}`,
        });
      }
      for (const x of c.ctx ?? []) {
        out.push({
          seq: x.since,
          role: "entered",
          explanation: `cpu ${c.id} entered ${x.kind} ${x.kind === "hardirq" ? `${x.num}${x.name ? ` (${x.name})` : ""}` : x.name || x.num}`,
        });
      }
      break;
    }
  }
  out = out.filter((e) => e.seq >= 0).sort((a, b) => a.seq - b.seq);
  if (src) {
    for (const e of out) {
      if (e.seq >= src.eventCount) continue;
      e.event = eventAt(src, e.seq);
      e.desc = describe(e.event, state);
    }
  }
  return out;
}
