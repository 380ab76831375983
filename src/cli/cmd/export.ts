// ktrace export <trace> --format chrome [-o FILE]
//   Chrome Trace Event JSON for chrome://tracing and the Perfetto UI. A
//   damaged trace is exported around its gaps (marked as global instants),
//   with a note on stderr saying which events are missing.

import { writeChromeTrace } from "../../export/chrome.ts";
import { OutFile } from "../../export/out-file.ts";
import { recoveryNote } from "../../replay/index.ts";
import { openTrace } from "../../trace/index.ts";
import { safeText } from "../../util/safe-text.ts";
import type { ParsedArgs } from "../args.ts";
import { VERSION } from "../help.ts";
import { eprintln, out } from "../io.ts";

export async function run(args: ParsedArgs<"export">): Promise<number> {
  const f = args.flags;
  const reader = openTrace(args.positionals[0]!);
  try {
    const opts = { version: `ktrace ${VERSION}` };
    if (f.output !== undefined) {
      const file = new OutFile(f.output);
      try {
        writeChromeTrace(reader, (t) => file.write(t), opts);
      } catch (e) {
        file.abort();
        throw e;
      }
      file.finish();
      eprintln(`wrote ${f.output}: open it in the Perfetto UI or chrome://tracing`);
    } else {
      let buf: string[] = [];
      let n = 0;
      writeChromeTrace(reader, (t) => {
        buf.push(t);
        n += t.length;
        if (n >= 1 << 16) {
          out(buf.join(""));
          buf = [];
          n = 0;
        }
      }, opts);
      out(buf.join(""));
    }
    // After the export: a damaged chunk is found when it is read.
    const note = recoveryNote(reader, safeText(args.positionals[0]!));
    if (note) eprintln(note);
  } finally {
    reader.close();
  }
  return 0;
}
