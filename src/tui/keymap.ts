// The replay UI's key map, as data: command -> bindings -> description.
//
// Like gemini-cli's keyBindings.ts: every key the UI reacts to is listed here,
// the help screen (help.tsx) and the footer (footer.tsx) are generated from this
// table, and rebinding a key is a change to this table only. use-replay.ts asks
// `commandFor` which command a keypress means in the current context; nothing
// else looks at raw keys.

import type { Key } from "ink";

/** Keys that have a name rather than a character. */
export type KeyName =
  | "left"
  | "right"
  | "up"
  | "down"
  | "home"
  | "end"
  | "pageUp"
  | "pageDown"
  | "return"
  | "escape"
  | "tab"
  | "backspace"
  | "delete";

/**
 * One way to press a command. Exactly one of `char` and `key` is set.
 * `char` is compared case-sensitively (`c` and `C` are different commands).
 */
export interface KeyBinding {
  /** A printable character: 's', 'C', '?', '/'. */
  readonly char?: string;
  /** A named key. */
  readonly key?: KeyName;
  /** Ctrl must be held (Ctrl+C is `{char: 'c', ctrl: true}`). */
  readonly ctrl?: boolean;
  /** Shift must be held (only meaningful for named keys: Shift+Tab). */
  readonly shift?: boolean;
}

/**
 * Where a binding applies. Each screen searches a list of contexts in order
 * (see MODE_CONTEXTS in use-replay.ts); `global` is always searched first.
 * - `global`: everywhere (quit on Ctrl+C).
 * - `main`: the replay screen with no dialog open.
 * - `dialog`: any open dialog (help, go-to, search, watch picker, watch list, explanation).
 * - `list`: dialogs with a list or text to move in.
 * - `prompt`: dialogs where you type (go-to, search, watch picker); other printable keys are typed.
 * - `viewer`: dialogs where you do not type (help, watch list, explanation).
 * - `watch-list`: the watchpoint list only.
 */
export type KeyContext = "global" | "main" | "dialog" | "list" | "prompt" | "viewer" | "watch-list";

/** Groups shown as sections of the help screen, in this order. */
export type KeyGroup = "Move" | "Find" | "Watch" | "View" | "Dialogs";

export const COMMANDS = [
  "step",
  "stepBack",
  "continue",
  "reverseContinue",
  "goTo",
  "start",
  "end",
  "violation",
  "failure",
  "search",
  "nextMatch",
  "prevMatch",
  "watch",
  "watchList",
  "branch",
  "switchRun",
  "explain",
  "focusNext",
  "focusPrev",
  "selectUp",
  "selectDown",
  "pageUp",
  "pageDown",
  "help",
  "dismiss",
  "quit",
  "interrupt",
  "accept",
  "cancel",
  "listUp",
  "listDown",
  "deleteChar",
  "close",
  "removeWatch",
] as const;

/** Everything a key can ask the replay UI to do. */
export type Command = (typeof COMMANDS)[number];

export interface CommandBinding {
  readonly context: KeyContext;
  readonly group: KeyGroup;
  readonly bindings: readonly KeyBinding[];
  /** One short line for the help screen. */
  readonly description: string;
  /** Two or three words for the footer; absent: never shown there. */
  readonly short?: string;
}

export type KeyMap = { readonly [C in Command]: CommandBinding };

