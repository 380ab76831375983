// The replay terminal UI (`ktrace replay`). A key's path: keymap.ts (which
// command) -> use-replay-state.ts (what it does: reduce(state, intent, engine),
// calling engine.ts for the trace) -> the views (app.tsx and the panes).
// use-replay.ts is the thin Ink hook, store.ts holds the state.
//
// Imports go one way, no cycles (test/tui-imports.test.ts checks):
//   frame.ts, kinds.ts, keymap.ts     data and types (kernel types, util)
//   rows.ts                           pane rows from a kernel state
//   engine.ts                         the replay engine (the only caller of src/replay)
//   use-replay-state.ts               the reducer (engine types)
//   store.ts, use-replay.ts           the state's holder, the hook
//   *.tsx views                       frame.ts, kinds.ts, keymap.ts, the reducer's types

export { runReplay, type RunReplayOptions } from './run.tsx';
export { App, layout, type AppProps, type Layout } from './app.tsx';
export { openExploring, openReplay, Store, type ReplayStore, type StoreOptions } from './store.ts';
export {
  DEFAULT_KEYMAP,
  COMMANDS,
  commandFor,
  formatBinding,
  formatKeys,
  helpSections,
  keyClashes,
  type Command,
  type CommandBinding,
  type KeyBinding,
  type KeyContext,
  type KeyMap,
} from './keymap.ts';
export {
  reduce,
  initialViewState,
  openingState,
  MODE_CONTEXTS,
  type ViewState,
  type Intent,
  type Dialog,
} from './use-replay-state.ts';
export { useReplay, intentFor } from './use-replay.ts';
export { BranchingEngine, ReplayEngine, openCursor, traceInfo, violationLine, type Engine, type EngineOptions, type Explorer, type OpenAt } from './engine.ts';
export { PANES, type Frame, type Overview, type TraceInfo, type EventRow, type Marks, type PaneId } from './frame.ts';
