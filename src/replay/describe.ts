// One readable line per event, in kernel terms, and the event's JSON form.
//
// describe(ev, state) names things (locks, processes, stacks) from `state`,
// which should be the state after ev (the cursor's state at ev.seq) but may
// be any nearby state: lock and pid names never change, and anything missing
// from the state falls back to its id.

import { fieldsOf, kindsMatching } from "../kernel/events.ts";
import { inversion, prioText, rank, rankText } from "../kernel/prio.ts";
import { type Drop, dropOf, mergedInto, pdeathSent, sigList } from "../kernel/signal.ts";
import {
  buffersStores,
  ERRNO_NAMES,
  EVENT_KINDS,
  type KEvent,
  KIND,
  type KState,
  LOCK_TYPES,
  OUTCOME_KINDS,
  ROBUST_STATES,
  reordersStores,
  SA_RESTART_HANDLER,
  SWITCH_STATES,
  sigActionOf,
  sigName,
  TRYLOCK_ACQUIRE,
  VAR_TYPES,
  type VarType,
  WAKE_HOW,
} from "../kernel/types.ts";
import { pipeRoom } from "../kernel/wait.ts";

/** What a signal event's signal came to when it was dropped at once (the fold's rule: dropOf), else "". */
function dropped(s: KState | undefined, ev: KEvent): string {
  const p = s?.procs.get(ev.a);
  if (s === undefined || p === undefined) return "";
  const why = dropOf(s, p, ev.c >= 0 ? s.threads.get(ev.c) : undefined, ev.b);
  if (why !== null) return `: dropped, ${DROPS[why]}`;
  const first = mergedInto(s, ev);
  return first === undefined
    ? ""
    : `: merged with the ${sigName(ev.b)} pending since seq ${first.seq} (a signal does not queue)`;
}
const DROPS: Record<Drop, string> = {
  "not running": "the process is not running",
  "not modelled": "a signal not modelled",
  init: "init ignores the signals it has no handler for",
  ignored: "the process ignores it",
};

/** Name of an event kind code ("kind#N" for a code this build does not know). */
export function kindName(kind: number): string {
  return EVENT_KINDS[kind]?.name ?? `kind#${kind}`;
}

function lockName(s: KState | undefined, id: number): string {
  const l = s?.locks.get(id);
  return l ? l.name : `lock ${id}`;
}

function lockTypeOf(s: KState | undefined, id: number): string {
  const l = s?.locks.get(id);
  return l ? l.type : "";
}

function who(tid: number): string {
  return tid < 0 ? "idle" : `tid ${tid}`;
}

/** How a lock-wait's thread waits, by its spin field: blocks (0), spins (1), or waits (2: an imported trace, which does not say). */
export function waitVerb(spin: number): string {
  return spin === 2 ? "waits for" : spin ? "spins on" : "blocks on";
}

/** A task of an imported trace as ftrace prints it, `comm-tid` (`tid N` without a comm, `idle` for -1). */
export function taskText(s: KState | undefined, tid: number): string {
  if (tid < 0) return "idle";
  const comm = s?.threads.get(tid)?.comm;
  return comm ? `${comm}-${tid}` : `tid ${tid}`;
}

const MALLOC_PATH = ["from the thread cache", "from the central free list", "from the page heap"];

/** "tid 3 (pid 2)": a thread as the invariants' messages name it (the pid when the thread still exists in s). */
export function actorText(s: KState | undefined, tid: number): string {
  const t = s?.threads.get(tid);
  return `tid ${tid}${t ? ` (pid ${t.pid})` : ""}`;
}

/** Where a lock, variable or object lives: "the kernel", "pid 2", "pid 2's kernel struct". */
export function spaceText(space: number): string {
  return space === 0 ? "the kernel" : space > 0 ? `pid ${space}` : `pid ${-space}'s kernel struct`;
}

/** spaceText for a table cell or a label: "kernel", "pid 2", "pid 2 kernel struct". */
export function spaceShort(space: number): string {
  return space === 0 ? "kernel" : space > 0 ? `pid ${space}` : `pid ${-space} kernel struct`;
}

/** A variable's name, with where it lives unless that is a process's user memory. */
export function varText(s: KState | undefined, id: number): string {
  const v = s?.vars.get(id);
  if (!v) return `var ${id}`;
  return v.space > 0 ? v.name : `${v.name} (${spaceText(v.space)})`;
}

