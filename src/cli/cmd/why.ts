// ktrace why <trace> <object> [--at N|start|end|panic|violation] [--json]:
// the events that made one object of the kernel state what it is at a point
// of the trace (replay/why.ts, the TUI's e key): who took this lock, who woke
// this thread, how each process got its end of this pipe. Without --at, at
// the end. An object the state does not have there, or a reference that
// does not parse, is one line and exit 2 (RefError); a state that cannot be
// known in a damaged trace is refused as `state` refuses it.

import {
  type Cursor,
  displaySafe,
  eventJson,
  objectTitle,
  openSource,
  parseRef,
  RefError,
  recoveryNote,
} from "../../replay/index.ts";
import { safeText } from "../../util/safe-text.ts";
import { table } from "../../util/text-table.ts";
import type { ParsedArgs } from "../args.ts";
import { KtraceError } from "../errors.ts";
import { color, eprintln, printJson, println } from "../io.ts";
import { cursorAt } from "./state.ts";

export async function run(args: ParsedArgs<"why">): Promise<number> {
  const [path, text] = args.positionals as [string, string];
  const raw = openSource(path);
  const src = args.flags.json ? raw : displaySafe(raw);
  try {
    const { cursor, seq } = cursorAt(src, path, args.flags.at ?? "end");
    const state = cursor.state;
    let ref: ReturnType<typeof parseRef>;
    let entries: ReturnType<Cursor["why"]>;
    try {
      ref = parseRef(text, state);
      entries = cursor.why(ref);
    } catch (e) {
      if (e instanceof RefError) throw new KtraceError(safeText(e.message), { exitCode: 2, hint: e.hint });
      throw e;
    }
    const title = objectTitle(state, ref);
    if (args.flags.json) {
      printJson({
        seq,
        object: { ...ref, title },
        entries: entries.map((e) => ({
          seq: e.seq,
          role: e.role,
          explanation: e.explanation,
          event: e.event ? eventJson(e.event, state) : null,
        })),
      });
      return 0;
    }
    const note = recoveryNote(src, safeText(path));
    if (note) eprintln(note);
    println(`${color.bold(title)}, ${seq >= 0 ? `after event ${seq}` : "at the start"}:`);
    if (entries.length === 0) {
      println("  nothing in the trace explains it further (no event changed it that the state keeps)");
      return 0;
    }
    // Each entry: what it did to the object, and under it the event itself when the line does not already say it.
    const rows: string[][] = [];
    for (const e of entries) {
      rows.push([String(e.seq), e.role, e.explanation]);
      if (e.desc !== undefined && !e.explanation.includes(e.desc)) rows.push(["", "", color.dim(`event: ${e.desc}`)]);
    }
    for (const line of table(["seq", "role", "why"], rows, { align: ["right", "left", "left"] })) println(`  ${line}`);
    return 0;
  } finally {
    src.close();
  }
}
