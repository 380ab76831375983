// A real terminal for end-to-end tests of the replay UI: a tmux server of our own,
// one window running a command, its screen read with capture-pane. Without tmux the
// tests that use it fail, saying how to install it (.ci/run installs it). No time
// limits: screens are awaited by polling capture-pane up to a generous number of times.

import { spawnSync } from "node:child_process";
import process from "node:process";
import { cliCommand, REPO_ROOT, type Runtime } from "./run-cli.ts";

const tmuxVersion = spawnSync("tmux", ["-V"], { encoding: "utf8" });
export const TMUX_MISSING =
  tmuxVersion.error !== undefined || tmuxVersion.status !== 0
    ? `tmux not found (${tmuxVersion.error?.message ?? tmuxVersion.stderr.trim()}): install it (apt-get install -y tmux; .ci/run does) to run the terminal tests`
    : null;

/** A shell word. */
export function sh(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A tmux server of our own (its own socket), one 80x24 window running a command. */
export class Terminal {
  readonly socket = `ktrace-e2e-${process.pid}-${Math.floor(Math.random() * 1e9)}`;

  constructor(command: string, columns = 80, rows = 24) {
    if (TMUX_MISSING !== null) throw new Error(TMUX_MISSING);
    // After the program ends, print its exit code and keep the pane for inspection.
    const script = `${command}; echo "ktrace exited with $?"; exec sleep 100000`;
    this.tmux(
      "new-session",
      "-d",
      "-s",
      "e2e",
      "-x",
      String(columns),
      "-y",
      String(rows),
      "-c",
      REPO_ROOT,
      "sh",
      "-c",
      script,
    );
  }

  tmux(...args: string[]): string {
    const r = spawnSync("tmux", ["-L", this.socket, "-f", "/dev/null", ...args], {
      encoding: "utf8",
      env: { ...process.env, TERM: "xterm-256color", NO_COLOR: "", FORCE_COLOR: "" },
    });
    if (r.status !== 0) throw new Error(`tmux ${args[0]}: ${r.stderr}`);
    return r.stdout;
  }

  screen(): string[] {
    return this.tmux("capture-pane", "-p", "-t", "e2e")
      .replace(/\n$/, "")
      .split("\n")
      .map((l) => l.replace(/\s+$/, ""));
  }

  /** Keys by tmux name (Left, Enter, Escape, C-c) or literal text with {text}. */
  send(...keys: (string | { text: string })[]): void {
    for (const k of keys) {
      if (typeof k === "string") this.tmux("send-keys", "-t", "e2e", k);
      else this.tmux("send-keys", "-t", "e2e", "-l", k.text);
    }
  }

  /** Polls the screen until ok(screen); returns the last screen (the caller asserts). */
  async waitFor(ok: (screen: string[]) => boolean, polls = 1500): Promise<string[]> {
    let s = this.screen();
    for (let i = 0; i < polls && !ok(s); i++) {
      await new Promise((r) => setTimeout(r, 20));
      s = this.screen();
    }
    return s;
  }

  kill(): void {
    spawnSync("tmux", ["-L", this.socket, "kill-server"]);
  }
}

/** The shell command that runs `ktrace replay FILE` under a runtime. */
export function replayCommand(runtime: Runtime, file: string, extra = ""): string {
  const [cmd, pre] = cliCommand(runtime);
  return [cmd, ...pre, "replay", file].map(sh).join(" ") + extra;
}

export const has = (re: RegExp) => (s: string[]) => s.some((l) => re.test(l));
export const line = (s: string[], re: RegExp) => s.find((l) => re.test(l));