/** A futex word as its role names it: "condvar cv", "semaphore items", "futex f". */
export function syncText(s: KState | undefined, id: number): string {
  const v = s?.vars.get(id);
  return `${v?.sync ?? "futex"} ${varText(s, id)}`;
}

/** An errno value by name: "EAGAIN" (errno N when unknown). */
export function errnoText(n: number): string {
  return ERRNO_NAMES[n] ?? `errno ${n}`;
}

/** What each wake `how` means, after "wakes tid N: ". */
const HOW_TEXT: Record<string, string> = {
  waking: "sched_waking",
  wakeup: "sched_wakeup",
  "wakeup-new": "a new task's first wakeup",
  futex: "futex_wake",
  timer: "its timer expired",
  signal: "a signal arrived for it (it interrupts a wait, or ends a sigwait)",
  pipe: "its pipe is ready",
  join: "the thread it joins has exited",
  lock: "the lock it waits on was released",
  child: "a child exited",
  kill: "it is killed",
};

/** A virtual time for messages: "1.5 µs", "3 ms". */
export function timeText(ns: number): string {
  if (ns < 1000) return `${ns} ns`;
  if (ns < 1e6) return `${+(ns / 1000).toFixed(2)} µs`;
  if (ns < 1e9) return `${+(ns / 1e6).toFixed(2)} ms`;
  return `${+(ns / 1e9).toFixed(3)} s`;
}

/** A value of a variable or register: an int, or a pointer shown as None or &name#id. */
export function valueText(s: KState | undefined, type: VarType | undefined, value: number): string {
  if (type !== "ptr") return String(value);
  if (value === 0) return "None";
  const o = s?.objs.get(value);
  return o ? `&${o.name}#${value}${o.state === "freed" ? " (freed)" : ""}` : `&#${value}`;
}

function accessText(s: KState | undefined, ev: KEvent, verb: string): string {
  const v = s?.vars.get(ev.a);
  const val = (x: number) => valueText(s, v?.type, x);
  const reg = ev.s ? `; ${ev.s} = ${val(ev.b)}` : "";
  if (ev.kind === KIND.cas) {
    return `tid ${ev.tid} ${verb} ${varText(s, ev.a)}: ${val(ev.b)} → ${val(ev.c)}${ev.c === ev.b ? " (unchanged)" : ""}${reg}`;
  }
  return `tid ${ev.tid} ${verb} ${varText(s, ev.a)}: ${val(ev.b)} → ${val(ev.c)}${reg}`;
}

/** What a store's line says under tso: where the value went. */
const BUFFERED = " (into its store buffer: other threads read the old value until its store-commit)";

/** How a store buffer's entry shows the store barrier after it (pso: PendingStore.wmb), in `state` and the TUI. */
export const WMB = " | smp_wmb";

