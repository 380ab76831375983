// ktrace export <trace> --format chrome [-o FILE]
//   Chrome Trace Event JSON for chrome://tracing and the Perfetto UI.

import { writeChromeTrace } from "../../export/chrome.ts";
import { OutFile } from "../../export/out-file.ts";
import { openTrace } from "../../trace/index.ts";
import type { ParsedArgs } from "../args.ts";
import { VERSION } from "../help.ts";
import { eprintln, out } from "../io.ts";

export async function run(args: ParsedArgs<"export">): Promise<number> {
  const f = args.flags;
  const reader = openTrace(args.positionals[0]!);
  try {
    if (reader.recovery) eprintln(`ktrace: note: ${args.positionals[0]} is incomplete (${reader.recovery.reason}); exporting the ${reader.recovery.events} events recovered`);
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
  } finally {
    reader.close();
  }
  return 0;
}
