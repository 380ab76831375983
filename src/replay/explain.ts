// A violation as a report: the event, the invariant, the message, the events
// that set it up (causes) and the few events just before it on the same thread
// (context). Used by `ktrace check`, the report and the TUI.

import type { KEvent, KState } from "../kernel/types.ts";
import { checkCauses, type FlowCause } from "./dataflow.ts";
import { type EventJson, eventJson } from "./describe.ts";
import type { Violation } from "./invariants.ts";
import { walk } from "./scan.ts";
import type { ReplaySource } from "./source.ts";

export interface CauseReport {
  seq: number;
  /** The cause's part in the violation. */
  why: string;
  kind: string;
  desc: string;
  /** Where a bad value came from (dataflow.ts: a write a check's load read, the reap that took a child first, a lost update's store). */
  root?: true;
}

export interface ViolationReport {
  seq: number;
  invariant: string;
  message: string;
  time: number;
  cpu: number;
  tid: number;
  kind: string;
  desc: string;
  /** Earlier events that set it up, oldest first. */
  causes: CauseReport[];
  /** The last few events before it by the same thread (or on the same cpu; for a hang or the end, of any), oldest first. */
  context: EventJson[];
}

/**
 * Builds the report of v. `state` names things in the violating event's
 * description; pass the state at v.seq (after the violating event) when you
 * have it. Every earlier event is described with the state just after it, as
 * `ktrace events` describes it (a lock-wait names the lock's owner then, not
 * at the violation), folded from the snapshot before it.
 */
export function violationReport(src: ReplaySource, v: Violation, state?: KState, contextEvents = 4): ViolationReport {
  const ev = v.event;
  const evj = eventJson(ev, state);
  const described = new Map<number, EventJson>();
  // A failed check of the program's own: where the values it read came from (dataflow.ts).
  const all: FlowCause[] = [...v.causes];
  // One cause per event: a second part the same event plays is said after the first.
  for (const c of checkCauses(src, v, state)) {
    const i = all.findIndex((x) => x.seq === c.seq);
    if (i < 0) all.push(c);
    else all[i] = { ...all[i]!, why: `${all[i]!.why}; ${c.why}`, ...(c.root ? { root: true as const } : {}) };
  }
  all.sort((a, b) => a.seq - b.seq);
  withStates(
    src,
    all.map((c) => c.seq),
    (e, st) => described.set(e.seq, eventJson({ ...e }, st ?? undefined)),
  );
  const causes = all
    .filter((c) => c.seq >= 0 && c.seq < src.eventCount)
    .map((c): CauseReport => {
      const j = described.get(c.seq);
      const root = c.root ? { root: true as const } : {};
      return j === undefined
        ? {
            seq: c.seq,
            why: c.why,
            kind: "missing",
            desc: "(the event is missing: the trace is damaged there)",
            ...root,
          }
        : { seq: c.seq, why: c.why, kind: j.kind, desc: j.desc, ...root };
    });
  // The same thread's, else the same cpu's; an event of the kernel as a whole (a hang, the end) has neither: the last events.
  const same =
    ev.tid >= 0 ? (e: KEvent) => e.tid === ev.tid : ev.cpu >= 0 ? (e: KEvent) => e.cpu === ev.cpu : undefined;
  const context = describedEvents(src, v.seq - 256, v.seq - 1, same).slice(-contextEvents);
  return {
    seq: v.seq,
    invariant: v.invariant,
    message: v.message,
    time: ev.time,
    cpu: ev.cpu,
    tid: ev.tid,
    kind: evj.kind,
    desc: evj.desc,
    causes,
    context,
  };
}

/**
 * The events from..to that `keep` keeps (all by default), in order, each
 * described with the state just after it, as `ktrace events` describes it
 * (by ids where that state is unknown); events the trace lost are left out.
 * Folds from the snapshot before `from`: the cost of a seek, plus the range.
 */
export function describedEvents(
  src: ReplaySource,
  from: number,
  to: number,
  keep: (e: KEvent) => boolean = () => true,
): EventJson[] {
  const out: EventJson[] = [];
  walk(src, Math.max(0, from), to, {
    event: (e, st) => {
      if (keep(e)) out.push(eventJson({ ...e }, st ?? undefined));
    },
  });
  return out;
}

/** Event seq described with the state just after it (describedEvents); null when the trace lost it. */
export function describedAt(src: ReplaySource, seq: number): EventJson | null {
  return describedEvents(src, seq, seq)[0] ?? null;
}

/** Seqs closer than this share one fold (cheaper than a second seek). */
const SHARED_FOLD = 1024;

/**
 * Calls visit(ev, st) for each event of `seqs` the trace holds, in seq order,
 * with st the state just after it (null where unknown): the seqs near each
 * other are folded in one walk, the others each from its snapshot. The event
 * object may be reused between calls.
 */
export function withStates(
  src: ReplaySource,
  seqs: Iterable<number>,
  visit: (ev: KEvent, st: KState | null) => void,
): void {
  const sorted = [...new Set(seqs)].filter((q) => q >= 0 && q < src.eventCount).sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1]! - sorted[j]! <= SHARED_FOLD) j++;
    const want = new Set(sorted.slice(i, j + 1));
    walk(src, sorted[i]!, sorted[j]!, {
      event: (e, st) => {
        if (want.has(e.seq)) visit(e, st);
      },
    });
    i = j + 1;
  }
}