/** One line describing ev in kernel terms. */
export function describe(ev: KEvent, state?: KState): string {
  const s = state;
  const t = `tid ${ev.tid}`;
  switch (ev.kind) {
    case KIND.switch: {
      if (ev.c !== 0)
        return `cpu ${ev.cpu}: ${taskText(s, ev.a)}${ev.a >= 0 ? ` (${SWITCH_STATES[ev.c] ?? `state ${ev.c}`})` : ""} → ${taskText(s, ev.b)}`;
      const to = ev.b >= 0 ? s?.threads.get(ev.b) : undefined;
      const prio = to && rank(to) > 0 ? ` (${prioText(to)})` : "";
      const inv = to && s ? inversion(s, to.tid) : undefined;
      const why = inv
        ? `; tid ${inv.high.tid} (${prioText(inv.high)}) waits on ${inv.lock.name} held by tid ${inv.owner.tid} (${prioText(inv.owner)}): priority inversion`
        : "";
      return `cpu ${ev.cpu}: ${who(ev.a)} → ${who(ev.b)}${prio}${why}`;
    }
    case KIND.user:
      return `${t}: ${ev.s}`;
    case KIND.kwork: {
      const k = ev.cpu >= 0 ? (s?.cpus[ev.cpu]?.kstack ?? -1) : -1;
      return `${ev.tid >= 0 ? t : "kernel"} (kernel${k >= 0 ? `, stack ${k}` : ""}): ${ev.s}`;
    }
    case KIND.procNew:
      return `process pid ${ev.a} "${ev.s}" created (ppid ${ev.b})`;
    case KIND.threadNew: {
      const pid = ev.b;
      return `thread tid ${ev.a} created in pid ${pid}${ev.c !== ev.a ? ` (pthread_self ${ev.c})` : ""}`;
    }
    case KIND.fork: {
      let copied = 0;
      const held: string[] = [];
      if (s) {
        for (const l of s.locks.values()) {
          if (l.copiedSeq !== ev.seq || l.space !== ev.b) continue;
          copied++;
          if (l.owner >= 0 && l.owner !== ev.c) held.push(`${l.name} held by tid ${l.owner}`);
        }
      }
      const ident = s?.threads.get(ev.c)?.ident;
      const id = ident !== undefined && ident !== ev.c ? `, pthread_self ${ident}` : "";
      const locks = s ? `, ${copied} lock${copied === 1 ? "" : "s"} copied` : "";
      const fds = (s?.procs.get(ev.b)?.fds ?? [])
        .filter((f) => f.seq === ev.seq)
        .map((f) => `${f.fd} (pipe ${f.pipe} ${f.write ? "write" : "read"})`);
      const fdText = fds.length ? `; inherits fd ${fds.join(", ")}` : "";
      return `fork: pid ${ev.a} → child pid ${ev.b} (tid ${ev.c}${id})${locks}${held.length ? `; ${held.join(", ")}` : ""}${fdText}`;
    }
    case KIND.spawn:
      return `posix_spawn: pid ${ev.a} → child pid ${ev.b} (tid ${ev.c}) running ${ev.s}`;
    case KIND.exec:
      return `pid ${ev.a} execs ${ev.s} (new address space; user locks dropped)`;
    case KIND.threadExit:
      return `tid ${ev.a} exits (code ${ev.b})`;
    case KIND.threadRelease:
      return `tid ${ev.a}'s control block dropped`;
    case KIND.procExit:
      return `pid ${ev.a} becomes a zombie (exit code ${ev.b})`;
    case KIND.reparent:
      return `children of pid ${ev.a} handed to pid ${ev.b}${ev.b === 1 ? " (init adopts the orphans and reaps them)" : ""}`;
    case KIND.vmarClear:
      return `pid ${ev.a}'s root VMAR cleared (set to None)`;
    case KIND.reap:
      return ev.tid >= 0
        ? `pid ${ev.a} reaped by ${t}`
        : `pid ${ev.a} reaped without a waitpid (an orphan init adopted, or its parent ignores SIGCHLD)`;
    case KIND.waitBlock:
      return `${t} blocks in waitpid(${ev.a < 0 ? "any child" : ev.a})`;
    case KIND.lockNew: {
      const type = LOCK_TYPES[ev.c] ?? "mutex";
      return `lock ${ev.a} ${ev.s} (${type}) created in ${spaceText(ev.b)}`;
    }
    case KIND.lockAcquire:
      return `${t} acquires ${lockName(s, ev.a)}${ev.b > 1 ? ` (level ${ev.b})` : ""}${ev.c === 1 ? " (inferred: its first event after the owner released it)" : ev.c === TRYLOCK_ACQUIRE ? " (trylock)" : ""}`;
    case KIND.lockWait: {
      const l = s?.locks.get(ev.a);
      const owner = l && l.owner >= 0 ? `, held by tid ${l.owner}` : ev.b === 2 ? ", owner unknown" : "";
      const o = l?.pi && l.owner >= 0 ? s?.threads.get(l.owner) : undefined;
      const boost =
        o?.boost !== undefined ? ` (priority inheritance: tid ${o.tid} now runs at ${rankText(o.boost)})` : "";
      return `${t} ${waitVerb(ev.b)} ${lockName(s, ev.a)}${owner}${boost}`;
    }
    case KIND.lockRelease:
      return `${t} releases ${lockName(s, ev.a)}${ev.b > 0 ? ` (level ${ev.b} left)` : ""}`;
    case KIND.unlockNotOwner: {
      const type = lockTypeOf(s, ev.a);
      return `${t} unlocks ${lockName(s, ev.a)}${type ? ` (${type})` : ""}: owner ident ${ev.b} ≠ ${ev.c}`;
    }
    case KIND.lockRestamp:
      return `${t} re-stamps ${lockName(s, ev.a)}'s owner ident to ${ev.b}`;
    case KIND.malloc:
      return `${t}: malloc(${ev.a}) ${MALLOC_PATH[ev.b] ?? `path ${ev.b}`}`;
    case KIND.free:
      return `${t}: free(${ev.a}) into the thread cache`;
    case KIND.tcacheNew:
      return `${t} gets a tcmalloc thread cache in pid ${ev.a}`;
    case KIND.kstackAlloc:
      return `kernel stack ${ev.a} allocated and mapped for tid ${ev.b}`;
    case KIND.kstackFree: {
      const k = s?.kstacks.get(ev.a);
      const running = s ? s.cpus.filter((c) => c.kstack === ev.a).map((c) => `cpu ${c.id}`) : [];
      const of = k ? ` (tid ${k.tid})` : "";
      return `kernel stack ${ev.a}${of} unmapped and freed${running.length ? `, while ${running.join(", ")} still runs on it` : ""}`;
    }
    case KIND.tlbFlush:
      return "sfence.vma: TLB flushed (freed kernel stacks now fault)";
    case KIND.pageFault:
      return `page fault: cpu ${ev.cpu} touched unmapped kernel stack ${ev.a}`;
    case KIND.procfsOpen:
      return `${t} opens ${ev.s || `/proc/${ev.a}/status`}${ev.b === 1 ? "" : s?.procs.has(ev.a) && s.procs.get(ev.a)!.state !== "reaped" ? "" : ": ESRCH (no such process)"}`;
    case KIND.procfsClose: {
      const p = s?.procs.get(ev.a);
      return `${t} closes /proc/${ev.a}/status${p ? "" : `; pid ${ev.a} was reaped meanwhile and is freed with this last reference`}`;
    }
    case KIND.procfsRead: {
      if (ev.b === 1) return `${t} reads /proc/${ev.a}/status: VmRSS from the VMAR`;
      if (ev.b === 0) return `${t} reads /proc/${ev.a}/status: VMAR is None, RSS lines left out`;
      const p = s?.procs.get(ev.a);
      const none = p && p.vmar === null ? ` (None since seq ${p.vmarClearedSeq})` : "";
      return `${t} reads /proc/${ev.a}/status: unwrap() of pid ${ev.a}'s VMAR${none}`;
    }
    case KIND.fatal:
      return `fatal error in pid ${ev.a} (signal ${ev.b}): ${ev.s}`;
    case KIND.panic:
      return `kernel panic: ${ev.s}`;
    case KIND.hang:
      return `hang: ${ev.s}`;
    case KIND.exitGroup:
      return `${t} calls exit(${ev.b})${ev.s ? ` (${ev.s})` : ""}: every thread of pid ${ev.a} exits`;
    case KIND.end:
      return `end of run: ${OUTCOME_KINDS[ev.a] ?? ev.a}${ev.s ? ` (${ev.s})` : ""}`;
    case KIND.varNew: {
      const [type, name, sync] = ev.s.split(" ") as [VarType, string | undefined, string | undefined];
      if (sync !== undefined) return `${sync} ${name} created in ${spaceText(ev.b)} (its word = ${ev.c})`;
      return `variable ${name ?? ""} (${type}) created in ${spaceText(ev.b)} = ${valueText(s, type, ev.c)}`;
    }
    case KIND.load:
    case KIND.atomicLoad: {
      const v = s?.vars.get(ev.a);
      const how = ev.kind === KIND.load ? "loads" : "atomically loads";
      // tso: a load of a variable the thread has a buffered store to reads that store (store forwarding).
      const fwd =
        s?.threads.get(ev.tid)?.stores?.some((x) => x.var === ev.a) === true ? " (from its own store buffer)" : "";
      return `${t} ${how} ${varText(s, ev.a)} = ${valueText(s, v?.type, ev.b)}${ev.s ? ` into ${ev.s}` : ""}${fwd}`;
    }
    case KIND.store:
      return `${accessText(s, ev, "stores")}${s !== undefined && buffersStores(s.config) ? BUFFERED : ""}`;
    case KIND.atomicStore:
      return `${accessText(s, ev, "atomically stores")}${s !== undefined && buffersStores(s.config) ? BUFFERED : ""}`;
    case KIND.storeCommit: {
      const ty = s?.vars.get(ev.a)?.type;
      return `${t}'s buffered store reaches memory: ${varText(s, ev.a)}: ${valueText(s, ty, ev.b)} → ${valueText(s, ty, ev.c)}`;
    }
    case KIND.fence:
      if (ev.a === 1)
        return `${t}: store barrier (smp_wmb)${s !== undefined && reordersStores(s.config) ? ": the stores it buffered so far reach memory before any it buffers after" : ""}`;
      return `${t}: memory barrier (smp_mb)${s !== undefined && buffersStores(s.config) ? ": its store buffer is empty" : ""}`;
    case KIND.cas:
      return accessText(s, ev, "compare-and-swaps");
    case KIND.fetchAdd:
      return accessText(s, ev, "fetch-adds");
    case KIND.xchg:
      return accessText(s, ev, "exchanges");
    case KIND.regSet:
      return `${t}: ${ev.s} = ${valueText(s, VAR_TYPES[ev.b], ev.a)}`;
    case KIND.objNew: {
      const o = s?.objs.get(ev.a);
      return `${t} allocates ${ev.s}#${ev.a} in ${spaceText(o ? o.space : ev.b)}`;
    }
    case KIND.objFree: {
      const o = s?.objs.get(ev.a);
      const name = `${o ? o.name : "object"}#${ev.a}`;
      return ev.b ? `${t} frees ${name} again: double free (freed at seq ${o?.freeSeq ?? "?"})` : `${t} frees ${name}`;
    }
    case KIND.objUse: {
      const o = s?.objs.get(ev.a);
      const name = `${o ? o.name : "object"}#${ev.a}`;
      return `${t} dereferences ${name} (${ev.s})${ev.b ? `: use after free (freed at seq ${o?.freeSeq ?? "?"})` : ""}`;
    }
    case KIND.assertFail:
      return `${t}: ${ev.a ? "kernel check fails" : "check fails"}: ${ev.s}`;
    case KIND.progress:
      return `${t} makes progress: ${ev.s}`;
    case KIND.lockMisuse:
      return `${t}: ${misuseText(s, ev)}`;
    // ---- imported traces ----
    case KIND.taskNew:
      return `task ${ev.s ? `${ev.s}-${ev.a}` : `tid ${ev.a}`} seen: ${ev.a === ev.b ? `leader of pid ${ev.b}` : `a thread of pid ${ev.b}`}${ev.c >= 0 ? ` (parent pid ${ev.c})` : ""}`;
    case KIND.taskFork:
      return `${taskText(s, ev.tid)} creates ${ev.s ? `${ev.s}-${ev.a}` : `tid ${ev.a}`}: ${ev.c ? `a thread of pid ${ev.b}` : `new process pid ${ev.b}`}`;
    case KIND.threadState:
      return `${taskText(s, ev.a)} is ${SWITCH_STATES[ev.b] || `state ${ev.b}`}`;
    case KIND.migrate:
      return `${taskText(s, ev.a)} moves from cpu ${ev.b} to cpu ${ev.c}`;
    case KIND.cpuCtx: {
      const what = ev.a === 1 ? `hardirq ${ev.c}` : ev.a === 2 ? `softirq ${ev.s || ev.c}` : `context ${ev.a}`;
      if (ev.b) return `cpu ${ev.cpu} enters ${what}${ev.a === 1 && ev.s ? ` (${ev.s})` : ""}`;
      return `cpu ${ev.cpu} leaves ${what}${ev.a === 1 && ev.s ? ` (${ev.s})` : ""}`;
    }
    case KIND.taskJoin:
      return `${taskText(s, ev.a)} belongs to pid ${ev.b}`;
    case KIND.taskRename:
      return `tid ${ev.a} is renamed ${ev.s}`;
    case KIND.taskExec:
      return `${taskText(s, ev.a)} execs ${ev.s}${ev.b !== ev.a ? ` (its thread ${ev.b} takes the leader's tid ${ev.a})` : ""}`;
    case KIND.lockWaitEnd:
      return `${t} stops waiting for ${lockName(s, ev.a)}${ev.b === 0 ? "" : ` (error ${ev.b})`}`;
    case KIND.lost:
      return ev.a < 0
        ? `cpu ${ev.cpu}: its last event in the trace (its recording may have stopped before the other cpus'): what it runs from here is not known`
        : `cpu ${ev.cpu}: the tracer lost ${ev.a} events here (what follows may not fit)`;
    case KIND.generic:
      return ev.s;
    case KIND.wake: {
      const how = WAKE_HOW[ev.c];
      const by = ev.b >= 0 ? taskText(s, ev.b) : ev.cpu >= 0 ? `cpu ${ev.cpu}` : "the kernel";
      const what = how === undefined ? `how ${ev.c}` : (HOW_TEXT[how] ?? how);
      return `${by} wakes ${taskText(s, ev.a)}: ${what}${ev.s ? ` (${ev.s})` : ""}`;
    }
    case KIND.futexWait: {
      const until = ev.c >= 0 ? `, timeout at ${timeText(ev.c)}` : "";
      return `${t} waits on ${syncText(s, ev.a)} (word = ${ev.b})${until}`;
    }
    case KIND.futexWake: {
      const n = ev.b >= 2 ** 31 - 1 ? "all" : `up to ${ev.b}`;
      const lost = ev.c === 0 ? ": no thread is waiting, the wakeup is lost" : `: ${ev.c} woken`;
      return `${t} wakes ${n} on ${syncText(s, ev.a)}${lost}`;
    }
    case KIND.sleep:
      return `${t} sleeps until ${timeText(ev.a)}`;
    case KIND.errno:
      return `${t}: ${ev.s || "a system call"} fails: ${errnoText(ev.a)}`;
    case KIND.joinWait:
      return `${t} blocks in pthread_join(tid ${ev.a})`;
    case KIND.join:
      return `${t} joins tid ${ev.a} (exit code ${ev.b})`;
    case KIND.schedSet: {
      const th = s?.threads.get(ev.a);
      return `${ev.tid === ev.a ? t : `tid ${ev.a}`} runs at ${ev.c === 1 ? `fifo ${ev.b}` : `other${ev.b ? ` (priority ${ev.b})` : ""}`}${th?.boost !== undefined ? ` (boosted to ${rankText(th.boost)})` : ""}`;
    }
    case KIND.lockRobust:
      return `${t}: ${robustText(s, ev)}`;
    case KIND.detach:
      return `tid ${ev.a} is detached${ev.tid >= 0 && ev.tid !== ev.a ? ` by ${t}` : ""}`;
    case KIND.signal: {
      const by = ev.tid >= 0 ? t : "the kernel";
      const to = ev.c >= 0 ? `tid ${ev.c} (pid ${ev.a})` : `pid ${ev.a}`;
      const pdeath =
        s !== undefined && ev.c < 0 && pdeathSent(s, ev.tid, ev.a, ev.b)
          ? ` (its parent-death signal: tid ${ev.tid}, the thread that forked it, exited)`
          : "";
      return `${by} sends ${sigName(ev.b)} to ${to}${pdeath}${dropped(s, ev)}`;
    }
    case KIND.sigaction: {
      const act = sigActionOf(ev.b) ?? `action ${ev.b}`;
      return `${t} sets ${sigName(ev.a)} to ${act === "handler" ? `run ${ev.s || "its handler"}${ev.b === SA_RESTART_HANDLER ? " (SA_RESTART)" : ""}` : act === "ignore" ? "be ignored" : "its default action"}`;
    }
    case KIND.sigmask: {
      const names: string[] = [];
      for (let sig = 1; sig <= 31; sig++) if (ev.a & (1 << (sig - 1))) names.push(sigName(sig));
      return `${t} blocks ${names.length ? names.join(", ") : "no signal"}`;
    }
    case KIND.signalDeliver: {
      const what =
        ev.b === 2
          ? "its handler runs"
          : ev.b === 0
            ? "the default action kills the process"
            : ev.b === 3
              ? "sigwait takes it (no action runs)"
              : "ignored";
      return `${t} takes ${sigName(ev.a)} (sent at seq ${ev.c}): ${what}`;
    }
    case KIND.sigreturn:
      return `${t} returns from its ${sigName(ev.a)} handler`;
    case KIND.pause:
      return `${t} waits for a signal (pause)`;
    case KIND.sigwait:
      return `${t} waits in sigwait for ${sigList(ev.a) || "no signal"}${ev.b >= 0 ? ` until t=${ev.b} ns` : ""}`;
    case KIND.pdeathsig: {
      if (ev.a === 0) return `${t} clears its parent-death signal (prctl PR_SET_PDEATHSIG, 0)`;
      const p = s?.procs.get(s.threads.get(ev.tid)?.pid ?? -1);
      const late =
        p?.adoptedSeq !== undefined && p.adoptedSeq < ev.seq
          ? `: its parent already exited (init adopted pid ${p.pid} at seq ${p.adoptedSeq}), so it never comes`
          : "";
      return `${t} asks for ${sigName(ev.a)} when the thread that forked its process exits (prctl PR_SET_PDEATHSIG)${late}`;
    }
    case KIND.pipeNew:
      return `${t} creates pipe ${ev.a} (${ev.b} bytes)`;
    case KIND.fdOpen: {
      const pid = s?.threads.get(ev.tid)?.pid;
      const end = ev.c & 1 ? "write" : "read";
      return `${t}${pid !== undefined ? ` (pid ${pid})` : ""} gets fd ${ev.a}: pipe ${ev.b}'s ${end} end${ev.c & 2 ? " (close-on-exec)" : ""}`;
    }
    case KIND.fdClose: {
      const p = s?.pipes.get(ev.b);
      const left =
        p === undefined
          ? `; pipe ${ev.b} is gone`
          : p.wclosedSeq === ev.seq
            ? `; no write end of pipe ${ev.b} is open any more (readers see EOF)`
            : "";
      return `${t} closes fd ${ev.a} (pipe ${ev.b})${left}`;
    }
    case KIND.fdFlags:
      return `${t} ${ev.b ? "sets" : "clears"} close-on-exec on fd ${ev.a}`;
    case KIND.pipeWrite: {
      const cap = s?.pipes.get(ev.a)?.cap;
      return `${t} writes ${ev.b} bytes into pipe ${ev.a} (${ev.c}${cap !== undefined ? `/${cap}` : ""} buffered)`;
    }
    case KIND.pipeRead:
      return ev.b === 0
        ? `${t} reads pipe ${ev.a}: end of file`
        : `${t} reads ${ev.b} bytes from pipe ${ev.a} (${ev.c} left)`;
    case KIND.pipeWait:
      return ev.b
        ? `${t} blocks writing pipe ${ev.a} (${pipeRoom(s, ev.a, ev.c)})`
        : `${t} blocks reading pipe ${ev.a} (empty)`;
    default:
      return `${kindName(ev.kind)} a=${ev.a} b=${ev.b} c=${ev.c}${ev.s ? ` s=${JSON.stringify(ev.s)}` : ""}`;
  }
}

/** What a lock-misuse event says, in kernel terms: "unlocks m, which is not held: undefined behaviour (default mutex)". */
export function misuseText(s: KState | undefined, ev: KEvent): string {
  const l = s?.locks.get(ev.a);
  const name = lockName(s, ev.a);
  const type = l ? l.type : "";
  const outcome =
    ev.c !== 0
      ? `returns ${errnoText(ev.c)}`
      : type === "recursive"
        ? "fatal"
        : `undefined behaviour${type ? ` (${type === "mutex" ? "default mutex" : type})` : ""}`;
  switch (ev.b) {
    case 0:
      return `unlocks ${name}, which is not held: ${outcome}`;
    case 1:
      return `unlocks ${name}, held by tid ${l && l.owner >= 0 ? l.owner : "?"}: unlock by a non-owner: ${outcome}`;
    case 2:
      return `locks ${name}, which it already holds: ${ev.c !== 0 ? outcome : `self-deadlock, ${outcome}`}`;
    case 3:
      return `unlocks recursive ${name} below level 0: ${outcome}`;
    case 4:
      return `unlocks robust ${name}, inconsistent since it took it with EOWNERDEAD, without pthread_mutex_consistent: it is now not recoverable (every later lock fails with ENOTRECOVERABLE)`;
    default:
      return `misuses ${name} (what ${ev.b}): ${outcome}`;
  }
}

/** What a lock-robust event says: "robust m: tid 3 died holding it (owner-died: the next lock returns EOWNERDEAD)". */
function robustText(s: KState | undefined, ev: KEvent): string {
  const name = `robust ${lockName(s, ev.a)}`;
  switch (ROBUST_STATES[ev.b]) {
    case "owner-died":
      return `${name}: tid ${ev.c} died holding it (owner-died: freed, and the next lock returns EOWNERDEAD)`;
    case "inconsistent":
      return `takes ${name} with EOWNERDEAD: its owner died holding it; what it protects may be inconsistent until pthread_mutex_consistent`;
    case "consistent":
      return `marks ${name} consistent (pthread_mutex_consistent)`;
    case "not-recoverable":
      return `${name} is not recoverable: unlocked while inconsistent; every later lock fails with ENOTRECOVERABLE`;
    default:
      return `${name}: state ${ev.b}`;
  }
}

/** An event as JSON: kind by name, slots by name (EVENT_KINDS[kind].args / .str) under `args`, and `desc`. */
export interface EventJson {
  seq: number;
  time: number;
  cpu: number;
  tid: number;
  kind: string;
  args: Record<string, number | string>;
  desc: string;
}

/** An event's fields by name (EventJson's `args`; a, b, c, s for a kind this build does not know). */
export function eventArgs(ev: KEvent): Record<string, number | string> {
  return fieldsOf(ev);
}

export function eventJson(ev: KEvent, state?: KState): EventJson {
  return {
    seq: ev.seq,
    time: ev.time,
    cpu: ev.cpu,
    tid: ev.tid,
    kind: kindName(ev.kind),
    args: fieldsOf(ev),
    desc: describe(ev, state),
  };
}

/** Bad --kind pattern. exitCode 2. */
export class PatternError extends Error {
  readonly exitCode = 2;
  readonly hint?: string;
  constructor(message: string, hint?: string) {
    super(message);
    if (hint !== undefined) this.hint = hint;
  }
}

/**
 * Kind codes matching a pattern: a comma list of kind names or globs
 * (`lock-*`, `fork,spawn,exec`, `*exit*`; `lock.*` works too). Returns a
 * mask indexed by kind code. Throws PatternError when a part matches nothing.
 */
export function kindMask(pattern: string): Uint8Array {
  const mask = new Uint8Array(EVENT_KINDS.length);
  const parts = pattern
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  if (parts.length === 0) throw new PatternError(`empty kind pattern`, "e.g. --kind 'lock-*' or --kind fork,exec");
  const miss = { part: "" };
  const codes = kindsMatching(pattern, miss);
  if (codes === null) {
    throw new PatternError(
      `kind pattern '${miss.part}' matches no event kind`,
      `kinds: ${EVENT_KINDS.map((k) => k.name).join(", ")}`,
    );
  }
  for (const c of codes) mask[c] = 1;
  return mask;
}

/** The name of a generic event (imported traces), with and without its `system:` prefix. */
function genericNames(text: string): [string, string] {
  const sp = text.indexOf(" ");
  const full = sp < 0 ? text : text.slice(0, sp);
  const colon = full.indexOf(":");
  return [full, colon < 0 ? full : full.slice(colon + 1)];
}

/**
 * A --kind pattern as a predicate on events: kind names and globs as
 * kindMask takes them, and `generic:GLOB` for the generic events of an
 * imported trace whose event name matches (`generic:sched_stat*`,
 * `generic:irq:*`). Throws PatternError as kindMask does.
 */
export function eventMatcher(pattern: string): (ev: KEvent) => boolean {
  const parts = pattern
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  const named = parts.filter((p) => p.startsWith("generic:")).map((p) => p.slice("generic:".length));
  const rest = parts.filter((p) => !p.startsWith("generic:"));
  if (named.some((g) => g === ""))
    throw new PatternError("empty name after generic:", "e.g. --kind 'generic:sched_stat*'");
  const mask = rest.length > 0 ? kindMask(rest.join(",")) : null;
  const res = named.map(
    (g) =>
      new RegExp(
        `^${g
          .replace(/[\\^$+.()|{}[\]]/g, "\\$&")
          .replace(/\*/g, ".*")
          .replace(/\?/g, ".")}$`,
      ),
  );
  if (mask === null && res.length === 0) kindMask(pattern); // an empty pattern: throws
  return (ev) => {
    if (mask !== null && mask[ev.kind] === 1) return true;
    if (res.length === 0 || ev.kind !== KIND.generic) return false;
    const [full, bare] = genericNames(ev.s);
    return res.some((re) => re.test(full) || re.test(bare));
  };
}
