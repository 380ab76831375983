// The footer: the keys that matter on the current screen, generated from the
// key map (the first binding of each command), cut to the terminal width by
// priority; and the status line above it.

import { Text } from "ink";
import { cellWidth, cut, fit } from "../util/text-table.ts";
import { type Command, formatBinding, type KeyMap } from "./keymap.ts";
import { type Status, screenOf, type ViewState } from "./use-replay-state.ts";

export interface FooterEntry {
  readonly keys: string;
  readonly label: string;
}

interface Slot {
  readonly cmds: readonly Command[];
  /** Overrides the key map's `short`. */
  readonly label?: string;
  /** Lower is kept first when the width runs out. */
  readonly prio: number;
  readonly when?: (s: ViewState) => boolean;
}

const MAIN: readonly Slot[] = [
  { cmds: ["stepBack"], prio: 0 },
  { cmds: ["step"], prio: 0 },
  { cmds: ["continue"], prio: 2 },
  { cmds: ["reverseContinue"], prio: 2 },
  { cmds: ["failure"], prio: 4, when: (s) => s.failureSeq !== null },
  { cmds: ["violation"], prio: 5, when: (s) => s.violationSeq !== null },
  { cmds: ["search"], prio: 3 },
  { cmds: ["nextMatch", "prevMatch"], label: "match", prio: 3, when: (s) => s.search !== null },
  { cmds: ["watch"], prio: 3 },
  { cmds: ["watchList"], prio: 6, when: (s) => s.watches.length > 0 },
  { cmds: ["explain"], prio: 4 },
  { cmds: ["goTo"], prio: 7 },
  { cmds: ["focusNext"], prio: 6 },
  { cmds: ["help"], prio: 1 },
  { cmds: ["quit"], prio: 1 },
];

const LIST: Slot = { cmds: ["listUp", "listDown"], label: "choose", prio: 1 };
const CANCEL: Slot = { cmds: ["cancel"], label: "cancel", prio: 0 };
const CLOSE: Slot = { cmds: ["cancel"], label: "close", prio: 0 };

const DIALOG: { readonly [K in Exclude<ReturnType<typeof screenOf>, "main">]: readonly Slot[] } = {
  help: [{ cmds: ["listUp", "listDown"], label: "scroll", prio: 1 }, CLOSE],
  goto: [{ cmds: ["accept"], label: "go", prio: 0 }, { cmds: ["deleteChar"], label: "erase", prio: 2 }, CANCEL],
  search: [LIST, { cmds: ["accept"], label: "jump", prio: 0 }, CANCEL],
  "watch-pick": [LIST, { cmds: ["accept"], label: "watch", prio: 0 }, CANCEL],
  "watch-list": [LIST, { cmds: ["removeWatch"], label: "remove", prio: 0 }, CLOSE],
  explain: [
    { cmds: ["accept"], label: "jump", prio: 0, when: (s) => s.dialog?.kind === "explain" && s.dialog.seq !== null },
    { cmds: ["listUp", "listDown"], label: "scroll", prio: 1 },
    CLOSE,
  ],
};

/** The footer's entries for a view state, fitted to `width` by priority, in display order. */
export function footerEntries(s: ViewState, map: KeyMap, width: number): FooterEntry[] {
  const screen = screenOf(s);
  const slots = (screen === "main" ? MAIN : DIALOG[screen]).filter((x) => x.when === undefined || x.when(s));
  const entries = slots.map((x) => ({
    slot: x,
    keys: x.cmds.map((c) => formatBinding(map[c].bindings[0]!)).join("/"),
    label: x.label ?? map[x.cmds[0]!].short ?? x.cmds[0]!,
  }));
  const order = entries.map((e, i) => ({ e, i })).sort((a, b) => a.e.slot.prio - b.e.slot.prio || a.i - b.i);
  const keep = new Set<number>();
  let used = 0;
  for (const { e, i } of order) {
    const w = cellWidth(e.keys) + 1 + cellWidth(e.label) + 2;
    if (used + w > width + 2) continue;
    used += w;
    keep.add(i);
  }
  return entries.filter((_, i) => keep.has(i)).map(({ keys, label }) => ({ keys, label }));
}

export interface FooterProps {
  readonly state: ViewState;
  readonly keymap: KeyMap;
  readonly width: number;
}

export function Footer({ state, keymap, width }: FooterProps) {
  const entries = footerEntries(state, keymap, width - 1);
  return (
    <Text wrap="truncate">
      {" "}
      {entries.map((e, i) => (
        <Text key={i}>
          <Text bold color="cyan">
            {e.keys}
          </Text>
          <Text dimColor>{` ${e.label}${i < entries.length - 1 ? "  " : ""}`}</Text>
        </Text>
      ))}
    </Text>
  );
}

const TONE_COLOR = { info: undefined, hit: "yellow", warn: "yellow", error: "red" } as const;

export interface StatusLineProps {
  readonly status: Status | null;
  /** Shown dim when there is no status (e.g. why the selected row is marked). */
  readonly hint?: string;
  readonly width: number;
}

export function StatusLine({ status, hint, width }: StatusLineProps) {
  if (status === null) {
    return <Text dimColor>{fit(hint === undefined ? "" : ` ${cut(hint, width - 1)}`, width)}</Text>;
  }
  return (
    <Text color={TONE_COLOR[status.tone]} bold={status.tone !== "info"} wrap="truncate">
      {fit(` ${status.text}`, width)}
    </Text>
  );
}
