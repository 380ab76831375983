// ktrace state <trace> --at N|start|end|panic|violation [--json]: the kernel
// state after one event, through the replay cursor. In a damaged trace, a
// state that cannot be known (events missing between the nearest snapshot and
// N) is refused with one line saying which events are missing and where the
// state is known again (exit 2).

import {
  Cursor,
  describe,
  displaySafe,
  eventJson,
  eventOrNull,
  openSource,
  type ReplaySource,
  recoveryNote,
  type SeekTarget,
  StateUnknownError,
  stateText,
  stateView,
} from "../../replay/index.ts";
import { safeText } from "../../util/safe-text.ts";
import type { ParsedArgs } from "../args.ts";
import { KtraceError, UsageError } from "../errors.ts";
import { eprintln, printJson, println } from "../io.ts";

/**
 * A cursor on src at `at` (a seq or a point's name), for the commands that print
 * a state there: a state that cannot be known (events missing between the
 * nearest snapshot and it) is one line naming the file, exit 2.
 */
export function cursorAt(src: ReplaySource, path: string, at: SeekTarget): { cursor: Cursor; seq: number } {
  const cursor = new Cursor(src);
  try {
    return { cursor, seq: cursor.seek(at) };
  } catch (e) {
    if (e instanceof StateUnknownError) throw new KtraceError(`${safeText(path)}: ${e.message}`, { exitCode: 2 });
    throw e;
  }
}

export async function run(args: ParsedArgs<"state">): Promise<number> {
  const at = args.flags.at;
  if (at === undefined)
    throw new UsageError("state needs --at N|start|end|panic|violation", "e.g. ktrace state t.ktrace --at violation");
  const path = args.positionals[0]!;
  const raw = openSource(path);
  const src = args.flags.json ? raw : displaySafe(raw);
  try {
    const { cursor, seq } = cursorAt(src, path, at);
    // The state may be known (a snapshot) while its event is missing.
    const ev = seq >= 0 ? eventOrNull(src, seq) : null;
    if (args.flags.json) {
      printJson({ ...stateView(cursor.state), event: ev ? eventJson(ev, cursor.state) : null });
      return 0;
    }
    const note = recoveryNote(src, safeText(path));
    if (note) eprintln(note);
    println(
      ev
        ? `at event ${seq} (${describe(ev, cursor.state)})`
        : seq >= 0
          ? `at event ${seq} (the event itself is missing; the state is from the snapshot there)`
          : "at the start (before event 0)",
    );
    for (const line of stateText(stateView(cursor.state))) println(line);
    return 0;
  } finally {
    src.close();
  }
}
