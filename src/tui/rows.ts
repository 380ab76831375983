// The rows of the state panes, computed from one kernel state. Pure.
//
// The views (state-panes.tsx) draw these rows, and the engine uses the same
// rows to know which object the selected row of a pane is (for `e` explain),
// so what you see and what you explain cannot disagree. Only the engine
// imports this file (it is the engine's), so it may use the replay layer.

import { type KState, sigActionText, sigName, type Thread, wakeHowName } from "../kernel/types.ts";
import {
  baseRank,
  futexWaitersOf,
  inversion,
  isImportedState,
  maskNames,
  ownerStatus,
  pipeHolders,
  prioText,
  rank,
  spaceText,
  stuck,
  syncValue,
  taskText,
  valueText,
  WMB,
  waitsOnLock,
} from "../replay/index.ts";
import type { ObjectRef, Pane, PerPane, Row, StatePaneId } from "./frame.ts";

function sortedIds<T>(m: ReadonlyMap<number, T>): number[] {
  return [...m.keys()].sort((a, b) => a - b);
}

/** Why lock `id`'s owner is wrong (the kernel's one owner rule, ownerStatus), or undefined when it is fine or the lock is free. */
export function ownerProblem(s: KState, id: number): string | undefined {
  const l = s.locks.get(id);
  if (l === undefined) return undefined;
  switch (ownerStatus(s, l)) {
    case "gone":
      return `owner tid ${l.owner} does not exist`;
    case "absent":
      return `owner tid ${l.owner} is not in pid ${l.space}`;
    case "exited":
      return `owner tid ${l.owner} has exited`;
    default:
      return undefined;
  }
}

/** For a held recursive mutex: how its recorded owner ident differs from its owner's pthread_self(). */
export function identMismatch(s: KState, id: number): string | undefined {
  const l = s.locks.get(id);
  if (l === undefined || l.type !== "recursive" || l.owner < 0) return undefined;
  const t = s.threads.get(l.owner);
  if (t === undefined || t.ident === l.ident) return undefined;
  return `recorded owner ident ${l.ident} ≠ pthread_self ${t.ident} of owner tid ${l.owner}`;
}

/** CPUs whose current kernel stack is freed. */
export function cpusOnFreedStack(s: KState): number[] {
  const out: number[] = [];
  for (const c of s.cpus) {
    if (c.kstack >= 0 && s.kstacks.get(c.kstack)?.state === "freed") out.push(c.id);
  }
  return out;
}

/** A task as ftrace names it, comm-tid (tid alone without a comm). */
function taskName(s: KState, tid: number): string {
  const comm = s.threads.get(tid)?.comm;
  return comm ? `${comm}-${tid}` : `${tid}`;
}

/** An imported trace's cpus: what each runs (? until its first switch or after lost events) and its innermost interrupt. */
function importedCpuPane(s: KState): Pane {
  const rows: Row[] = s.cpus.map((c) => {
    const known = c.switchSeq !== undefined;
    const top = c.ctx?.[c.ctx.length - 1];
    return {
      ref: { kind: "cpu", id: c.id },
      cells: [
        `${c.id}`,
        !known ? "?" : c.tid < 0 ? "idle" : taskName(s, c.tid),
        top ? (top.kind === "hardirq" ? `irq${top.num}` : top.name || `si${top.num}`) : "",
      ],
      mark: !known ? "dim" : c.tid < 0 && !top ? "dim" : null,
    };
  });
  return {
    id: "cpus",
    title: "CPUs",
    columns: ["cpu", "runs", "in"],
    widths: [3, 8, 3],
    align: ["right", "left", "left"],
    flex: 2,
    rows,
  };
}

export function cpuPane(s: KState): Pane {
  if (isImportedState(s)) return importedCpuPane(s);
  const rows: Row[] = s.cpus.map((c) => {
    const k = c.kstack >= 0 ? s.kstacks.get(c.kstack) : undefined;
    const freed = k?.state === "freed";
    return {
      ref: { kind: "cpu", id: c.id },
      cells: [`${c.id}`, c.tid < 0 ? "idle" : `${c.tid}`, c.kstack < 0 ? "-" : `${c.kstack}${freed ? "✗" : ""}`],
      mark: freed ? "bad" : c.tid < 0 ? "dim" : null,
      ...(freed ? { note: `cpu ${c.id} runs on freed kernel stack ${c.kstack}` } : {}),
    };
  });
  return {
    id: "cpus",
    title: "CPUs",
    columns: ["cpu", "tid", "kstk"],
    widths: [3, 4, 5],
    align: ["right", "right", "left"],
    flex: 2,
    rows,
  };
}

