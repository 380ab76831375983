// ktrace export <trace> --format chrome|msgpack|jsonl [-o FILE]
//   chrome: Chrome Trace Event JSON for chrome://tracing and the Perfetto UI.
//   msgpack, jsonl: the events as plain records (src/export/records.ts).
// A damaged trace is exported around its gaps (chrome marks them as global
// instants; records simply have no record for a missing event), with a note
// on stderr saying which events are missing.

import { writeChromeTrace } from "../../export/chrome.ts";
import { OutFile } from "../../export/out-file.ts";
import { type RecordFormat, writeRecords } from "../../export/records.ts";
import { openSource, recoveryNote, type TraceSource } from "../../replay/index.ts";
import { safeText } from "../../util/safe-text.ts";
import type { ParsedArgs } from "../args.ts";
import { UsageError } from "../errors.ts";
import { VERSION } from "../help.ts";
import { eprintln, isStdoutTTY, outBytes, outJson } from "../io.ts";

export async function run(args: ParsedArgs<"export">): Promise<number> {
  const f = args.flags;
  if (f.format === "msgpack" && f.output === undefined && isStdoutTTY()) {
    throw new UsageError(
      "--format msgpack writes binary data, not for a terminal",
      "write it to a file with -o FILE, or pipe it to a program",
    );
  }
  const reader = openSource(args.positionals[0]!);
  try {
    if (f.format === "chrome") exportChrome(reader, f.output);
    else await exportRecords(reader, f.format, f.output);
    // After the export: a damaged chunk is found when it is read.
    const note = recoveryNote(reader, safeText(args.positionals[0]!));
    if (note) eprintln(note);
  } finally {
    reader.reader.close();
  }
  return 0;
}

function exportChrome(reader: TraceSource, output: string | undefined): void {
  const opts = { version: `ktrace ${VERSION}` };
  if (output !== undefined) {
    const file = new OutFile(output);
    try {
      writeChromeTrace(reader, (t) => file.write(t), opts);
    } catch (e) {
      file.abort();
      throw e;
    }
    file.finish();
    eprintln(`wrote ${output}: open it in the Perfetto UI or chrome://tracing`);
    return;
  }
  let buf: string[] = [];
  let n = 0;
  writeChromeTrace(
    reader,
    (t) => {
      buf.push(t);
      n += t.length;
      if (n >= 1 << 16) {
        outJson(buf.join(""));
        buf = [];
        n = 0;
      }
    },
    opts,
  );
  outJson(buf.join(""));
}

async function exportRecords(reader: TraceSource, format: RecordFormat, output: string | undefined): Promise<void> {
  if (output === undefined) {
    await writeRecords(reader, format, outBytes);
    return;
  }
  const file = new OutFile(output);
  let n: number;
  try {
    n = await writeRecords(reader, format, (b) => file.writeBytes(b));
  } catch (e) {
    file.abort();
    throw e;
  }
  file.finish();
  const what = format === "msgpack" ? "msgpack maps, one per event, back to back" : "JSON lines, one per event";
  eprintln(
    `wrote ${output}: ${n.toLocaleString("en-US")} events as ${what} (schema: docs/FORMAT.md, "Exported records")`,
  );
}
