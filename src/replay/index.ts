// Replay: a cursor over a recorded run (seek, step, reverse step, continue,
// reverse-continue), watchpoints, invariants, the first-violation search,
// why-queries and event descriptions. Reads runs through ReplaySource
// (a trace file, or a simulation held in memory).

export {
  MemorySource, TraceSource, openSource, eventAt, eventOrNull, lastAtOrBefore, recoveryNote, gapsText, displaySafe,
  type ReplaySource, type SourceMeta, type MemorySourceOptions,
} from "./source.ts";
export { Cursor, NoSuchPointError, StateUnknownError, type CursorOptions, type SeekTarget, type Stop } from "./cursor.ts";
export {
  parseWatch, watchLock, watchKstackFree, watchThread, watchVmar, watchKind, watchCondition, watchValue,
  WatchSpecError, SKIP, type Watchpoint, type WatchHit, type WatchValue, type LockSelector,
} from "./watch.ts";
export {
  INVARIANTS, INVARIANT_NAMES, Checker, checkEvent, selectInvariants, cannotRelease, InvariantNameError,
  recursiveMutexOwner, lockOwnerAlive, noDeadlock, kstackInUse, vmarLive, noPanic,
  type Invariant, type InvariantName, type Violation, type Finding, type Cause,
} from "./invariants.ts";
export { BUILTIN_INVARIANT_NAMES, invariantNames, checkInvariantNames, UnknownInvariantError } from "./invariant-names.ts";
export { DensityScan, bucketStart, DENSITY_BUCKETS, type DensityOptions } from "./density.ts";
export { firstViolation, firstOfKinds, forEachEvent, walk, foldEvent, unfoldedText, ReplayError, type ScanResult, type Unfolded, type WalkHooks } from "./scan.ts";
export { violationReport, type ViolationReport, type CauseReport } from "./explain.ts";
export { why, parseRef, RefError, type ObjectRef, type WhyEntry } from "./why.ts";
export { describe, eventArgs, eventJson, kindMask, kindName, PatternError, type EventJson } from "./describe.ts";
export {
  stateView, stateText, table,
  type StateView, type CpuView, type ProcessView, type ThreadView, type LockView, type KstackView, type VmarView,
} from "./state-view.ts";