/** The default key map. Rebind by building another KeyMap (e.g. `{...DEFAULT_KEYMAP, step: {...}}`). */
export const DEFAULT_KEYMAP: KeyMap = {
  step: {
    context: "main",
    group: "Move",
    bindings: [{ key: "right" }, { char: "s" }],
    description: "Step forward one event",
    short: "step",
  },
  stepBack: {
    context: "main",
    group: "Move",
    bindings: [{ key: "left" }, { char: "b" }],
    description: "Step back one event",
    short: "back",
  },
  continue: {
    context: "main",
    group: "Move",
    bindings: [{ char: "c" }],
    description: "Continue to the next watchpoint hit or invariant break (or the end)",
    short: "cont",
  },
  reverseContinue: {
    context: "main",
    group: "Move",
    bindings: [{ char: "C" }],
    description: "Reverse-continue to the previous hit or invariant break (or the start)",
    short: "rev-cont",
  },
  goTo: {
    context: "main",
    group: "Move",
    bindings: [{ char: "g" }],
    description: "Go to an event number (typed)",
    short: "go to",
  },
  start: {
    context: "main",
    group: "Move",
    bindings: [{ key: "home" }],
    description: "Go to the start (before the first event)",
  },
  end: {
    context: "main",
    group: "Move",
    bindings: [{ key: "end" }],
    description: "Go to the last event",
  },
  violation: {
    context: "main",
    group: "Find",
    bindings: [{ char: "v" }],
    description: "Jump to the first invariant violation",
    short: "violation",
  },
  failure: {
    context: "main",
    group: "Find",
    bindings: [{ char: "p" }],
    description: "Jump to the panic, fatal error or hang",
    short: "failure",
  },
  search: {
    context: "main",
    group: "Find",
    bindings: [{ char: "/" }],
    description: "Fuzzy search over events (Enter jumps)",
    short: "search",
  },
  nextMatch: {
    context: "main",
    group: "Find",
    bindings: [{ char: "n" }],
    description: "Next search match",
    short: "next",
  },
  prevMatch: {
    context: "main",
    group: "Find",
    bindings: [{ char: "N" }],
    description: "Previous search match",
    short: "prev",
  },
  branch: {
    context: "main",
    group: "Find",
    bindings: [{ char: "x" }],
    description: "What if: flip the scheduling decision at the cursor and run again (a branch)",
    short: "what-if",
  },
  switchRun: {
    context: "main",
    group: "Find",
    bindings: [{ char: "X" }],
    description: "Switch between the original run and the what-if branch",
  },
  watch: {
    context: "main",
    group: "Watch",
    bindings: [{ char: "w" }],
    description: "Add a watchpoint (lock, kernel stack, thread, VMAR, event kind)",
    short: "watch",
  },
  watchList: {
    context: "main",
    group: "Watch",
    bindings: [{ char: "W" }],
    description: "List and remove watchpoints",
    short: "watches",
  },
  explain: {
    context: "main",
    group: "Watch",
    bindings: [{ char: "e" }],
    description: "Explain the selected object: who set it, who freed it",
    short: "why",
  },
  focusNext: {
    context: "main",
    group: "View",
    bindings: [{ key: "tab" }],
    description: "Focus the next pane",
    short: "pane",
  },
  focusPrev: {
    context: "main",
    group: "View",
    bindings: [{ key: "tab", shift: true }],
    description: "Focus the previous pane",
  },
  selectUp: {
    context: "main",
    group: "View",
    bindings: [{ key: "up" }, { char: "k" }],
    description: "Select the row above (event list: step back)",
  },
  selectDown: {
    context: "main",
    group: "View",
    bindings: [{ key: "down" }, { char: "j" }],
    description: "Select the row below (event list: step)",
  },
  pageUp: {
    context: "main",
    group: "View",
    bindings: [{ key: "pageUp" }],
    description: "Back one page of events",
  },
  pageDown: {
    context: "main",
    group: "View",
    bindings: [{ key: "pageDown" }],
    description: "Forward one page of events",
  },
  help: {
    context: "main",
    group: "View",
    bindings: [{ char: "?" }],
    description: "Show all keys",
    short: "keys",
  },
  dismiss: {
    context: "main",
    group: "View",
    bindings: [{ key: "escape" }],
    description: "Hide the message, then the post-mortem banner",
  },
  quit: {
    context: "main",
    group: "View",
    bindings: [{ char: "q" }],
    description: "Quit and restore the terminal",
    short: "quit",
  },
  interrupt: {
    context: "global",
    group: "View",
    bindings: [{ char: "c", ctrl: true }],
    description: "Quit from anywhere",
  },
  accept: {
    context: "dialog",
    group: "Dialogs",
    bindings: [{ key: "return" }],
    description: "Accept: jump to the match, add the watchpoint, go to the event",
    short: "ok",
  },
  cancel: {
    context: "dialog",
    group: "Dialogs",
    bindings: [{ key: "escape" }],
    description: "Close the dialog",
    short: "close",
  },
  listUp: {
    context: "list",
    group: "Dialogs",
    bindings: [{ key: "up" }, { char: "p", ctrl: true }],
    description: "Previous item",
  },
  listDown: {
    context: "list",
    group: "Dialogs",
    bindings: [{ key: "down" }, { char: "n", ctrl: true }],
    description: "Next item",
  },
  deleteChar: {
    context: "prompt",
    group: "Dialogs",
    bindings: [{ key: "backspace" }, { key: "delete" }],
    description: "Delete the last typed character",
  },
  close: {
    context: "viewer",
    group: "Dialogs",
    bindings: [{ char: "q" }, { char: "?" }],
    description: "Close help, the watch list or an explanation",
  },
  removeWatch: {
    context: "watch-list",
    group: "Dialogs",
    bindings: [{ char: "d" }, { key: "delete" }, { key: "backspace" }],
    description: "Remove the selected watchpoint",
    short: "remove",
  },
};

