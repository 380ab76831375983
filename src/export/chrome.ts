// Chrome Trace Event Format export (the JSON that chrome://tracing and the
// Perfetto UI load). Spec: "Trace Event Format", Google, the JSON Object
// Format: {"traceEvents": [...], "displayTimeUnit": "ns", ...}.
//
// Layout:
//   - a process "CPUs" with one track per CPU: a slice per stretch a thread
//     runs there (from the switch to it to the switch away);
//   - one process per simulated process (pid as in the trace), with a track
//     per thread: instants for fork, spawn, exec, exit, reap, kernel-stack
//     free, VMAR clear, page fault, fatal; slices while the thread spins or
//     blocks on a lock or in waitpid;
//   - a track per lock, in the process whose address space holds it (kernel
//     locks under "kernel"): a slice per hold, named after the holder; a
//     lock copied into a fork child while another thread held it shows as
//     held by that (absent) thread from the fork on;
//   - flow arrows (cat "lock") from a lock's release to its next acquire,
//     bound to the run slices on the CPU tracks where they happened;
//   - waits on futexes (condvars, semaphores), sleeps, joins, pipes and
//     pause as slices on the waiting thread's track (cat "wait"), like lock
//     waits; a signal handler as a slice from its delivery to its sigreturn;
//   - flow arrows (cat "wake") from each wake event (who woke whom: futex,
//     timer, pipe, join, signal) on the waker's CPU track to the woken
//     thread's next run slice, and (cat "signal") from a signal's sending to
//     its delivery; a futex wake nobody received is an instant ("lost");
//   - panic and hang as global instants; names as metadata (M) events.
//
// Event times in traces are virtual ns; Chrome timestamps are microseconds
// (fractional allowed), so ts = ns / 1000.
//
// Only complete (X), instant (i), flow (s/f) and metadata (M) events are
// written: an X slice carries its own duration, so there is no begin/end
// pairing to get wrong, and slices on one track never partially overlap
// (a CPU runs one thread at a time, a lock has one holder, a thread waits on
// one thing at a time).

import { EVENT_KINDS, type KEvent, KIND, type KState, sigName, type Thread, wakeHowName } from "../kernel/types.ts";
import { waitText } from "../kernel/wait.ts";
import { errnoText, type ReplaySource, walk } from "../replay/index.ts";

/**
 * What the exporter reads: a trace reader (or any replay source with the
 * writer's name). A damaged trace is exported around its gaps: what is open
 * is closed where a gap starts, a global instant marks it, and the export
 * goes on from the next usable snapshot.
 */
export type ExportSource = ReplaySource & {
  readonly formatVersion?: string;
};

/** Synthetic pids for the CPU and kernel processes (simulated pids are small). */
export const CPUS_PID = 100000;
export const KERNEL_PID = 100001;
/** Lock tracks are tids LOCK_TID_BASE + lock id inside their process. */
export const LOCK_TID_BASE = 1000000;
/** CPU tracks are tids CPU_TID_BASE + cpu inside CPUS_PID. */
export const CPU_TID_BASE = 200000;

/** One Chrome trace event (the fields this exporter uses). */
export interface ChromeEvent {
  name: string;
  ph: "X" | "i" | "s" | "f" | "M";
  ts?: number;
  dur?: number;
  pid: number;
  tid: number;
  cat?: string;
  id?: number;
  s?: "g" | "p" | "t";
  bp?: "e";
  args?: Record<string, unknown>;
}

/** Microseconds from virtual ns, exact to the ns (3 decimals). */
export function us(ns: number): number {
  return Math.round(ns) / 1000;
}

/** Kinds shown as instants on the acting thread's track (or the CPU's when no thread acts). */
const INSTANT_KINDS = new Set<number>([
  KIND.fork,
  KIND.spawn,
  KIND.exec,
  KIND.threadExit,
  KIND.procExit,
  KIND.reap,
  KIND.kstackFree,
  KIND.vmarClear,
  KIND.pageFault,
  KIND.fatal,
  KIND.unlockNotOwner,
  KIND.tlbFlush,
  KIND.signal,
  KIND.errno,
]);

