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

export { App, type AppProps, type Layout, layout } from "./app.tsx";
export {
  BranchingEngine,
  type Engine,
  type EngineOptions,
  type Explorer,
  type OpenAt,
  openCursor,
  ReplayEngine,
  traceInfo,
  violationLine,
} from "./engine.ts";
export { type EventRow, type Frame, type Marks, type Overview, PANES, type PaneId, type TraceInfo } from "./frame.ts";
export {
  COMMANDS,
  type Command,
  type CommandBinding,
  commandFor,
  DEFAULT_KEYMAP,
  formatBinding,
  formatKeys,
  helpSections,
  type KeyBinding,
  type KeyContext,
  type KeyMap,
  keyClashes,
} from "./keymap.ts";
export { type RunReplayOptions, runReplay } from "./run.tsx";
export { openExploring, openReplay, type ReplayStore, Store, type StoreOptions } from "./store.ts";
export { intentFor, useReplay } from "./use-replay.ts";
export {
  type Dialog,
  type Intent,
  initialViewState,
  MODE_CONTEXTS,
  openingState,
  reduce,
  type ViewState,
} from "./use-replay-state.ts";