/** The named key pressed, from Ink's Key flags; undefined for a printable character. */
export function keyName(key: Key): KeyName | undefined {
  if (key.leftArrow) return "left";
  if (key.rightArrow) return "right";
  if (key.upArrow) return "up";
  if (key.downArrow) return "down";
  if (key.home) return "home";
  if (key.end) return "end";
  if (key.pageUp) return "pageUp";
  if (key.pageDown) return "pageDown";
  if (key.return) return "return";
  if (key.escape) return "escape";
  if (key.tab) return "tab";
  if (key.backspace) return "backspace";
  if (key.delete) return "delete";
  return undefined;
}

/** Whether one binding matches a keypress (Ink's `input` and `key`). */
export function matches(b: KeyBinding, input: string, key: Key): boolean {
  if ((b.ctrl ?? false) !== key.ctrl) return false;
  if (b.key !== undefined) {
    if (keyName(key) !== b.key) return false;
    return (b.shift ?? false) === key.shift;
  }
  if (b.char === undefined) return false;
  // Ink reports Ctrl+letter as the lowercase letter with ctrl set.
  return b.ctrl === true ? input.toLowerCase() === b.char.toLowerCase() : input === b.char;
}

/**
 * The command a keypress means in the given contexts, searched in order
 * (`global` is always searched first). Undefined when the key means nothing there.
 */
export function commandFor(map: KeyMap, contexts: readonly KeyContext[], input: string, key: Key): Command | undefined {
  for (const ctx of ["global" as const, ...contexts]) {
    for (const cmd of COMMANDS) {
      const spec = map[cmd];
      if (spec.context !== ctx) continue;
      if (spec.bindings.some((b) => matches(b, input, key))) return cmd;
    }
  }
  return undefined;
}

const KEY_LABELS: { readonly [K in KeyName]: string } = {
  left: "←",
  right: "→",
  up: "↑",
  down: "↓",
  home: "Home",
  end: "End",
  pageUp: "PgUp",
  pageDown: "PgDn",
  return: "Enter",
  escape: "Esc",
  tab: "Tab",
  backspace: "Backspace",
  delete: "Del",
};

/** How a binding is written on screen: `→`, `s`, `Ctrl+C`, `Shift+Tab`. */
export function formatBinding(b: KeyBinding): string {
  let base: string;
  if (b.key !== undefined) base = KEY_LABELS[b.key];
  else if (b.char === " ") base = "Space";
  else base = b.ctrl === true ? (b.char ?? "").toUpperCase() : (b.char ?? "");
  if (b.shift === true) base = `Shift+${base}`;
  if (b.ctrl === true) base = `Ctrl+${base}`;
  return base;
}

/** All bindings of a command, joined: `→/s`. */
export function formatKeys(map: KeyMap, cmd: Command, sep = "/"): string {
  return map[cmd].bindings.map(formatBinding).join(sep);
}

/** One help-screen line's data. */
export interface HelpEntry {
  readonly command: Command;
  readonly keys: string;
  readonly description: string;
}

/** The help screen's sections, generated from the key map, in KeyGroup order. */
export function helpSections(map: KeyMap): { group: KeyGroup; entries: HelpEntry[] }[] {
  const order: KeyGroup[] = ["Move", "Find", "Watch", "View", "Dialogs"];
  return order.map((group) => ({
    group,
    entries: COMMANDS.filter((c) => map[c].group === group).map((c) => ({
      command: c,
      keys: formatKeys(map, c, " "),
      description: map[c].description,
    })),
  }));
}

/**
 * Checks that no key means two commands within one list of contexts searched
 * together (one list per screen, `global` added). Returns one message per
 * clash; empty when the map is sound.
 */
export function keyClashes(map: KeyMap, screens: readonly (readonly KeyContext[])[]): string[] {
  const out: string[] = [];
  for (const contexts of screens) {
    const group: KeyContext[] = ["global", ...contexts];
    const seen = new Map<string, Command>();
    for (const ctx of group) {
      for (const cmd of COMMANDS) {
        if (map[cmd].context !== ctx) continue;
        for (const b of map[cmd].bindings) {
          const id = formatBinding(b);
          const prev = seen.get(id);
          if (prev !== undefined && prev !== cmd)
            out.push(`${id} is bound to both ${prev} and ${cmd} (${group.join(", ")})`);
          seen.set(id, cmd);
        }
      }
    }
  }
  return out;
}
