// The parallel first-violation scan against the serial one, trace by trace:
// the violation, the count, the unchecked stretches, the final state and the
// damage the reader knows afterwards must all be the same, as JSON (and in
// the display-safe view, as text output scans it). Used in the test process
// (Node: no worker can start there, so the main thread checks every segment)
// by test/perf-scan.test.ts, and as a script under Bun and Deno, where a
// worker thread does take segments:
//   bun test/support/scan-compare.ts SEGMENT_EVENTS TRACE...   (prints JSON)
// (each trace in both views, the main thread taking part and not), or the
// scan pipeline (a decode worker decoding ahead, this thread checking):
//   bun test/support/scan-compare.ts --pipeline [--fail-after N] TRACE...
// (each trace in both views; --fail-after: the decode worker fails after N chunks)

import { toPlain } from "../../src/kernel/state.ts";
import { displaySafe, firstViolation, openSource, type ScanResult, selectFor } from "../../src/replay/index.ts";
import { firstViolationParallel, type ScanMode } from "../../src/replay/parallel-scan.ts";

/** The fixtures a scan is compared on (fixtures/traces): good, gzip-wrapped, cut (recovery mode), damaged (gaps). */
export const SCAN_FIXTURES = [
  "good.ktrace",
  "good.ktrace.gz",
  "cut-in-chunk.ktrace",
  "cut-in-footer.ktrace",
  "cut-in-index.ktrace",
  "flipped-chunk.ktrace",
  "flipped-chunk-no-footer.ktrace",
] as const;

export interface Compared {
  trace: string;
  display: boolean;
  same: boolean;
  /** What differs, field by field. */
  diff: string[];
  /** The scan's own account (check --verbose). */
  notes: string[];
}

function summary(r: ScanResult, gaps: unknown): Record<string, string> {
  return {
    violation: JSON.stringify(r.violation),
    scanned: String(r.scanned),
    unchecked: JSON.stringify(r.unchecked),
    state: JSON.stringify(toPlain(r.state)),
    gaps: JSON.stringify(gaps),
  };
}

/** Serial and parallel scans of one trace (fresh readers for each), compared. */
export async function compareScans(
  path: string,
  segmentEvents: number,
  display: boolean,
  names: string[] = [],
  mainTakesPart = true,
  mode: ScanMode = "range",
  decodeFailAfter?: number,
): Promise<Compared> {
  const a = openSource(path);
  const av = display ? displaySafe(a) : a;
  const serial = summary(firstViolation(av, selectFor(av, names)), a.gaps);
  a.close();
  const b = openSource(path);
  const notes: string[] = [];
  const par = await firstViolationParallel(b, {
    names,
    display,
    jobs: 2,
    segmentEvents,
    // On Bun, every snapshot within a segment cuts it into a stretch (a young collection between two): one walk's answer still.
    stretchEvents: 1,
    minEvents: 0,
    mainTakesPart,
    mode,
    ...(decodeFailAfter !== undefined ? { decodeFailAfter } : {}),
    // The pipeline's decode worker running before the scan starts: the ring is then used, not only on long traces.
    waitForWorker: mode === "pipeline",
    // No wall-clock give-up: the tests read from the notes what the worker did, which a loaded machine's stall would change.
    stallMs: Number.POSITIVE_INFINITY,
    note: (l) => notes.push(l),
  });
  const parallel = summary(par, b.gaps);
  b.close();
  const diff = Object.keys(serial)
    .filter((k) => serial[k] !== parallel[k])
    .map((k) => `${k}: serial ${serial[k]!.slice(0, 300)} / parallel ${parallel[k]!.slice(0, 300)}`);
  return { trace: path, display, same: diff.length === 0, diff, notes };
}

const self = typeof process !== "undefined" ? (process.argv[1] ?? "") : "";
if (self.endsWith("scan-compare.ts") && process.argv[2] === "--pipeline") {
  const args = process.argv.slice(3);
  const fail = args[0] === "--fail-after" ? Number(args[1]) : undefined;
  const out: Compared[] = [];
  for (const t of args.slice(fail === undefined ? 0 : 2))
    for (const display of [false, true]) out.push(await compareScans(t, 64, display, [], true, "pipeline", fail));
  console.log(JSON.stringify(out));
} else if (self.endsWith("scan-compare.ts")) {
  const [seg, ...traces] = process.argv.slice(2);
  const out: Compared[] = [];
  // Each trace in both views, with this thread taking part and with the worker alone checking segments.
  for (const t of traces)
    for (const display of [false, true])
      for (const main of [true, false]) out.push(await compareScans(t, Number(seg), display, [], main));
  // Segments of several snapshot intervals, which Bun's scan threads cut into stretches at every snapshot.
  for (const t of traces) out.push(await compareScans(t, 4 * Number(seg), false));
  console.log(JSON.stringify(out));
}
