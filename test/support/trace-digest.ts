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
  /** "major.minor" (digests of whole states only). */
  version?: string;
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

/** The state's fields in format 1.0; later kernels add fields, which a 1.0 snapshot reads as empty. */
const STATE_1_0 = [
  "seq",
  "time",
  "config",
  "cpus",
  "procs",
  "threads",
  "locks",
  "kstacks",
  "nextLock",
  "nextVmar",
  "outcome",
  "ended",
];
/** The fields format 1.1 added, and what a 1.0 snapshot must read them as. */
const ADDED_1_1: Record<string, unknown> = { vars: [], objs: [], regTypes: [], nextVar: 1, nextObj: 1 };

/**
 * A state as the format 1.0 reader saw it: the 1.0 fields only. Throws when
 * a field added later does not read as empty (then the state is not "as before").
 */
function as1_0(state: unknown): Record<string, unknown> {
  const plain = JSON.parse(JSON.stringify(state, mapsAsArrays)) as Record<string, unknown>;
  for (const [k, empty] of Object.entries(ADDED_1_1)) {
    if (k in plain && JSON.stringify(plain[k]) !== JSON.stringify(empty))
      throw new Error(`state field ${k} added in 1.1 is not empty: ${JSON.stringify(plain[k])}`);
  }
  return Object.fromEntries(STATE_1_0.filter((k) => k in plain).map((k) => [k, plain[k]]));
}

/**
 * The digest of a trace. `whole`: each state as a whole (format 2 traces,
 * fixtures/traces/v2/EXPECTED.json), with the format version; else as 1.0's.
 */
export function traceDigest(path: string, whole = false): TraceDigest {
  const r = openTrace(path);
  try {
    const lines: string[] = [];
    for (const ev of r.events()) lines.push(JSON.stringify(ev));
    const statesSha: Record<string, string> = {};
    for (const seq of r.snapshotSeqs) {
      const st = r.loadSnapshot(seq).state;
      statesSha[String(seq)] = sha(whole ? JSON.stringify(st, mapsAsArrays) : JSON.stringify(as1_0(st)));
    }
    return {
      ...(whole ? { version: r.formatVersion } : {}),
      events: r.eventCount,
      snapshots: [...r.snapshotSeqs],
      recovered: r.recovery?.events ?? null,
      outcome: r.outcome,
      eventsSha: sha(lines.join("\n")),
      statesSha,
    };
  } finally {
    r.close();
  }
}
