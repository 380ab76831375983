// A trace as its reader gives it, boiled down to a few digests: the events
// (as JSON lines), and the state at each snapshot (as plain JSON). Used to
// check that format 1 traces still read exactly as they did when format 1
// was the current format (fixtures/traces/v1/EXPECTED.json, written once with
// this function by the format 1 reader, at commit 7979968; see
// fixtures/traces/v1/README.md. Never regenerate it with a later reader).

import { createHash } from "node:crypto";
import { openTrace } from "../../src/trace/index.ts";
import { mapsAsArrays } from "./trace-util.ts";

export interface TraceDigest {
  events: number;
  snapshots: number[];
  recovered: number | null;
  outcome: unknown;
  /** sha256 of the events as JSON lines. */
  eventsSha: string;
  /** sha256 of each snapshot's state as JSON, by snapshot seq. */
  statesSha: Record<string, string>;
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

export function traceDigest(path: string): TraceDigest {
  const r = openTrace(path);
  try {
    const lines: string[] = [];
    for (const ev of r.events()) lines.push(JSON.stringify(ev));
    const statesSha: Record<string, string> = {};
    for (const seq of r.snapshotSeqs) statesSha[String(seq)] = sha(JSON.stringify(r.loadSnapshot(seq).state, mapsAsArrays));
    return {
      events: r.eventCount, snapshots: [...r.snapshotSeqs], recovered: r.recovery?.events ?? null, outcome: r.outcome,
      eventsSha: sha(lines.join("\n")), statesSha,
    };
  } finally {
    r.close();
  }
}
