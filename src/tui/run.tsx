// `ktrace replay`: opens the trace, builds the store (engine at the post-mortem
// position or --at, the view state there, the background scan behind the
// timeline), renders the App on the alternate screen, and waits for q /
// Ctrl-C. The terminal is restored on quit, on Ctrl-C and on errors.

import process from "node:process";
import { render } from "ink";
import { App } from "./app.tsx";
import { type Explorer, type OpenAt, openCursor } from "./engine.ts";
import type { KeyMap } from "./keymap.ts";
import { openExploring, openReplay } from "./store.ts";

export interface RunReplayOptions {
  readonly at?: OpenAt;
  readonly keymap?: KeyMap;
  /** What-if branches (x, X) and the decisions that matter on the timeline (the CLI wires src/explore/). */
  readonly explorer?: Explorer;
  readonly stdin?: NodeJS.ReadStream;
  readonly stdout?: NodeJS.WriteStream;
  readonly stderr?: NodeJS.WriteStream;
}

/** Runs the replay UI on a trace until the user quits. Returns the exit code (0). Throws on a bad trace or --at. */
export async function runReplay(file: string, opts: RunReplayOptions = {}): Promise<number> {
  const { cursor, info } = openCursor(file);
  try {
    const storeOpts = {
      ...(opts.at === undefined ? {} : { at: opts.at }),
      // Slow work waits a frame (at Ink's 30 fps) so the screen first says what is happening.
      defer: (work: () => void) => void setTimeout(work, 40),
      // The timeline's scan runs between frames.
      schedule: (work: () => void, ms: number) => void setTimeout(work, ms),
    };
    const store = opts.explorer
      ? openExploring(cursor, info, opts.explorer, storeOpts)
      : openReplay(cursor, info, storeOpts);
    // Raw mode before the first frame: Ink turns it on in an effect after its
    // first frame, and a key typed in between is echoed by the terminal at the
    // bottom row, which scrolls the whole screen one row (every later partial
    // line update then lands one row off). Ink keeps raw mode on while it reads
    // keys and turns it off on unmount; the finally below does too.
    const stdin = opts.stdin ?? process.stdin;
    const raw = stdin.isTTY === true && typeof stdin.setRawMode === "function";
    if (raw) stdin.setRawMode(true);
    const instance = render(<App store={store} {...(opts.keymap ? { keymap: opts.keymap } : {})} />, {
      stdin,
      stdout: opts.stdout ?? process.stdout,
      stderr: opts.stderr ?? process.stderr,
      alternateScreen: true,
      // Ctrl-C is a key-map command (interrupt) so that it unmounts like q does.
      exitOnCtrlC: false,
      // replay refuses to start without a terminal, so this is never a CI log.
      interactive: true,
      patchConsole: false,
      incrementalRendering: true,
    });
    const onSignal = () => instance.unmount();
    process.once("SIGTERM", onSignal);
    process.once("SIGHUP", onSignal);
    // A bug that escapes React (an exception in a timer or a stream handler):
    // leave the alternate screen first, then report it like any other error.
    let onCrash: (e: unknown) => void = () => {};
    const crashed = new Promise<never>((_, reject) => {
      onCrash = (e: unknown) => reject(e);
    });
    process.on("uncaughtException", onCrash);
    try {
      await Promise.race([instance.waitUntilExit(), crashed]);
    } finally {
      store.stop();
      process.off("uncaughtException", onCrash);
      process.off("SIGTERM", onSignal);
      process.off("SIGHUP", onSignal);
      instance.unmount();
      instance.cleanup();
      if (raw) stdin.setRawMode(false);
    }
    return 0;
  } finally {
    cursor.source.close();
  }
}
