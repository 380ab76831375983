// A violation as a report: the event, the invariant, the message, the events
// that set it up (causes) and the few events just before it on the same thread
// (context). Used by `ktrace check`, the report and the TUI.

import type { KState } from "../kernel/types.ts";
import { type EventJson, eventJson } from "./describe.ts";
import type { Violation } from "./invariants.ts";
import { forEachEvent } from "./scan.ts";
import { eventOrNull, type ReplaySource } from "./source.ts";

export interface CauseReport {
  seq: number;
  /** The cause's part in the violation. */
  why: string;
  kind: string;
  desc: string;
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
  /** The last few events before it by the same thread (or on the same cpu), oldest first. */
  context: EventJson[];
}

/**
 * Builds the report of v. `state` names things in descriptions; pass the state
 * at v.seq (after the violating event) when you have it.
 */
export function violationReport(src: ReplaySource, v: Violation, state?: KState, contextEvents = 4): ViolationReport {
  const ev = v.event;
  const evj = eventJson(ev, state);
  const causes = v.causes
    .filter((c) => c.seq >= 0 && c.seq < src.eventCount)
    .map((c) => {
      const ev = eventOrNull(src, c.seq);
      if (ev === null)
        return { seq: c.seq, why: c.why, kind: "missing", desc: "(the event is missing: the trace is damaged there)" };
      const j = eventJson(ev, state);
      return { seq: c.seq, why: c.why, kind: j.kind, desc: j.desc };
    });
  const context: EventJson[] = [];
  const same = ev.tid >= 0 ? (e: { tid: number }) => e.tid === ev.tid : (e: { cpu: number }) => e.cpu === ev.cpu;
  const from = Math.max(0, v.seq - 256);
  forEachEvent(src, from, v.seq - 1, (e) => {
    if (same(e as never)) {
      context.push(eventJson({ ...e }, state));
      if (context.length > contextEvents) context.shift();
    }
  });
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