/** What a thread waits on, short: "wait:m", "cv:ready", "pipe<1" (reading), "join:3", "sleep", "pause". */
function waitShort(s: KState, t: Thread): string {
  if (waitsOnLock(s, t)) {
    return `${t.state === "spinning" ? "spin" : "wait"}:${s.locks.get(t.waitLock)?.name ?? `lock ${t.waitLock}`}`;
  }
  const w = t.waitOn;
  if (w !== undefined && t.state === "blocked") {
    switch (w.what) {
      case "futex": {
        const v = s.vars.get(w.id);
        const kind =
          v?.sync === "condvar" ? "cv" : v?.sync === "semaphore" ? "sem" : v?.sync === "rwlock" ? "rw" : "futex";
        return `${kind}:${v?.name ?? w.id}${w.until >= 0 ? "⏱" : ""}`;
      }
      case "sleep":
        return "sleep";
      case "join":
        return `join:${w.id}`;
      case "pipe-read":
        return `pipe<${w.id}`;
      case "pipe-write":
        return `pipe>${w.id}`;
      case "signal":
        return "pause";
    }
  }
  if (t.waitPid >= -1 && t.state === "blocked") return `waitpid(${t.waitPid < 0 ? "any" : t.waitPid})`;
  return t.state;
}

/** A thread's priority, short: "" (the default class), "f30", "f10↑30" (boosted by inheritance). */
function prioShort(t: Thread): string {
  const base = baseRank(t);
  const r = rank(t);
  if (r === 0 && base === 0) return "";
  const b = base > 0 ? `f${base - 1}` : "o";
  return r !== base ? `${b}↑${r - 1}` : b;
}

export function threadPane(s: KState): Pane {
  const imported = isImportedState(s);
  const stuckTids = imported ? new Set<number>() : stuck(s);
  const ranked = !imported && [...s.threads.values()].some((t) => rank(t) > 0);
  const rows: Row[] = sortedIds(s.threads).map((tid) => {
    const t = s.threads.get(tid)!;
    if (imported) {
      // Its lock wait (waitsOnLock: whatever the task's state in a real trace).
      const wait = waitsOnLock(s, t) ? ` wait:${s.locks.get(t.waitLock)?.name ?? `lock ${t.waitLock}`}` : "";
      // Who woke it last (e explains, with the interrupt it came from).
      const w = t.woken;
      const woken = w
        ? `${taskText(s, tid)}: woken at seq ${w.seq} by ${w.by >= 0 ? taskText(s, w.by) : "the kernel"} (${wakeHowName(w.how)})`
        : undefined;
      return {
        ref: { kind: "thread", id: tid },
        cells: [`${tid}`, `${t.pid}`, t.comm ?? "", `${t.state}${wait}`],
        mark:
          t.state === "exited" ? "dim" : wait || t.state === "blocked" ? "warn" : t.state === "running" ? null : "dim",
        ...(woken ? { note: woken } : {}),
      };
    }
    const state = waitShort(s, t);
    const inv = t.state === "running" ? inversion(s, tid) : undefined;
    const notes: string[] = [];
    const never = stuckTids.has(tid);
    if (never) notes.push("blocked, and nothing can wake it any more (no-deadlock)");
    if (inv)
      notes.push(
        `tid ${tid} (${prioText(t)}) runs while tid ${inv.high.tid} (${prioText(inv.high)}) waits on ${inv.lock.name} held by tid ${inv.owner.tid} (${prioText(inv.owner)}): priority inversion`,
      );
    if (t.handling?.length) notes.push(`in its ${t.handling.map((h) => sigName(h.sig)).join(" > ")} handler`);
    const pend = [...(t.sigPending ?? []), ...(s.procs.get(t.pid)?.sigPending ?? [])];
    if (pend.length) notes.push(`pending ${pend.map((x) => sigName(x.sig)).join(", ")}`);
    if (t.sigMask) notes.push(`blocks ${maskNames(t.sigMask).join(", ")}`);
    // tso, pso: the stores in its store buffer, not yet in memory (other threads read the old values); a store barrier after one (pso).
    if (t.stores !== undefined)
      notes.push(
        `store buffer ${t.stores.map((x) => `${s.vars.get(x.var)?.name ?? `var ${x.var}`}=${x.value} (seq ${x.seq})${x.wmb === true ? WMB : ""}`).join(", ")}: not yet in memory`,
      );
    const cells = [`${tid}`, `${t.pid}`, `${t.ident}`, ...(ranked ? [prioShort(t)] : []), state];
    return {
      ref: { kind: "thread", id: tid },
      cells,
      mark:
        inv || never
          ? "bad"
          : t.state === "exited"
            ? "dim"
            : t.state === "spinning" || t.state === "blocked"
              ? "warn"
              : null,
      ...(notes.length ? { note: `tid ${tid}: ${notes.join("; ")}` } : {}),
    };
  });
  if (imported) {
    return {
      id: "threads",
      title: "Threads",
      columns: ["tid", "pid", "comm", "state"],
      widths: [3, 3, 6, 7],
      align: ["right", "right", "left", "left"],
      flex: 3,
      rows,
    };
  }
  if (ranked) {
    return {
      id: "threads",
      title: "Threads",
      columns: ["tid", "pid", "ident", "pri", "state"],
      widths: [3, 3, 5, 6, 7],
      align: ["right", "right", "right", "left", "left"],
      flex: 4,
      rows,
    };
  }
  return {
    id: "threads",
    title: "Threads",
    columns: ["tid", "pid", "ident", "state"],
    widths: [3, 3, 5, 7],
    align: ["right", "right", "right", "left"],
    flex: 3,
    rows,
  };
}

