// runReplay's terminal handling, with fake terminal streams: raw mode is on
// before the first frame (a key typed between the first frame and Ink's own
// raw-mode effect was echoed by the terminal on the bottom row and scrolled the
// whole screen one row; the Deno tmux test caught it under load), and off again
// after quitting.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough, Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepare, record } from "../src/record/index.ts";
import { runReplay } from "../src/tui/run.tsx";

let dir = "";
let trace = "";

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "ktrace-tui-run-"));
  trace = path.join(dir, "tcmalloc.ktrace");
  record(await prepare({ target: "tcmalloc-fork" }), trace);
});

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

/** What happened to the fake terminal, in order. */
function fakeTerminal() {
  const log: string[] = [];
  const stdin = Object.assign(new PassThrough(), {
    isTTY: true,
    isRaw: false,
    setRawMode(on: boolean) {
      log.push(`raw ${on}`);
      stdin.isRaw = on;
      return stdin;
    },
    ref() {},
    unref() {},
  });
  const stdout = Object.assign(
    new Writable({
      write(chunk: Buffer | string, _enc, done) {
        if (log.at(-1) !== "write") log.push("write");
        void chunk;
        done();
      },
    }),
    { isTTY: true, columns: 80, rows: 24 },
  );
  const stderr = Object.assign(new Writable({ write: (_c, _e, done) => done() }), { isTTY: true });
  return { log, stdin, stdout, stderr };
}

describe("runReplay on a terminal", () => {
  it("turns raw mode on before the first frame and off after quitting", async () => {
    const t = fakeTerminal();
    const done = runReplay(trace, {
      stdin: t.stdin as unknown as NodeJS.ReadStream,
      stdout: t.stdout as unknown as NodeJS.WriteStream,
      stderr: t.stderr as unknown as NodeJS.WriteStream,
    });
    for (let i = 0; i < 500 && !t.log.includes("write"); i++) await new Promise((r) => setTimeout(r, 10));
    expect(t.log.indexOf("raw true")).toBeGreaterThanOrEqual(0);
    expect(t.log.indexOf("raw true")).toBeLessThan(t.log.indexOf("write"));
    // Quit with q, as a user would, once Ink reads keys.
    for (let i = 0; i < 100; i++) {
      t.stdin.write("q");
      const r = await Promise.race([done, new Promise((r) => setTimeout(() => r("wait"), 50))]);
      if (r !== "wait") break;
    }
    expect(await done).toBe(0);
    expect(t.log.filter((l) => l.startsWith("raw")).at(-1)).toBe("raw false");
    expect(t.stdin.isRaw).toBe(false);
  });
});
