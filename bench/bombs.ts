// The decompression bombs and absurd counts of issue 13, built at full size,
// each run through `ktrace info`, `check`, `state --at end` and `events` on Bun
// and Deno, with the peak memory of each run (/usr/bin/time's maximum RSS).
// Target: each refused or read within 256 MB, at once.
//
//   npx bun bench/bombs.ts [--json]
//
// Files (in bench/out/bombs/):
//   gz-2g.ktrace.gz      a trace followed by 2 GiB of zeros, gzip'd (~2 MB)
//   report-1g.md         a report whose embedded block inflates to 1 GiB
//   event-1g.ktrace      an event chunk whose body inflates to 1 GiB (declaring 16 MiB, and 1 GiB)
//   snapshot-1g.ktrace   the initial snapshot's body inflates to 1 GiB
//   index-1g.ktrace      the index's body inflates to 1 GiB
//   count-2^53.ktrace    a chunk claiming 2^53-1 events (checksum valid, no index)
//   count-50m.ktrace     a chunk claiming 50 million events

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { constants, createDeflateRaw, createGzip } from "node:zlib";
import { ByteWriter, concatBytes } from "../src/trace/bytes.ts";
import { embedTrace } from "../src/trace/embed-write.ts";
import {
  CHUNK_EVENTS,
  CHUNK_INDEX,
  CHUNK_SNAPSHOT,
  encodeFooter,
  FLAG_DEFLATE,
  FOOTER_SIZE,
  FRAME_HEADER,
  frameHeader,
  HEADER_FIXED,
  readU32,
} from "../src/trace/format.ts";

const ROOT = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const OUT = join(ROOT, "bench", "out", "bombs");
const JSON_OUT = process.argv.includes("--json");
mkdirSync(OUT, { recursive: true });

/** Streams `zeros` bytes of zeros (after `prefix`) through a zlib compressor; the compressed bytes. */
function compressZeros(
  make: () => import("node:zlib").Gzip | import("node:zlib").DeflateRaw,
  zeros: number,
  prefix = new Uint8Array(0),
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const z = make();
    const parts: Buffer[] = [];
    z.on("data", (b: Buffer) => parts.push(b));
    z.on("end", () => resolve(new Uint8Array(Buffer.concat(parts))));
    z.on("error", reject);
    const block = Buffer.alloc(1 << 20);
    let left = zeros;
    z.write(prefix);
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, block.length);
        left -= n;
        if (!z.write(block.subarray(0, n))) return void z.once("drain", pump);
      }
      z.end();
    };
    pump();
  });
}

const opts = { level: constants.Z_BEST_COMPRESSION };
const trace = new Uint8Array(readFileSync(join(ROOT, "fixtures", "traces", "good.ktrace")));
const headerEnd = HEADER_FIXED + readU32(trace, 12) + 4;
const frames: { off: number; end: number; type: number }[] = [];
for (let off = headerEnd; off < trace.length - FOOTER_SIZE; ) {
  const end = off + FRAME_HEADER + readU32(trace, off + 4);
  frames.push({ off, end, type: trace[off]! });
  off = end;
}
const uv = (...xs: number[]) => {
  const w = new ByteWriter(64);
  for (const x of xs) w.uvar(x);
  return w.toBytes();
};
const frame = (type: number, payload: Uint8Array) => concatBytes(frameHeader(type, FLAG_DEFLATE, payload), payload);
const replace = (f: { off: number; end: number }, fr: Uint8Array) =>
  concatBytes(trace.subarray(0, f.off), fr, trace.subarray(f.end));

