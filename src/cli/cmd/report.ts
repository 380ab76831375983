// ktrace report <trace> [-o FILE]: a Markdown bug report of the trace, ready
// to paste into an issue (with the trace embedded when it is small).

import { writeTextFile } from "../../export/out-file.ts";
import { openSource } from "../../replay/index.ts";
import { buildReport } from "../../report/index.ts";
import type { ParsedArgs } from "../args.ts";
import { VERSION } from "../help.ts";
import { eprintln, out } from "../io.ts";

export async function run(args: ParsedArgs<"report">): Promise<number> {
  const path = args.positionals[0]!;
  const src = openSource(path);
  try {
    const rep = buildReport({ path, reader: src.reader, source: src, version: VERSION, output: args.flags.output });
    if (args.flags.output !== undefined) {
      writeTextFile(args.flags.output, rep.markdown);
      const emb = rep.embedded ? `, trace embedded (${rep.gzipBytes.toLocaleString("en-US")} bytes gzip'd)` : rep.gzipBytes > 0 ? ", trace too large to embed" : "";
      eprintln(`wrote ${args.flags.output}${emb}`);
    } else {
      out(rep.markdown);
    }
  } finally {
    src.close();
  }
  return 0;
}
