// Keys -> intents. Thin, like ink-ui's use-select.ts: the key map says which
// command a keypress is on the current screen; printable keys in a prompt are
// typed text; everything else is ignored. All rules live in the reducer
// (use-replay-state.ts), all work in the controller.

import { useInput, type Key } from 'ink';
import { commandFor, DEFAULT_KEYMAP, type KeyMap } from './keymap.ts';
import { isPrompt, MODE_CONTEXTS, screenOf, useReplayState, type Intent, type ViewState, type ViewStore } from './use-replay-state.ts';

/** A view store that also takes intents (the controller). */
export interface ReplayStore extends ViewStore {
  dispatch(intent: Intent): void;
}

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
  if (command !== undefined) return { type: 'command', command };
  if (isPrompt(state) && input !== '' && !key.ctrl && !key.meta) return { type: 'type', text: input };
  return undefined;
}

/** Subscribes to the store's view state and feeds it the keys pressed. */
export function useReplay(store: ReplayStore, options: UseReplayOptions = {}): ViewState {
  const state = useReplayState(store);
  const keymap = options.keymap ?? DEFAULT_KEYMAP;
  useInput(
    (input, key) => {
      const intent = intentFor(store.getState(), input, key, keymap);
      if (intent !== undefined) store.dispatch(intent);
    },
    { isActive: options.isActive ?? true },
  );
  return state;
}
