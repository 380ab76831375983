// ktrace import with the trace writer's thread (TraceWriter.useThread) and with
// the parse thread (ReadOptions.parseThread) against the import written on one
// thread: the same bytes for every text fixture and for a generated input long
// enough that "auto" starts the writer's thread in the middle (THREAD_AFTER_EVENTS), or
// with the trace when the input is long enough (THREAD_AT_ONCE_BYTES). Run in the test process (Node: no worker
// starts there, so this checks the fallback) by test/import-thread.test.ts,
// and as a script under Bun and Deno:
//   bun test/support/import-thread-check.ts DIR   (prints JSON)

import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeInput } from "../../bench/import-input.ts";
import { type ImportOptions, importTrace, THREAD_AFTER_EVENTS } from "../../src/import/index.ts";

export interface ImportThreadReport {
  /** The notes of a run asked to use the thread ("" when every such run used it, else what they said). */
  started: string;
  /** Inputs (and the way) whose file differs from the one written on one thread. */
  differ: string[];
  /** Imports compared. */
  runs: number;
  /** What the long input's "auto" import said (below the input size for a thread at once, then at it). */
  auto: string;
  autoAtOnce: string;
}

const FIX = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../../fixtures/import");

/** The text fixtures, sorted. */
function fixtures(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith(".txt")) out.push(p);
    }
  };
  walk(FIX);
  return out;
}

export async function checkImportThread(parent: string): Promise<ImportThreadReport> {
  const dir = mkdtempSync(join(parent, "import-thread-"));
  const long = join(dir, "long.txt");
  await writeInput(long, THREAD_AFTER_EVENTS + 40_000, false);
  const inputs: [string, Partial<ImportOptions>][] = [
    ...fixtures().map((f) => [f, { prelude: 4, snapshotEvery: 16 }] as [string, Partial<ImportOptions>]),
    [long, { snapshotEvery: 4096 }],
  ];
  const differ: string[] = [];
  const notes: string[] = [];
  let auto = "";
  let autoAtOnce = "";
  let runs = 0;
  for (const [i, [file, o]] of inputs.entries()) {
    const one = join(dir, `one-${i}.ktrace`);
    await importTrace(file, one, { writer: "ktrace test", ...o, thread: false });
    const ref = readFileSync(one);
    rmSync(one);
    // The writer's thread, and the parse thread (with the writer's, and alone).
    // "auto" on the long input: below the input size that starts the thread with the trace, and at it.
    const ways: [boolean | "auto", boolean, number?][] = [
      [true, false],
      [true, true],
      [false, true],
    ];
    if (file === long) ways.push(["auto", false, Number.POSITIVE_INFINITY], ["auto", false, statSync(long).size]);
    for (const [thread, parseThread, threadAtOnceBytes] of ways) {
      const out = join(dir, `two-${i}.ktrace`);
      const said: string[] = [];
      const more = threadAtOnceBytes === undefined ? {} : { threadAtOnceBytes };
      await importTrace(file, out, {
        writer: "ktrace test",
        ...o,
        ...more,
        thread,
        parseThread,
        note: (l) => said.push(l),
      });
      runs++;
      if (thread === "auto" && threadAtOnceBytes === Number.POSITIVE_INFINITY) auto = said.join("; ");
      else if (thread === "auto") autoAtOnce = said.join("; ");
      else {
        if (thread && !said.some((l) => l.includes("compressing and writing on a second thread")))
          notes.push(said.join("; "));
        if (parseThread && !said.some((l) => l.includes("parsing on a second thread"))) notes.push(said.join("; "));
      }
      if (!readFileSync(out).equals(ref))
        differ.push(
          `${file} (thread ${thread}${more.threadAtOnceBytes ? ` from ${more.threadAtOnceBytes} bytes` : ""}, parse thread ${parseThread})`,
        );
      rmSync(out);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  return { started: notes[0] ?? "", differ, runs, auto, autoAtOnce };
}

const self = typeof process !== "undefined" ? (process.argv[1] ?? "") : "";
if (self.endsWith("import-thread-check.ts")) {
  console.log(JSON.stringify(await checkImportThread(process.argv[2]!)));
}