/**
 * The vars pane (id "sync"): the program's shared state. Variables (a user's
 * bug is usually in one: its value, and who wrote it last), futex words
 * (condition variables, semaphores, rwlocks, plain words with waiters) and
 * pipes. A word's value as its object reads
 * it, and its waiters; a pipe's buffer, and who holds its ends. A condvar
 * whose last wake reached nobody is marked (a lost wakeup); so is a pipe
 * with a reader blocked while the write end is open only in processes whose
 * threads can never write (the kernel's stuck rule).
 */
export function syncPane(s: KState): Pane {
  const rows: Row[] = [];
  const stuckTids = stuck(s);
  for (const id of sortedIds(s.vars)) {
    const v = s.vars.get(id)!;
    const waiters = futexWaitersOf(s, id);
    if (v.sync === undefined && waiters.length === 0) {
      const text = valueText(s, v.type, v.value);
      const by = v.writer >= 0 ? ` by tid ${v.writer}` : "";
      rows.push({
        ref: { kind: "var", id },
        cells: [v.name, text, ""],
        mark: null,
        note: `${v.name} in ${spaceText(v.space)} = ${text}${v.since >= 0 ? `; last written at seq ${v.since}${by}` : ""}`,
      });
      continue;
    }
    const lost = v.wake !== undefined && v.wake.woken === 0;
    const stuckWaiter = waiters.some((t) => stuckTids.has(t));
    const kind = v.sync ?? "futex";
    const notes = [
      `${kind} ${v.name} in ${v.space > 0 ? `pid ${v.space}` : v.space === 0 ? "the kernel" : `pid ${-v.space}'s kernel struct`}: ${syncValue(v.sync, v.value)}`,
    ];
    if (waiters.length) notes.push(`waiters ${waiters.map((t) => `tid ${t}`).join(", ")}`);
    if (lost) notes.push(`its last wake (seq ${v.wake!.seq}, tid ${v.wake!.by}) found no waiter: lost`);
    if (stuckWaiter) notes.push("a waiter nothing can wake any more");
    rows.push({
      ref: { kind: "var", id },
      cells: [
        `${kind === "condvar" ? "cv" : kind === "semaphore" ? "sem" : kind === "rwlock" ? "rw" : "fx"}:${v.name}`,
        syncValue(v.sync, v.value)
          .replace(/^(seq|count) /, "")
          .replace(/ readers?$/, "r")
          .replace("a writer", "w")
          .replace("free", "0"),
        waiters.length ? `${waiters.length}` : "",
      ],
      mark: stuckWaiter ? "bad" : lost ? "warn" : waiters.length ? null : "dim",
      note: notes.join("; "),
    });
  }
  for (const id of sortedIds(s.pipes)) {
    const p = s.pipes.get(id)!;
    const readers = [...s.threads.values()].filter(
      (t) =>
        t.state === "blocked" &&
        (t.waitOn?.what === "pipe-read" || t.waitOn?.what === "pipe-write") &&
        t.waitOn.id === id,
    );
    const holders = pipeHolders(s, id, true).map(
      (pr) =>
        `pid ${pr.pid} (fd ${pr
          .fds!.filter((f) => f.pipe === id && f.write)
          .map((f) => f.fd)
          .join(",")})`,
    );
    const bad = readers.some((t) => stuckTids.has(t.tid));
    rows.push({
      ref: { kind: "pipe", id },
      cells: [`pipe:${id}`, `${p.used}/${p.cap}`, readers.length ? `${readers.length}` : ""],
      mark: bad ? "bad" : readers.length ? "warn" : null,
      note: `pipe ${id}: ${p.used}/${p.cap} bytes; write end open in ${holders.join(", ") || "no process (EOF)"}; ${p.readers} read end${p.readers === 1 ? "" : "s"} open${readers.length ? `; blocked: ${readers.map((t) => `tid ${t.tid} (${t.waitOn!.what === "pipe-read" ? "read" : "write"})`).join(", ")}` : ""}`,
    });
  }
  // Interesting first: a waiter nothing can wake, a lost wake, then the rest in order (vars and words by id, then pipes).
  const rank = (r: Row) => (r.mark === "bad" ? 0 : r.mark === "warn" ? 1 : 2);
  rows.sort((x, y) => rank(x) - rank(y));
  return {
    id: "sync",
    title: "Vars",
    columns: ["name", "val", "w"],
    widths: [7, 5, 1],
    align: ["left", "right", "right"],
    flex: 0,
    rows,
  };
}

