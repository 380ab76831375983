// ktrace state <trace> --at N|start|end|panic|violation [--json]: the kernel
// state after one event, through the replay cursor.

import { Cursor, describe, eventJson, openSource, recoveryNote, stateText, stateView } from "../../replay/index.ts";
import type { ParsedArgs } from "../args.ts";
import { UsageError } from "../errors.ts";
import { eprintln, printJson, println } from "../io.ts";

export async function run(args: ParsedArgs<"state">): Promise<number> {
  const at = args.flags.at;
  if (at === undefined) throw new UsageError("state needs --at N|start|end|panic|violation", "e.g. ktrace state t.ktrace --at violation");
  const path = args.positionals[0]!;
  const src = openSource(path);
  try {
    const cursor = new Cursor(src);
    const seq = cursor.seek(at);
    const ev = cursor.event;
    if (args.flags.json) {
      printJson({ ...stateView(cursor.state), event: ev ? eventJson(ev, cursor.state) : null });
      return 0;
    }
    const note = recoveryNote(src, path);
    if (note) eprintln(note);
    println(ev ? `at event ${seq} (${describe(ev, cursor.state)})` : "at the start (before event 0)");
    for (const line of stateText(stateView(cursor.state))) println(line);
    return 0;
  } finally {
    src.close();
  }
}
