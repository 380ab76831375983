// ktrace merge <shard.json>... [--json]
//
// Turns the --json outputs of `ktrace explore … --shard I/N` into what one
// explore over the whole range prints: with --json the same document, byte for
// byte; without, explore's text report (the settings spelled out, "merged
// from N shards" in place of jobs and time). Exit code as that run's.
//
// A separate command rather than `explore --merge`: explore needs a scenario
// and --seeds and runs seeds; merge takes neither (the shards say them) and
// runs nothing, so each has only the arguments it uses and its own help.

import { readFileSync, statSync } from "node:fs";
import { MAX_SHARD_BYTES, MergeError, mergeDocs, outcomeOrder, parseShardDoc, renderDoc } from "../../explore/doc.ts";
import { OUTCOME_KINDS } from "../../kernel/index.ts";
import { INVARIANT_NAMES } from "../../replay/invariants.ts";
import type { ParsedArgs } from "../args.ts";
import { eprintln, outJson } from "../io.ts";
import { errorLine, exitCodeFor, printText } from "./explore.ts";

function readShard(file: string): string {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new MergeError(`${file} is not a file`);
    size = st.size;
  } catch (e) {
    if (e instanceof MergeError) throw e;
    throw new MergeError(`cannot read ${file}: ${(e as { code?: string }).code ?? "error"}`, "check the path");
  }
  if (size > MAX_SHARD_BYTES)
    throw new MergeError(
      `${file} is ${size.toLocaleString("en-US")} bytes, more than a shard's output can be (${MAX_SHARD_BYTES / 1024 / 1024} MB)`,
    );
  const bytes = readFileSync(file);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new MergeError(`${file}: not UTF-8 text`, "merge reads the --json output of 'ktrace explore … --shard I/N'");
  }
}

export async function run(args: ParsedArgs<"merge">): Promise<number> {
  const files = args.positionals;
  const docs = files.map((file) => ({ file, doc: parseShardDoc(readShard(file), file) }));
  const merged = mergeDocs(docs, { outcomes: outcomeOrder(OUTCOME_KINDS), violations: INVARIANT_NAMES });
  if (args.flags.json) outJson(renderDoc(merged));
  else {
    const sh = docs[0]!.doc.shard;
    const extra = [
      ` --cpus ${merged.cpus}`,
      ...Object.entries(merged.options).map(([k, v]) => ` --opt ${k}=${v}`),
      ` --max-events ${merged.maxEvents}`,
    ].join("");
    printText(merged, { target: merged.scenario, extra, saveDir: sh.save, note: { mergedFrom: sh.count } });
  }
  const line = errorLine(merged);
  if (line !== null) eprintln(line);
  return exitCodeFor(merged);
}
