// The replay engine as the UI uses it: re-exports from src/replay (and the
// kernel's types), plus the one adapter the UI needs on top: `explain`, which
// turns the engine's why() entries for a pane row or an event into the lines
// of the explanation dialog. This is the only file of src/tui that imports
// from outside src/tui besides the kernel types.

import { EVENT_KINDS, KIND, type KEvent, type KState, type OutcomeKind } from '../kernel/types.ts';
import { Cursor, describe, displaySafe, kindName, openSource, type ObjectRef as WhyRef, type WhyEntry } from '../replay/index.ts';
import { safeText } from '../util/safe-text.ts';
import type { TraceInfo } from './frame.ts';
import { ownerProblem, type ObjectRef } from './rows.ts';

export {
  Cursor,
  NoSuchPointError,
  describe,
  eventOrNull,
  kindName,
  openSource,
  parseWatch,
  type ReplaySource,
  type Stop,
  type Violation,
  type Watchpoint,
  type WhyEntry,
} from '../replay/index.ts';
export { EVENT_KINDS, KIND, type KEvent, type KState, type OutcomeKind };

/** The trace facts the header and timeline show, from a cursor and the file name. */
export function traceInfo(cursor: Cursor, file: string): TraceInfo {
  const src = cursor.source;
  const r = src.recovery;
  return {
    file: safeText(file),
    scenario: src.meta.scenario,
    fix: src.meta.fix,
    seed: src.meta.seed,
    cpus: src.meta.config.cpus,
    total: src.eventCount,
    outcome: src.outcome === null ? null : { kind: src.outcome.kind, seq: src.outcome.seq, message: src.outcome.message },
    snapshotSeqs: src.snapshotSeqs,
    recovery: r === null ? null : `${r.events} events; ${r.reason}`,
  };
}

/**
 * Opens a trace file for the UI: the source, a cursor at the start, and its
 * facts. Every string the UI shows comes through displaySafe (safe-text.ts).
 * Throws TraceError (exitCode 2).
 */
export function openCursor(path: string): { cursor: Cursor; info: TraceInfo } {
  const cursor = new Cursor(displaySafe(openSource(path)));
  return { cursor, info: traceInfo(cursor, path) };
}

/** The explanation dialog's content. */
export interface Explanation {
  readonly title: string;
  readonly lines: readonly string[];
  /** The event Enter jumps to: who last set the owner, who freed the stack; null when none. */
  readonly seq: number | null;
}

/** Roles of why() entries, most telling first: the one Enter jumps to. */
const JUMP_ROLES = ['owner', 'freed', 'cleared', 'waits-on-owner', 'copied', 'released', 'exiting', 'allocated', 'created'];

function entryLines(entries: readonly WhyEntry[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    out.push(`seq ${e.seq}  ${e.role}: ${e.explanation}`);
    if (e.desc !== undefined && !e.explanation.includes(e.desc)) out.push(`    event: ${e.desc}`);
  }
  return out;
}

function jumpOf(entries: readonly WhyEntry[]): number | null {
  for (const role of JUMP_ROLES) {
    const e = entries.find((x) => x.role === role);
    if (e !== undefined) return e.seq;
  }
  return entries.length > 0 ? entries[entries.length - 1]!.seq : null;
}

function whyOf(cursor: Cursor, ref: WhyRef): WhyEntry[] {
  try {
    return cursor.why(ref);
  } catch {
    return [];
  }
}