export function lockPane(s: KState): Pane {
  const waiters = new Map<number, number>();
  for (const t of s.threads.values()) {
    if (waitsOnLock(s, t)) {
      waiters.set(t.waitLock, (waiters.get(t.waitLock) ?? 0) + 1);
    }
  }
  const stuckTids = isImportedState(s) ? new Set<number>() : stuck(s);
  const rows: Row[] = sortedIds(s.locks).map((id) => {
    const l = s.locks.get(id)!;
    const stuckWaiter = [...s.threads.values()].some(
      (t) => t.waitLock === id && stuckTids.has(t.tid) && waitsOnLock(s, t),
    );
    const problem = ownerProblem(s, id) ?? (stuckWaiter ? "a waiter nothing can wake any more" : undefined);
    const mismatch = problem === undefined ? identMismatch(s, id) : undefined;
    const w = waiters.get(id) ?? 0;
    const where = l.space === 0 ? "the kernel" : `pid ${l.space}`;
    const owner = l.owner < 0 ? "-" : `${l.owner}${problem ? "✗" : mismatch ? "≠" : ""}`;
    const note = problem ?? mismatch;
    return {
      ref: { kind: "lock", id },
      cells: [l.name, l.space === 0 ? "k" : `${l.space}`, owner, `${l.level}`, w === 0 ? "" : `${w}`],
      mark: problem ? "bad" : mismatch ? "warn" : l.owner < 0 ? "dim" : null,
      ...(note ? { note: `${l.name} in ${where}: ${note}` } : {}),
    };
  });
  // Interesting first: owners that do not exist, then held locks, then free ones (each by id).
  const rank = (r: Row) => (r.mark === "bad" ? 0 : r.mark === "warn" ? 1 : r.mark === "dim" ? 3 : 2);
  rows.sort((x, y) => rank(x) - rank(y) || x.ref.id - y.ref.id);
  return {
    id: "locks",
    title: "Locks",
    columns: ["name", "pid", "own", "lv", "w"],
    widths: [10, 3, 4, 2, 1],
    align: ["left", "right", "right", "right", "right"],
    flex: 0,
    rows,
  };
}