/** Kinds after which lock holders or thread waits may have changed. */
const RECONCILE_KINDS = new Set<number>([
  KIND.lockAcquire,
  KIND.lockRelease,
  KIND.lockWait,
  KIND.fork,
  KIND.exec,
  KIND.reap,
  KIND.procExit,
  KIND.threadExit,
  KIND.threadRelease,
  KIND.waitBlock,
  KIND.switch,
  KIND.hang,
  KIND.panic,
  KIND.end,
  KIND.lockNew,
  KIND.wake,
  KIND.futexWait,
  KIND.sleep,
  KIND.joinWait,
  KIND.pipeWait,
  KIND.pause,
]);

function instantName(ev: KEvent): string {
  switch (ev.kind) {
    case KIND.fork:
      return `fork → pid ${ev.b}`;
    case KIND.spawn:
      return `posix_spawn → pid ${ev.b}`;
    case KIND.exec:
      return `exec ${ev.s}`;
    case KIND.threadExit:
      return `exit tid ${ev.a}`;
    case KIND.procExit:
      return `pid ${ev.a} exits (zombie)`;
    case KIND.reap:
      return `reap pid ${ev.a}`;
    case KIND.kstackFree:
      return `kstack ${ev.a} freed`;
    case KIND.vmarClear:
      return `VMAR of pid ${ev.a} cleared`;
    case KIND.pageFault:
      return `page fault on kstack ${ev.a}`;
    case KIND.fatal:
      return `fatal: ${ev.s}`;
    case KIND.unlockNotOwner:
      return `unlock by non-owner`;
    case KIND.tlbFlush:
      return `TLB flush`;
    case KIND.signal:
      return `${sigName(ev.b)} → ${ev.c >= 0 ? `tid ${ev.c}` : `pid ${ev.a}`}`;
    case KIND.errno:
      return `${ev.s}: ${errnoText(ev.a)}`;
    default:
      return EVENT_KINDS[ev.kind]?.name ?? `kind#${ev.kind}`;
  }
}

function eventArgs(ev: KEvent): Record<string, unknown> {
  const info = EVENT_KINDS[ev.kind];
  const args: Record<string, unknown> = { seq: ev.seq };
  if (!info) return { ...args, a: ev.a, b: ev.b, c: ev.c, s: ev.s };
  const v = [ev.a, ev.b, ev.c];
  info.args.forEach((n, i) => {
    args[n] = v[i];
  });
  if (info.str !== undefined) args[info.str] = ev.s;
  return args;
}

interface Open {
  name: string;
  start: number;
  seq: number;
  args: Record<string, unknown>;
}

/**
 * Writes the trace as Chrome Trace Event JSON through `write`, a piece at a
 * time (one event per line), so a long trace never becomes one string.
 */
