// What a benchmark ran on, for its report line: the runtime with its version
// and the machine's cores and CPU model.

import { cpus } from "node:os";

const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };

/** "bun 1.4.5", "deno 2.9.6", "node v20.19.0". */
export const RUNTIME = g.Bun
  ? `bun ${g.Bun.version}`
  : g.Deno
    ? `deno ${g.Deno.version.deno}`
    : `node ${process.version}`;
/** "2 cores, Intel(R) Xeon(R) Processor". */
export const MACHINE = `${cpus().length} cores, ${cpus()[0]?.model ?? "?"}`;