export function kstackPane(s: KState): Pane {
  const onFreed = new Map<number, number[]>();
  for (const c of s.cpus) {
    if (c.kstack < 0) continue;
    const l = onFreed.get(c.kstack) ?? [];
    l.push(c.id);
    onFreed.set(c.kstack, l);
  }
  const rows: Row[] = sortedIds(s.kstacks).map((id) => {
    const k = s.kstacks.get(id)!;
    const cpus = k.state === "freed" ? (onFreed.get(id) ?? []) : [];
    const bad = cpus.length > 0;
    return {
      ref: { kind: "kstack", id },
      cells: [
        `${id}`,
        `${k.tid}`,
        k.state === "freed" ? (bad ? `freed✗` : k.flushed ? "freed+tlb" : "freed") : "mapped",
      ],
      mark: bad ? "bad" : k.state === "freed" ? "dim" : null,
      ...(bad ? { note: `cpu ${cpus.join(", ")} runs on freed kernel stack ${id}` } : {}),
    };
  });
  return {
    id: "kstacks",
    title: "KStacks",
    columns: ["id", "tid", "state"],
    widths: [3, 4, 6],
    align: ["right", "right", "left"],
    flex: 2,
    rows,
  };
}

export function procPane(s: KState): Pane {
  // An imported trace has no address spaces: no vmar column (as `ktrace state`).
  const vmars = !isImportedState(s);
  const rows: Row[] = sortedIds(s.procs).map((pid) => {
    const p = s.procs.get(pid)!;
    const notes: string[] = [];
    if (p.fds?.length)
      notes.push(
        `fds ${p.fds.map((f) => `${f.fd}=pipe ${f.pipe} ${f.write ? "w" : "r"}${f.cloexec ? " cloexec" : ""}`).join(", ")}`,
      );
    if (p.sigActions?.length)
      notes.push(p.sigActions.map(([sig, a]) => `${sigName(sig)}: ${sigActionText(a)}`).join(", "));
    if (p.sigPending?.length) notes.push(`pending ${p.sigPending.map((x) => sigName(x.sig)).join(", ")}`);
    if (p.adoptedSeq !== undefined) notes.push(`adopted by init at seq ${p.adoptedSeq}`);
    return {
      ref: { kind: "proc", id: pid },
      cells: [
        `${pid}`,
        p.ppid < 0 ? "-" : `${p.ppid}`,
        p.state === "zombie" ? "zomb" : "run",
        ...(vmars ? [p.vmarLock < 0 ? "-" : p.vmar === null ? "None" : `v${p.vmar}`] : []),
        p.name,
      ],
      mark: p.state === "zombie" ? (p.vmar === null ? "warn" : "dim") : null,
      ...(notes.length ? { note: `pid ${pid}: ${notes.join("; ")}` } : {}),
    };
  });
  return {
    id: "procs",
    title: "Processes",
    columns: ["pid", "ppid", "st", ...(vmars ? ["vmar"] : []), "name"],
    widths: [3, 4, 4, ...(vmars ? [4] : []), 4],
    align: ["right", "right", "left", ...(vmars ? (["left"] as const) : []), "left"],
    flex: vmars ? 4 : 3,
    rows,
  };
}

/** All state panes for a state, in display order. */
export function statePanes(s: KState): Pane[] {
  return [cpuPane(s), threadPane(s), lockPane(s), kstackPane(s), syncPane(s), procPane(s)];
}

/** Row counts per pane (the event list's count is the trace length). */
export function rowCounts(s: KState, total: number): PerPane {
  return {
    events: total,
    cpus: s.cpus.length,
    threads: s.threads.size,
    locks: s.locks.size,
    kstacks: s.kstacks.size,
    sync: syncPane(s).rows.length,
    procs: s.procs.size,
  };
}

/** The object in row `row` of `pane`, if any. */
export function refAt(s: KState, pane: StatePaneId, row: number): ObjectRef | undefined {
  const p = {
    cpus: cpuPane,
    threads: threadPane,
    locks: lockPane,
    kstacks: kstackPane,
    sync: syncPane,
    procs: procPane,
  }[pane](s);
  return p.rows[row]?.ref;
}
