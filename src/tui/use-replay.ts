// Keys -> intents, and the view state back. Thin, like ink-ui's use-select.ts:
// the key map (keymap.ts) says which command a keypress is on the current
// screen; printable keys in a prompt are typed text; everything else is
// ignored. What a command does is decided in use-replay-state.ts.

import { type Key, useInput } from "ink";
import { useSyncExternalStore } from "react";
import { commandFor, DEFAULT_KEYMAP, type KeyMap } from "./keymap.ts";
import type { ReplayStore } from "./store.ts";
import { type Intent, isPrompt, MODE_CONTEXTS, screenOf, type ViewState } from "./use-replay-state.ts";

export interface UseReplayOptions {
  /** Listen to keys only while true (Ink's convention for every input hook). Default true. */
  readonly isActive?: boolean;
  readonly keymap?: KeyMap;
}

/** The intent a keypress means on the screen of `state`, or undefined when it means nothing. */
export function intentFor(
  state: ViewState,
  input: string,
  key: Key,
  keymap: KeyMap = DEFAULT_KEYMAP,
): Intent | undefined {
  const command = commandFor(keymap, MODE_CONTEXTS[screenOf(state)], input, key);
  if (command !== undefined) return { type: "command", command };
  if (isPrompt(state) && input !== "" && !key.ctrl && !key.meta) return { type: "type", text: input };
  return undefined;
}

/**
 * The keys in one chunk of terminal input. Ink hands over a run of plain
 * characters as one input ("sss", "\t\t\t" when a held key repeats faster than
 * the terminal is read, or keys sent at once); when the run as a whole means
 * nothing, each character is a key of its own. A named key (arrow, Escape) or
 * a single character is one key.
 */
export function splitKeys(input: string, key: Key): [string, Key][] {
  const chars = [...input];
  if (chars.length <= 1 || key.ctrl || key.meta) return [[input, key]];
  const plain: Key = { ...key, tab: false, return: false, shift: false };
  return chars.map((ch) => [ch, { ...plain, tab: ch === "\t", return: ch === "\r" }]);
}

/** Subscribes to the store's view state and feeds it the keys pressed. */
export function useReplay(store: ReplayStore, options: UseReplayOptions = {}): ViewState {
  const state = useSyncExternalStore(
    (l) => store.subscribe(l),
    () => store.getState(),
  );
  const keymap = options.keymap ?? DEFAULT_KEYMAP;
  useInput(
    (input, key) => {
      const intent = intentFor(store.getState(), input, key, keymap);
      if (intent !== undefined) return store.dispatch(intent);
      // Several keys at once: each on the screen the one before it left.
      const keys = splitKeys(input, key);
      if (keys.length === 1) return;
      for (const [i, k] of keys) {
        const next = intentFor(store.getState(), i, k, keymap);
        if (next !== undefined) store.dispatch(next);
      }
    },
    { isActive: options.isActive ?? true },
  );
  return state;
}
