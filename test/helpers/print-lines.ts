// Test helper script (run under Bun or Deno, not imported): prints N lines through the
// CLI's io helpers, flushes and exits like main.ts does. Used to check that a reader that
// goes away early (`| head`) ends the process quietly and that nothing is lost otherwise.
//   bun test/helpers/print-lines.ts 300000

import process from "node:process";
import { flushAll, installPipeHandlers, println } from "../../src/cli/io.ts";

installPipeHandlers();
const n = Number(process.argv[2] ?? "100000");
for (let i = 0; i < n; i++) {
  println(`line ${i} ${"x".repeat(40)}`);
  if (i % 1000 === 999) await new Promise((r) => setTimeout(r, 0));
}
await flushAll();
process.exit(0);
