// A fuzz worker (bench/fuzz.ts starts them): reads input numbers on stdin,
// one per line; for each, builds the input (fuzz-lib.ts), writes it to a
// file, runs the CLI's commands on it in this process (main(), exactly what
// `ktrace <command>` runs, output captured), judges the answers, and writes
// one JSON line to stdout: exit codes, wrong answers, time, and the peak
// memory (VmHWM, reset before each input through /proc/self/clear_refs).
//
//   bun bench/fuzz-worker.ts --seed S

import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { describeError } from "../src/cli/errors.ts";
import { main } from "../src/cli/main.ts";
import { type Answer, COMMANDS, inputOf, judge, loadBases, prepareBombs } from "./fuzz-lib.ts";

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1]! : dflt;
};
const seed = Number(opt("--seed", "1"));
const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");

const realWrite = process.stdout.write.bind(process.stdout);
let captured: string[] = [];
const capture = (chunk: unknown, enc?: unknown, cb?: unknown): boolean => {
  captured.push(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk as Uint8Array));
  const done = typeof enc === "function" ? enc : cb;
  if (typeof done === "function") (done as () => void)();
  return true;
};

function hwmKB(): number {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function rssKB(): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Collects, resets the peak (VmHWM) to the resident size now, and returns that size: what the input's peak grows from. */
function resetHwm(): number {
  const g = globalThis as { Bun?: { gc(full: boolean): void }; gc?: () => void };
  if (g.Bun) g.Bun.gc(true);
  else g.gc?.();
  try {
    writeFileSync("/proc/self/clear_refs", "5");
  } catch {
    /* not Linux: the peak is then the process's */
  }
  return rssKB();
}

async function runCommand(
  args: string[],
): Promise<{ code: number; out: string; err: string; internal: string | null }> {
  const out: string[] = [];
  const err: string[] = [];
  captured = out;
  (process.stdout as unknown as { write: typeof capture }).write = capture;
  (process.stderr as unknown as { write: typeof capture }).write = (c: unknown, e?: unknown, cb?: unknown) => {
    captured = err;
    const r = capture(c, e, cb);
    captured = out;
    return r;
  };
  let code: number;
  let internal: string | null = null;
  try {
    code = await main(args);
  } catch (e) {
    const d = describeError(e);
    code = d.exitCode;
    err.push(d.line + "\n");
    if (code === 3) internal = e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e);
  }
  (process.stdout as unknown as { write: typeof realWrite }).write = realWrite;
  return { code, out: out.join(""), err: err.join(""), internal };
}

const bases = await loadBases(root);
prepareBombs();
const dir = mkdtempSync(join(tmpdir(), "ktrace-fuzz-"));
const file = join(dir, "input.ktrace");
resetHwm();
realWrite(JSON.stringify({ ready: true }) + "\n");

let pending = "";
const queue: number[] = [];
let busy = false;

async function drain(): Promise<void> {
  if (busy) return;
  busy = true;
  while (queue.length) {
    const i = queue.shift()!;
    const input = inputOf(bases, seed, i);
    writeFileSync(file, input.bytes);
    const fromKB = resetHwm();
    const t0 = performance.now();
    const answers: Answer[] = [];
    const internal: string[] = [];
    for (const c of COMMANDS) {
      const r = await runCommand(c.argv(file));
      answers.push({ cmd: c.cmd, code: r.code, stdout: r.out, stderr: r.err });
      if (r.internal) internal.push(`${c.cmd}: ${r.internal}`);
    }
    const ms = performance.now() - t0;
    const wrong = judge(input, answers);
    // A TypeError or RangeError inside applyEvent, reported as damage by foldEvent (scan.ts): counted, for the kernel's owners.
    const foldErrors = answers
      .filter((a) => /does not apply to the state before it \(/.test(a.stdout + a.stderr))
      .map((a) => a.cmd);
    const multiLine = answers
      .filter(
        (a) =>
          a.code === 2 &&
          a.stderr
            .trimEnd()
            .split("\n")
            .filter(
              (l) => l.startsWith("ktrace: ") && !l.startsWith("ktrace: note") && !l.startsWith("ktrace: warning"),
            ).length !== 1,
      )
      .map((a) => a.cmd);
    realWrite(
      JSON.stringify({
        i,
        base: input.base.name,
        kind: input.kind,
        what: input.what,
        bytes: input.bytes.length,
        codes: answers.map((a) => a.code),
        wrong,
        internal,
        multiLine,
        foldErrors,
        ms: Math.round(ms * 10) / 10,
        hwmKB: hwmKB(),
        fromKB,
      }) + "\n",
    );
  }
  busy = false;
}

process.stdin.setEncoding("utf8");
process.stdin.on("data", (d: string) => {
  pending += d;
  let nl: number;
  while ((nl = pending.indexOf("\n")) >= 0) {
    const line = pending.slice(0, nl).trim();
    pending = pending.slice(nl + 1);
    if (line === "q") process.exit(0);
    if (line !== "") queue.push(Number(line));
  }
  void drain();
});
process.stdin.on("end", () => {
  const stop = () => (busy || queue.length ? setTimeout(stop, 10) : process.exit(0));
  stop();
});
