// The replay terminal UI (`ktrace replay`): Ink views, the view-state reducer,
// the key map, and the controller that connects them to the replay cursor.

export { runReplay, type RunReplayOptions } from './run.tsx';
export { App, layout, type AppProps, type AppStore, type Layout } from './app.tsx';
export { ReplayController, violationLine, type ControllerOptions, type OpenAt } from './controller.ts';
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
  update,
  initialViewState,
  PANES,
  MODE_CONTEXTS,
  type ViewState,
  type Intent,
  type Effect,
  type Dialog,
  type PaneId,
} from './use-replay-state.ts';
export { useReplay, intentFor, type ReplayStore } from './use-replay.ts';
export { openCursor, traceInfo, explain } from './engine.ts';
export type { Frame, TraceInfo, EventRow, Marks } from './frame.ts';
