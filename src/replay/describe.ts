// One readable line per event, in kernel terms, and the event's JSON form.
//
// describe(ev, state) names things (locks, processes, stacks) from `state`,
// which should be the state after ev (the cursor's state at ev.seq) but may
// be any nearby state: lock and pid names never change, and anything missing
// from the state falls back to its id.

import { fieldsOf, kindsMatching } from "../kernel/events.ts";
import { EVENT_KINDS, KIND, LOCK_TYPES, OUTCOME_KINDS, VAR_TYPES, type KEvent, type KState, type VarType } from "../kernel/types.ts";

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

/** A variable's name, with where it lives unless that is a process's user memory. */
export function varText(s: KState | undefined, id: number): string {
  const v = s?.vars.get(id);
  if (!v) return `var ${id}`;
  return v.space > 0 ? v.name : `${v.name} (${spaceText(v.space)})`;
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

/** One line describing ev in kernel terms. */
export function describe(ev: KEvent, state?: KState): string {
  const s = state;
  const t = `tid ${ev.tid}`;
  switch (ev.kind) {
    case KIND.switch:
      return `cpu ${ev.cpu}: ${who(ev.a)} → ${who(ev.b)}`;
    case KIND.user:
      return `${t}: ${ev.s}`;
    case KIND.kwork: {
      const k = ev.cpu >= 0 ? s?.cpus[ev.cpu]?.kstack ?? -1 : -1;
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
      return `fork: pid ${ev.a} → child pid ${ev.b} (tid ${ev.c}${id})${locks}${held.length ? `; ${held.join(", ")}` : ""}`;
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
      return `children of pid ${ev.a} handed to pid ${ev.b}`;
    case KIND.vmarClear:
      return `pid ${ev.a}'s root VMAR cleared (set to None)`;
    case KIND.reap:
      return `pid ${ev.a} reaped by ${t}`;
    case KIND.waitBlock:
      return `${t} blocks in waitpid(${ev.a < 0 ? "any child" : ev.a})`;
    case KIND.lockNew: {
      const type = LOCK_TYPES[ev.c] ?? "mutex";
      return `lock ${ev.a} ${ev.s} (${type}) created in ${spaceText(ev.b)}`;
    }
    case KIND.lockAcquire:
      return `${t} acquires ${lockName(s, ev.a)}${ev.b > 1 ? ` (level ${ev.b})` : ""}`;
    case KIND.lockWait: {
      const l = s?.locks.get(ev.a);
      const owner = l && l.owner >= 0 ? `, held by tid ${l.owner}` : "";
      return `${t} ${ev.b ? "spins on" : "blocks on"} ${lockName(s, ev.a)}${owner}`;
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
      const sp = ev.s.indexOf(" ");
      const type = ev.s.slice(0, sp) as VarType;
      return `variable ${ev.s.slice(sp + 1)} (${type}) created in ${spaceText(ev.b)} = ${valueText(s, type, ev.c)}`;
    }
    case KIND.load:
    case KIND.atomicLoad: {
      const v = s?.vars.get(ev.a);
      const how = ev.kind === KIND.load ? "loads" : "atomically loads";
      return `${t} ${how} ${varText(s, ev.a)} = ${valueText(s, v?.type, ev.b)}${ev.s ? ` into ${ev.s}` : ""}`;
    }
    case KIND.store:
      return accessText(s, ev, "stores");
    case KIND.atomicStore:
      return accessText(s, ev, "atomically stores");
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
    default:
      return `${kindName(ev.kind)} a=${ev.a} b=${ev.b} c=${ev.c}${ev.s ? ` s=${JSON.stringify(ev.s)}` : ""}`;
  }
}

const ERRNO_NAMES: Record<number, string> = { 1: "EPERM", 35: "EDEADLK" };

/** What a lock-misuse event says, in kernel terms: "unlocks m, which is not held: undefined behaviour (default mutex)". */
export function misuseText(s: KState | undefined, ev: KEvent): string {
  const l = s?.locks.get(ev.a);
  const name = lockName(s, ev.a);
  const type = l ? l.type : "";
  const outcome = ev.c !== 0 ? `returns ${ERRNO_NAMES[ev.c] ?? `errno ${ev.c}`}` : type === "recursive" ? "fatal" : `undefined behaviour${type ? ` (${type === "mutex" ? "default mutex" : type})` : ""}`;
  switch (ev.b) {
    case 0: return `unlocks ${name}, which is not held: ${outcome}`;
    case 1: return `unlocks ${name}, held by tid ${l && l.owner >= 0 ? l.owner : "?"}: unlock by a non-owner: ${outcome}`;
    case 2: return `locks ${name}, which it already holds: ${ev.c !== 0 ? outcome : `self-deadlock, ${outcome}`}`;
    case 3: return `unlocks recursive ${name} below level 0: ${outcome}`;
    default: return `misuses ${name} (what ${ev.b}): ${outcome}`;
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
  return { seq: ev.seq, time: ev.time, cpu: ev.cpu, tid: ev.tid, kind: kindName(ev.kind), args: fieldsOf(ev), desc: describe(ev, state) };
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
  const parts = pattern.split(",").map((p) => p.trim()).filter((p) => p !== "");
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