const GiB = 1 << 30;
const files: Record<string, () => Promise<Uint8Array>> = {
  "gz-2g.ktrace.gz": () => compressZeros(() => createGzip(opts), 2 * GiB, trace),
  "report-1g.md": async () => {
    const gz = await compressZeros(() => createGzip(opts), GiB, trace);
    return new TextEncoder().encode(
      `# ktrace report\n\n<details>\n\n\`\`\`text\n${embedTrace(gz, "t.ktrace.gz")}\n\`\`\`\n</details>\n`,
    );
  },
  "event-1g-declares-16m.ktrace": async () => {
    const f = frames.find((x) => x.type === CHUNK_EVENTS)!;
    return replace(
      f,
      frame(CHUNK_EVENTS, concatBytes(uv(0, 512, 16 << 20), await compressZeros(() => createDeflateRaw(opts), GiB))),
    );
  },
  "event-1g-declares-1g.ktrace": async () => {
    const f = frames.find((x) => x.type === CHUNK_EVENTS)!;
    return replace(
      f,
      frame(CHUNK_EVENTS, concatBytes(uv(0, 512, GiB), await compressZeros(() => createDeflateRaw(opts), GiB))),
    );
  },
  "snapshot-1g.ktrace": async () => {
    const f = frames.find((x) => x.type === CHUNK_SNAPSHOT)!;
    const w = new ByteWriter(16);
    w.svar(-1);
    w.uvar(GiB);
    return replace(
      f,
      frame(CHUNK_SNAPSHOT, concatBytes(w.toBytes(), await compressZeros(() => createDeflateRaw(opts), GiB))),
    );
  },
  "index-1g.ktrace": async () => {
    const f = frames.find((x) => x.type === CHUNK_INDEX)!;
    const fr = frame(CHUNK_INDEX, concatBytes(uv(GiB), await compressZeros(() => createDeflateRaw(opts), GiB)));
    return concatBytes(trace.subarray(0, f.off), fr, encodeFooter(f.off, 3000, fr.length));
  },
  "count-2^53.ktrace": async () => {
    const f = frames.find((x) => x.type === CHUNK_EVENTS)!;
    return concatBytes(
      trace.subarray(0, f.off),
      frame(CHUNK_EVENTS, concatBytes(uv(0, 2 ** 53 - 1, 1 << 20), new Uint8Array(8))),
    );
  },
  "count-50m.ktrace": async () => {
    const f = frames.find((x) => x.type === CHUNK_EVENTS)!;
    return concatBytes(
      trace.subarray(0, f.off),
      frame(CHUNK_EVENTS, concatBytes(uv(0, 50_000_000, 200_000_000), new Uint8Array(8))),
    );
  },
};

const hasTime = existsSync("/usr/bin/time");
const runtimes: [string, string[]][] = [
  ["bun", [join(ROOT, "node_modules", ".bin", "bun"), join(ROOT, "src", "cli", "main.ts")]],
  [
    "deno",
    [
      join(ROOT, "node_modules", ".bin", "deno"),
      "run",
      "--quiet",
      "--allow-all",
      `--config=${join(ROOT, "deno.json")}`,
      join(ROOT, "src", "cli", "main.ts"),
    ],
  ],
];
const COMMANDS = [["info"], ["check"], ["state", "--at", "end"], ["events"]];
const rows: {
  file: string;
  bytes: number;
  runtime: string;
  command: string;
  code: number;
  peakMB: number;
  ms: number;
  line: string;
}[] = [];
for (const [name, make] of Object.entries(files)) {
  const path = join(OUT, name);
  if (!existsSync(path)) writeFileSync(path, await make());
  const bytes = readFileSync(path).length;
  for (const [rt, cmd] of runtimes) {
    for (const c of COMMANDS) {
      const args = [...cmd.slice(1), c[0]!, path, ...c.slice(1)];
      const t0 = performance.now();
      const r = hasTime
        ? spawnSync("/usr/bin/time", ["-f", "%M", cmd[0]!, ...args], { encoding: "utf8", maxBuffer: 1 << 28 })
        : spawnSync(cmd[0]!, args, { encoding: "utf8", maxBuffer: 1 << 28 });
      const ms = performance.now() - t0;
      const errLines = r.stderr.trimEnd().split("\n");
      const peakKB = hasTime ? Number(errLines.pop()) : NaN;
      rows.push({
        file: name,
        bytes,
        runtime: rt,
        command: c.join(" "),
        code: r.status ?? -1,
        peakMB: Math.round(peakKB / 102.4) / 10,
        ms: Math.round(ms),
        line: errLines.filter((l) => l.startsWith("ktrace:")).pop() ?? "",
      });
    }
  }
}
if (JSON_OUT) console.log(JSON.stringify({ load: loadavg(), rows }));
else {
  console.log(
    `bombs (load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}): peak RSS per run, exit code, wall time`,
  );
  for (const r of rows)
    console.log(
      `${r.file.padEnd(30)} ${String(r.bytes).padStart(9)} B  ${r.runtime.padEnd(4)} ${r.command.padEnd(15)} exit ${r.code}  ${String(r.peakMB).padStart(6)} MB  ${String(r.ms).padStart(5)} ms  ${r.line.slice(0, 140)}`,
    );
  const worst = Math.max(...rows.map((r) => r.peakMB));
  console.log(`worst peak: ${worst} MB; exit 3: ${rows.filter((r) => r.code === 3).length}`);
}