export function writeChromeTrace(
  src: ExportSource,
  write: (text: string) => void,
  opts: { version?: string } = {},
): void {
  // The state the walk folds (replaced by a snapshot's after a gap).
  let st: KState = src.loadSnapshotFrom(-1)?.state ?? src.loadSnapshot(-1).state;
  const meta = src.meta;
  let first = true;
  const emit = (e: ChromeEvent) => {
    write((first ? "\n" : ",\n") + JSON.stringify(e));
    first = false;
  };
  const otherData = {
    generator: opts.version ?? meta.writer ?? "",
    writer: meta.writer ?? "",
    formatVersion: src.formatVersion ?? "",
    scenario: meta.scenario,
    fix: meta.fix,
    seed: meta.seed,
    events: src.eventCount,
    outcome: src.outcome,
    timeUnit: "timestamps are virtual ns / 1000",
  };
  write(`{"displayTimeUnit":"ns","otherData":${JSON.stringify(otherData)},"traceEvents":[`);

  // Process and thread names (updated as the trace goes; written at the end).
  const procNames = new Map<number, string>();
  const threadNames = new Map<string, { pid: number; tid: number; name: string; sort: number }>();
  const nameThread = (pid: number, tid: number, name: string, sort: number) =>
    threadNames.set(`${pid}/${tid}`, { pid, tid, name, sort });
  procNames.set(CPUS_PID, "CPUs");
  for (let c = 0; c < meta.config.cpus; c++) nameThread(CPUS_PID, CPU_TID_BASE + c, `CPU ${c}`, c);

  const pidOf = (tid: number): number => st.threads.get(tid)?.pid ?? KERNEL_PID;
  /** An instant event on ev's thread's track, with ev's fields as its args. */
  const instantOnThread = (name: string, cat: string, ev: KEvent) =>
    emit({ name, cat, ph: "i", s: "t", ts: us(ev.time), pid: pidOf(ev.tid), tid: ev.tid, args: eventArgs(ev) });
  const threadLabel = (tid: number): string => {
    const t = st.threads.get(tid);
    const p = t ? st.procs.get(t.pid) : undefined;
    const name = t?.comm ?? p?.name; // an imported task's own comm
    return `tid ${tid}${name !== undefined ? ` (${name})` : ""}`;
  };
  const lockPid = (space: number): number => (space === 0 ? KERNEL_PID : space);
  const noteThread = (t: Thread) => {
    nameThread(
      t.pid,
      t.tid,
      t.comm !== undefined
        ? `${t.comm}-${t.tid}`
        : `tid ${t.tid}${t.ident !== t.tid ? ` (pthread_self ${t.ident})` : ""}`,
      t.tid,
    );
  };
  const noteNames = () => {
    for (const p of st.procs.values()) procNames.set(p.pid, `${p.name} (pid ${p.pid})`);
    for (const t of st.threads.values()) noteThread(t);
  };
  /** An imported trace's task events name one task (and its process): no scan of every thread. */
  const noteTask = (tid: number) => {
    const t = st.threads.get(tid);
    if (t === undefined) return;
    const p = st.procs.get(t.pid);
    if (p !== undefined) procNames.set(p.pid, `${p.name} (pid ${p.pid})`);
    noteThread(t);
  };

  // CPU run slices.
  const running: ((Open & { tid: number }) | undefined)[] = [];
  // Lock holds, by lock id.
  const holds = new Map<number, Open & { tid: number; pid: number }>();
  // Thread waits, by tid.
  const waits = new Map<number, Open & { key: string; pid: number }>();
  // Pending flow starts, by lock id: where the last release happened.
  const released = new Map<number, { ts: number; cpu: number; tid: number; seq: number }>();
  let flowId = 0;
  let lastTime = 0;
  // Wakeups whose woken thread has not run since: the flow's end goes on its next run slice.
  const woken = new Map<number, { name: string; ts: number; cpu: number; seq: number; by: number }>();
  // Signals sent, by the seq of their signal event: the flow's start, ended at the delivery.
  const sent = new Map<number, { ts: number; cpu: number; seq: number; name: string }>();
  // Signal handlers running, per thread (innermost last).
  const handlers = new Map<number, Open[]>();
  /** Closes the signal handlers still running (the end of the trace, or a gap in it). */
  const closeHandlers = (end: number, seq: number) => {
    for (const [tid, list] of handlers) {
      for (const h of list.reverse())
        emit({
          name: h.name,
          cat: "signal",
          ph: "X",
          ts: us(h.start),
          dur: us(end - h.start),
          pid: pidOf(tid),
          tid,
          args: { ...h.args, toSeq: seq },
        });
    }
    handlers.clear();
  };
  /** A flow arrow from (ts, cpu) to (ts2, cpu2), bound to the run slices there; written whole, so none is left dangling. */
  const flow = (
    name: string,
    cat: string,
    from: { ts: number; cpu: number; seq: number },
    ts: number,
    cpu: number,
    seq: number,
    args: Record<string, unknown> = {},
  ) => {
    const id = ++flowId;
    emit({
      name,
      cat,
      ph: "s",
      id,
      ts: us(from.ts),
      pid: CPUS_PID,
      tid: CPU_TID_BASE + from.cpu,
      args: { seq: from.seq, ...args },
    });
    emit({ name, cat, ph: "f", bp: "e", id, ts: us(ts), pid: CPUS_PID, tid: CPU_TID_BASE + cpu, args: { seq } });
  };

  const closeRun = (cpu: number, end: number, seq: number) => {
    const r = running[cpu];
    if (!r) return;
    emit({
      name: r.name,
      cat: "sched",
      ph: "X",
      ts: us(r.start),
      dur: us(end - r.start),
      pid: CPUS_PID,
      tid: CPU_TID_BASE + cpu,
      args: { ...r.args, toSeq: seq },
    });
    running[cpu] = undefined;
  };
  const closeHold = (id: number, end: number, seq: number) => {
    const h = holds.get(id);
    if (!h) return;
    emit({
      name: h.name,
      cat: "lock",
      ph: "X",
      ts: us(h.start),
      dur: us(end - h.start),
      pid: h.pid,
      tid: LOCK_TID_BASE + id,
      args: { ...h.args, toSeq: seq },
    });
    holds.delete(id);
  };
  const closeWait = (tid: number, end: number, seq: number) => {
    const w = waits.get(tid);
    if (!w) return;
    emit({
      name: w.name,
      cat: "wait",
      ph: "X",
      ts: us(w.start),
      dur: us(end - w.start),
      pid: w.pid,
      tid,
      args: { ...w.args, toSeq: seq },
    });
    waits.delete(tid);
  };

  /** Brings lock holds and thread waits in line with the state after ev. */
  const reconcile = (ev: KEvent) => {
    for (const [id, h] of holds) {
      const l = st.locks.get(id);
      if (!l || l.owner !== h.tid) closeHold(id, ev.time, ev.seq);
    }
    for (const l of st.locks.values()) {
      if (l.owner < 0 || holds.has(l.id)) continue;
      const absent = !st.procs.get(l.space)?.threads.includes(l.owner) && l.space !== 0;
      const copied = l.copiedSeq === ev.seq && ev.kind === KIND.fork;
      const pid = lockPid(l.space);
      nameThread(pid, LOCK_TID_BASE + l.id, `lock ${l.name}`, LOCK_TID_BASE + l.id);
      holds.set(l.id, {
        name: `held by tid ${l.owner}${absent ? " (not in this process)" : ""}`,
        start: ev.time,
        seq: ev.seq,
        tid: l.owner,
        pid,
        args: {
          lock: l.name,
          lockId: l.id,
          owner: l.owner,
          ...(l.type === "recursive" ? { ownerIdent: l.ident } : {}),
          fromSeq: ev.seq,
          ...(copied ? { copiedAtFork: true } : {}),
        },
      });
    }
    for (const t of st.threads.values()) {
      let key = "";
      let name = "";
      const args: Record<string, unknown> = { fromSeq: ev.seq };
      if ((t.state === "blocked" || t.state === "spinning") && t.waitLock >= 0) {
        const l = st.locks.get(t.waitLock);
        key = `${t.state}/${t.waitLock}`;
        name = `${t.state === "spinning" ? "spins on" : "blocks on"} ${l?.name ?? `lock ${t.waitLock}`}`;
        args.lock = l?.name ?? t.waitLock;
        if (l) args.owner = l.owner;
      } else if (t.state === "blocked" && t.waitOn !== undefined) {
        key = `${t.waitOn.what}/${t.waitOn.id}/${t.waitOn.since}`;
        name = waitText(st, t);
        args.waitsOn = t.waitOn.what;
        if (t.waitOn.until >= 0) args.until = t.waitOn.until;
      } else if (t.state === "blocked" && t.waitPid >= -1) {
        key = `wait/${t.waitPid}`;
        name = `waitpid(${t.waitPid < 0 ? "any" : t.waitPid})`;
      }
      const w = waits.get(t.tid);
      if (w && w.key === key) continue;
      if (w) closeWait(t.tid, ev.time, ev.seq);
      if (key) waits.set(t.tid, { key, name, start: ev.time, seq: ev.seq, pid: t.pid, args });
    }
    for (const tid of waits.keys()) if (!st.threads.has(tid)) closeWait(tid, ev.time, ev.seq);
  };

  let releasedLock: unknown;
  let lastSeq = -1;
  let lost = false;
  walk(src, 0, src.eventCount - 1, {
    before: (ev, before) => {
      releasedLock = ev.kind === KIND.lockRelease && ev.b === 0 ? before.locks.get(ev.a) : undefined;
    },
    unfolded: (u) => {
      // Close what is open where the damage starts, and mark it.
      for (let c = 0; c < running.length; c++) closeRun(c, lastTime, lastSeq);
      for (const id of [...holds.keys()]) closeHold(id, lastTime, lastSeq);
      for (const tid of [...waits.keys()]) closeWait(tid, lastTime, lastSeq);
      closeHandlers(lastTime, lastSeq);
      released.clear();
      woken.clear();
      sent.clear();
      const what = u.missing
        ? `events ${u.missing.fromSeq}..${u.missing.toSeq} missing`
        : `state unknown from seq ${u.fromSeq}`;
      emit({
        name: `${what} (damaged trace)`,
        cat: "damage",
        ph: "i",
        s: "g",
        ts: us(lastTime),
        pid: CPUS_PID,
        tid: CPU_TID_BASE,
        args: { fromSeq: u.fromSeq, knownAfter: u.knownAfter, reason: u.missing?.reason ?? u.reason },
      });
      lost = true;
    },
    event: (ev, after) => {
      if (after === null) return;
      st = after;
      if (lost) {
        // Folding resumed from a snapshot: take its names.
        lost = false;
        noteNames();
      }
      onEvent(ev);
    },
  });

  function onEvent(ev: KEvent): void {
    lastTime = ev.time;
    lastSeq = ev.seq;
    if (
      ev.kind === KIND.procNew ||
      ev.kind === KIND.threadNew ||
      ev.kind === KIND.fork ||
      ev.kind === KIND.spawn ||
      ev.kind === KIND.exec
    )
      noteNames();
    else if (
      ev.kind === KIND.taskNew ||
      ev.kind === KIND.taskFork ||
      ev.kind === KIND.taskExec ||
      ev.kind === KIND.taskRename ||
      ev.kind === KIND.taskJoin
    )
      noteTask(ev.a);
    switch (ev.kind) {
      case KIND.switch: {
        closeRun(ev.cpu, ev.time, ev.seq);
        if (ev.b >= 0) {
          running[ev.cpu] = {
            name: threadLabel(ev.b),
            start: ev.time,
            seq: ev.seq,
            tid: ev.b,
            args: { tid: ev.b, pid: pidOf(ev.b), fromSeq: ev.seq },
          };
          const w = woken.get(ev.b);
          if (w) {
            flow(w.name, "wake", w, ev.time, ev.cpu, ev.seq, { by: w.by });
            woken.delete(ev.b);
          }
        }
        break;
      }
      case KIND.wake: {
        if (ev.cpu < 0 || !running[ev.cpu]) break;
        const how = wakeHowName(ev.c);
        const w = {
          name: `wake tid ${ev.a} (${how}${ev.s ? `: ${ev.s}` : ""})`,
          ts: ev.time,
          cpu: ev.cpu,
          seq: ev.seq,
          by: ev.b,
        };
        // Still on its cpu (it had not left it yet): the flow ends there at once; else at its next run.
        const on = st.cpus.findIndex((c) => c.tid === ev.a);
        if (on >= 0 && running[on]) flow(w.name, "wake", w, ev.time, on, ev.seq, { by: ev.b });
        else woken.set(ev.a, w);
        break;
      }
      case KIND.futexWake:
        if (ev.c === 0 && ev.tid >= 0) {
          const v = st.vars.get(ev.a);
          instantOnThread(`lost wakeup: ${v?.sync ?? "futex"} ${v?.name ?? ev.a} (no waiter)`, "wake", ev);
        }
        break;
      case KIND.signalDeliver: {
        const from = sent.get(ev.c);
        const name = `${sigName(ev.a)}: ${ev.b === 2 ? "handler" : ev.b === 0 ? "kills the process" : "ignored"}`;
        if (from && ev.cpu >= 0 && running[ev.cpu]) flow(from.name, "signal", from, ev.time, ev.cpu, ev.seq);
        sent.delete(ev.c);
        if (ev.b === 2) {
          const list = handlers.get(ev.tid) ?? [];
          list.push({
            name: `${sigName(ev.a)} handler`,
            start: ev.time,
            seq: ev.seq,
            args: { sig: sigName(ev.a), sentSeq: ev.c, fromSeq: ev.seq },
          });
          handlers.set(ev.tid, list);
        } else instantOnThread(name, "signal", ev);
        break;
      }
      case KIND.sigreturn: {
        const h = handlers.get(ev.tid)?.pop();
        if (h)
          emit({
            name: h.name,
            cat: "signal",
            ph: "X",
            ts: us(h.start),
            dur: us(ev.time - h.start),
            pid: pidOf(ev.tid),
            tid: ev.tid,
            args: { ...h.args, toSeq: ev.seq },
          });
        break;
      }
      case KIND.lockRelease:
        if (ev.b === 0 && ev.cpu >= 0 && running[ev.cpu]) {
          released.set(ev.a, { ts: ev.time, cpu: ev.cpu, tid: ev.tid, seq: ev.seq });
        }
        break;
      case KIND.lockAcquire: {
        const r = released.get(ev.a);
        if (ev.b === 1 && r && ev.cpu >= 0 && running[ev.cpu]) {
          const l = st.locks.get(ev.a);
          flow(`${l?.name ?? `lock ${ev.a}`}: tid ${r.tid} → tid ${ev.tid}`, "lock", r, ev.time, ev.cpu, ev.seq);
        }
        released.delete(ev.a);
        break;
      }
      case KIND.panic:
      case KIND.hang:
        emit({
          name: `${EVENT_KINDS[ev.kind]!.name}: ${ev.s}`,
          cat: "outcome",
          ph: "i",
          s: "g",
          ts: us(ev.time),
          pid: CPUS_PID,
          tid: CPU_TID_BASE,
          args: eventArgs(ev),
        });
        break;
      default:
        if (ev.kind === KIND.signal && ev.cpu >= 0 && running[ev.cpu])
          sent.set(ev.seq, {
            ts: ev.time,
            cpu: ev.cpu,
            seq: ev.seq,
            name: `${sigName(ev.b)} → ${ev.c >= 0 ? `tid ${ev.c}` : `pid ${ev.a}`}`,
          });
        if (INSTANT_KINDS.has(ev.kind)) {
          const name = instantName(ev);
          if (ev.tid >= 0) {
            instantOnThread(name, "kernel", ev);
          } else if (ev.cpu >= 0) {
            emit({
              name,
              cat: "kernel",
              ph: "i",
              s: "t",
              ts: us(ev.time),
              pid: CPUS_PID,
              tid: CPU_TID_BASE + ev.cpu,
              args: eventArgs(ev),
            });
          } else {
            emit({
              name,
              cat: "kernel",
              ph: "i",
              s: "p",
              ts: us(ev.time),
              pid: CPUS_PID,
              tid: CPU_TID_BASE,
              args: eventArgs(ev),
            });
          }
        }
    }
    if (releasedLock !== undefined && !st.locks.has(ev.a)) released.delete(ev.a);
    if (RECONCILE_KINDS.has(ev.kind)) reconcile(ev);
  }

  // Close whatever is still open at the end of the trace (a hang leaves spins and holds open).
  const endSeq = src.eventCount - 1;
  for (let c = 0; c < running.length; c++) closeRun(c, lastTime, endSeq);
  for (const id of [...holds.keys()]) closeHold(id, lastTime, endSeq);
  for (const tid of [...waits.keys()]) closeWait(tid, lastTime, endSeq);
  closeHandlers(lastTime, endSeq);

  // Names.
  procNames.set(KERNEL_PID, "kernel");
  const sortedProcs = [...procNames.entries()].sort((a, b) => a[0] - b[0]);
  for (const [pid, name] of sortedProcs) {
    emit({ name: "process_name", ph: "M", ts: 0, pid, tid: 0, args: { name } });
    emit({
      name: "process_sort_index",
      ph: "M",
      ts: 0,
      pid,
      tid: 0,
      args: { sort_index: pid === CPUS_PID ? -2 : pid === KERNEL_PID ? -1 : pid },
    });
  }
  const sortedThreads = [...threadNames.values()].sort((a, b) => a.pid - b.pid || a.tid - b.tid);
  for (const t of sortedThreads) {
    if (!procNames.has(t.pid)) continue;
    emit({ name: "thread_name", ph: "M", ts: 0, pid: t.pid, tid: t.tid, args: { name: t.name } });
    emit({ name: "thread_sort_index", ph: "M", ts: 0, pid: t.pid, tid: t.tid, args: { sort_index: t.sort } });
  }
  write("\n]}\n");
}

/** The whole export as one string (small traces, tests). */
export function chromeTraceJson(src: ExportSource, opts: { version?: string } = {}): string {
  const parts: string[] = [];
  writeChromeTrace(src, (t) => parts.push(t), opts);
  return parts.join("");
}
