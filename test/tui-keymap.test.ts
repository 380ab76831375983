// The key map: data that the help screen, the footer and the key handling are
// generated from; no key means two things on one screen; rebinding works.

import { describe, expect, it } from "vitest";
import { helpLines } from "../src/tui/help.tsx";
import {
  COMMANDS,
  commandFor,
  DEFAULT_KEYMAP,
  formatBinding,
  formatKeys,
  helpSections,
  type KeyMap,
  keyClashes,
} from "../src/tui/keymap.ts";
import { intentFor, splitKeys } from "../src/tui/use-replay.ts";
import { type Dialog, initialViewState, MODE_CONTEXTS, type ViewState } from "../src/tui/use-replay-state.ts";
import { key } from "./helpers/tui.ts";

const main = MODE_CONTEXTS.main;

describe("key map", () => {
  it("gives every command at least one binding and a description", () => {
    for (const c of COMMANDS) {
      expect(DEFAULT_KEYMAP[c].bindings.length, c).toBeGreaterThan(0);
      expect(DEFAULT_KEYMAP[c].description.length, c).toBeGreaterThan(5);
      for (const b of DEFAULT_KEYMAP[c].bindings)
        expect((b.char === undefined) !== (b.key === undefined), c).toBe(true);
    }
  });

  it("has no key bound to two commands on any screen", () => {
    expect(keyClashes(DEFAULT_KEYMAP, Object.values(MODE_CONTEXTS))).toEqual([]);
  });

  it("reports a clash when a rebinding creates one", () => {
    const bad: KeyMap = { ...DEFAULT_KEYMAP, search: { ...DEFAULT_KEYMAP.search, bindings: [{ char: "s" }] } };
    expect(keyClashes(bad, [main])).toEqual(["s is bound to both step and search (global, main)"]);
  });

  it("maps the debugger keys the issue names", () => {
    const cases: [string, Parameters<typeof key>[0], string][] = [
      ["", { rightArrow: true }, "step"],
      ["s", {}, "step"],
      ["", { leftArrow: true }, "stepBack"],
      ["b", {}, "stepBack"],
      ["c", {}, "continue"],
      ["C", { shift: true }, "reverseContinue"],
      ["g", {}, "goTo"],
      ["", { home: true }, "start"],
      ["", { end: true }, "end"],
      ["v", {}, "violation"],
      ["p", {}, "failure"],
      ["/", {}, "search"],
      ["n", {}, "nextMatch"],
      ["N", { shift: true }, "prevMatch"],
      ["w", {}, "watch"],
      ["W", { shift: true }, "watchList"],
      ["e", {}, "explain"],
      ["", { tab: true }, "focusNext"],
      ["", { tab: true, shift: true }, "focusPrev"],
      ["?", {}, "help"],
      ["q", {}, "quit"],
      ["c", { ctrl: true }, "interrupt"],
    ];
    for (const [input, flags, cmd] of cases)
      expect(commandFor(DEFAULT_KEYMAP, main, input, key(flags)), `${input} ${JSON.stringify(flags)}`).toBe(cmd);
  });

  it("tells c from C and Ctrl+C", () => {
    expect(commandFor(DEFAULT_KEYMAP, main, "c", key())).toBe("continue");
    expect(commandFor(DEFAULT_KEYMAP, main, "C", key({ shift: true }))).toBe("reverseContinue");
    expect(commandFor(DEFAULT_KEYMAP, main, "c", key({ ctrl: true }))).toBe("interrupt");
  });

  it("quits with Ctrl+C from every screen, but lets q be typed into a prompt", () => {
    for (const ctxs of Object.values(MODE_CONTEXTS)) {
      expect(commandFor(DEFAULT_KEYMAP, ctxs, "c", key({ ctrl: true }))).toBe("interrupt");
    }
    expect(commandFor(DEFAULT_KEYMAP, MODE_CONTEXTS.search, "q", key())).toBeUndefined();
    expect(commandFor(DEFAULT_KEYMAP, MODE_CONTEXTS.help, "q", key())).toBe("close");
  });

  it("means nothing for unbound keys", () => {
    expect(commandFor(DEFAULT_KEYMAP, main, "z", key())).toBeUndefined();
    expect(commandFor(DEFAULT_KEYMAP, main, "", key({ return: true }))).toBeUndefined();
  });

  it("is rebindable in code: the handling and the help follow the table", () => {
    const mine: KeyMap = {
      ...DEFAULT_KEYMAP,
      step: { ...DEFAULT_KEYMAP.step, bindings: [{ key: "right" }, { char: "l" }] },
    };
    expect(commandFor(mine, main, "l", key())).toBe("step");
    expect(commandFor(mine, main, "s", key())).toBeUndefined();
    expect(formatKeys(mine, "step")).toBe("→/l");
    const move = helpSections(mine).find((s) => s.group === "Move")!;
    expect(move.entries.find((e) => e.command === "step")!.keys).toBe("→ l");
  });

  it("writes bindings the way the help shows them", () => {
    expect(formatBinding({ key: "left" })).toBe("←");
    expect(formatBinding({ char: "c", ctrl: true })).toBe("Ctrl+C");
    expect(formatBinding({ key: "tab", shift: true })).toBe("Shift+Tab");
    expect(formatBinding({ key: "home" })).toBe("Home");
    expect(formatKeys(DEFAULT_KEYMAP, "stepBack")).toBe("←/b");
  });

  it("generates the help from the table: every command appears once", () => {
    const lines = helpLines(DEFAULT_KEYMAP).filter((l) => l.command !== undefined);
    expect(lines.map((l) => l.description).sort()).toEqual(COMMANDS.map((c) => DEFAULT_KEYMAP[c].description).sort());
  });

  it("ends the help with the timeline's legend, every line short enough for 80 columns", () => {
    const all = helpLines(DEFAULT_KEYMAP);
    const at = all.findIndex((l) => l.group === "Timeline");
    expect(at).toBeGreaterThan(0);
    const legend = all.slice(at + 1);
    expect(legend.map((l) => l.keys)).toEqual(expect.arrayContaining(["✖", "!", "◆", "▁…█", "─", "·"]));
    for (const l of legend) expect(l.command).toBeUndefined();
    for (const l of legend) expect((l.description ?? "").length, l.description).toBeLessThanOrEqual(80 - 19);
  });
});