function objectTitle(s: KState, ref: ObjectRef): string {
  switch (ref.kind) {
    case 'cpu': {
      const c = s.cpus[ref.id];
      return `cpu ${ref.id}${c && c.tid >= 0 ? ` running tid ${c.tid}` : ' (idle)'}`;
    }
    case 'thread': {
      const t = s.threads.get(ref.id);
      return `thread tid ${ref.id}${t ? ` (pid ${t.pid}, ${t.state}, pthread_self ${t.ident})` : ''}`;
    }
    case 'lock': {
      const l = s.locks.get(ref.id);
      if (!l) return `lock ${ref.id}`;
      const owner = l.owner < 0 ? 'free' : `owner tid ${l.owner}, level ${l.level}`;
      return `lock ${l.name} (${l.type}, ${l.space === 0 ? 'kernel' : `pid ${l.space}`}; ${owner})`;
    }
    case 'kstack': {
      const k = s.kstacks.get(ref.id);
      return `kernel stack ${ref.id}${k ? ` (tid ${k.tid}, ${k.state})` : ''}`;
    }
    case 'proc': {
      const p = s.procs.get(ref.id);
      return `process pid ${ref.id}${p ? ` ${p.name} (${p.state}, VMAR ${p.vmar === null ? 'None' : p.vmar})` : ''}`;
    }
  }
}

/** The engine's reference for a pane row's object (the same {kind, id} shape). */
function whyRef(ref: ObjectRef): WhyRef {
  return { kind: ref.kind, id: ref.id };
}

/** The objects an event acts on, for explaining the event. */
function eventRefs(ev: KEvent): ObjectRef[] {
  const out: ObjectRef[] = [];
  switch (ev.kind) {
    case KIND.lockNew:
    case KIND.lockAcquire:
    case KIND.lockWait:
    case KIND.lockRelease:
    case KIND.unlockNotOwner:
    case KIND.lockRestamp:
      out.push({ kind: 'lock', id: ev.a });
      break;
    case KIND.kstackAlloc:
    case KIND.kstackFree:
    case KIND.pageFault:
      out.push({ kind: 'kstack', id: ev.a });
      break;
    case KIND.fork:
    case KIND.spawn:
      out.push({ kind: 'proc', id: ev.b });
      break;
    case KIND.exec:
    case KIND.procExit:
    case KIND.vmarClear:
    case KIND.reap:
    case KIND.procfsOpen:
    case KIND.procfsRead:
      out.push({ kind: 'proc', id: ev.a });
      break;
  }
  if (ev.tid >= 0) out.push({ kind: 'thread', id: ev.tid });
  return out;
}

/**
 * Explains an object at the cursor (who last set this lock's owner, who freed
 * this stack, ...) or an event (`{kind: 'event', id: seq}`: its description
 * and the why of the objects it acts on).
 */
export function explain(cursor: Cursor, ref: ObjectRef | { readonly kind: 'event'; readonly id: number }): Explanation {
  const s = cursor.state;
  if (ref.kind === 'event') {
    const ev = cursor.eventAt(ref.id);
    const lines = [`${kindName(ev.kind)} on cpu ${ev.cpu}, tid ${ev.tid}: ${describe(ev, s)}`, `  (${EVENT_KINDS[ev.kind]?.doc ?? ''})`];
    const all: WhyEntry[] = [];
    for (const r of eventRefs(ev)) {
      const entries = whyOf(cursor, whyRef(r)).filter((e) => e.seq !== ev.seq);
      if (entries.length === 0) continue;
      lines.push('', `${objectTitle(s, r)}:`);
      lines.push(...entryLines(entries).map((l) => `  ${l}`));
      all.push(...entries);
    }
    if (all.length === 0) lines.push('', 'no earlier event set up the objects it acts on');
    return { title: `event ${ev.seq}`, lines, seq: jumpOf(all) };
  }
  const title = objectTitle(s, ref);
  const lines: string[] = [];
  if (ref.kind === 'lock') {
    const p = ownerProblem(s, ref.id);
    if (p !== undefined) lines.push(`✗ ${p}`);
  }
  if (ref.kind === 'cpu') {
    const c = s.cpus[ref.id];
    if (c !== undefined && c.kstack >= 0 && s.kstacks.get(c.kstack)?.state === 'freed') {
      lines.push(`✗ cpu ${ref.id} runs on kernel stack ${c.kstack}, which is freed`);
    }
  }
  const entries = whyOf(cursor, whyRef(ref));
  lines.push(...entryLines(entries));
  if (entries.length === 0) lines.push('no event has changed it yet (as created in the initial state)');
  return { title, lines, seq: jumpOf(entries) };
}