describe("keys to intents (use-replay)", () => {
  const base = initialViewState({ seq: 5, total: 10 });
  const withDialog = (d: Dialog): ViewState => ({ ...base, dialog: d });

  it("turns a bound key into its command", () => {
    expect(intentFor(base, "", key({ leftArrow: true }))).toEqual({ type: "command", command: "stepBack" });
  });

  it("types printable keys into an open prompt, commands first", () => {
    const s = withDialog({ kind: "search", text: "", index: 0, items: [], all: [], scope: "" });
    expect(intentFor(s, "s", key())).toEqual({ type: "type", text: "s" });
    expect(intentFor(s, "q", key())).toEqual({ type: "type", text: "q" });
    expect(intentFor(s, "", key({ return: true }))).toEqual({ type: "command", command: "accept" });
    expect(intentFor(s, "", key({ backspace: true }))).toEqual({ type: "command", command: "deleteChar" });
    expect(intentFor(s, "n", key({ ctrl: true }))).toEqual({ type: "command", command: "listDown" });
  });

  it("ignores printable keys that mean nothing outside a prompt", () => {
    expect(intentFor(base, "z", key())).toBeUndefined();
    expect(intentFor(withDialog({ kind: "help", scroll: 0 }), "z", key())).toBeUndefined();
  });

  it("splits a run of keys the terminal delivered at once into one key each", () => {
    expect(splitKeys("s", key())).toEqual([["s", key()]]);
    expect(splitKeys("", key({ leftArrow: true }))).toEqual([["", key({ leftArrow: true })]]);
    expect(splitKeys("\t\ts", key({ tab: true })).map(([i, k]) => commandFor(DEFAULT_KEYMAP, main, i, k))).toEqual([
      "focusNext",
      "focusNext",
      "step",
    ]);
    expect(splitKeys("c", key({ ctrl: true }))).toHaveLength(1);
  });

  it("removes a watchpoint with d only in the watch list", () => {
    expect(intentFor(withDialog({ kind: "watch-list", index: 0 }), "d", key())).toEqual({
      type: "command",
      command: "removeWatch",
    });
    expect(intentFor(withDialog({ kind: "watch-pick", text: "", index: 0, items: [] }), "d", key())).toEqual({
      type: "type",
      text: "d",
    });
  });
});
