// Replay: a cursor over a recorded run (seek, step, reverse step, continue,
// reverse-continue), watchpoints, invariants, the first-violation search,
// why-queries and event descriptions. Reads runs through ReplaySource
// (a trace file, or a simulation held in memory).

export {
  MemorySource, TraceSource, openSource, eventAt, eventOrNull, lastAtOrBefore, recoveryNote, gapsText, displaySafe, worldMeta,
  type ReplaySource, type SourceMeta, type MemorySourceOptions,
} from "./source.ts";
export { Cursor, NoSuchPointError, StateUnknownError, type CursorOptions, type SeekTarget, type Stop } from "./cursor.ts";
export {
  parseWatch, watchLock, watchVar, watchAccess, watchKstackFree, watchThread, watchVmar, watchKind, watchCondition, watchValue,
  watchFutex, watchPipe, watchSignals,
  WatchSpecError, SKIP, type Watchpoint, type WatchHit, type WatchValue, type LockSelector, type VarSelector,
} from "./watch.ts";
export {
  INVARIANTS, INVARIANT_NAMES, Checker, checkEvent, selectInvariants, selectFor, invariantsFor, invariantsOf, cannotRelease, InvariantNameError, InvariantDeclError,
  recursiveMutexOwner, lockOwnerAlive, noDeadlock, kstackInUse, vmarLive, noPanic, lockMisuse, useAfterFree, assertions, noLivelock,
  signalSafety, priorityInversion, zombieLeak,
  type Invariant, type InvariantName, type Violation, type Finding, type Cause,
} from "./invariants.ts";
export {
  CONSISTENCY_INVARIANTS, oneCpuAtATime, switchFromCurrent, noRunAfterExit, importedApplicability, LockEvidence, NOT_IN_REAL_TRACES,
  type NotEvaluated,
} from "./consistency.ts";
export { BUILTIN_INVARIANT_NAMES, invariantNames, checkInvariantNames, UnknownInvariantError } from "./invariant-names.ts";
export { DensityScan, bucketStart, DENSITY_BUCKETS, type DensityOptions } from "./density.ts";
export { compileInvariant } from "./user-invariants.ts";
export { ownerStatus, ownerAlive, ownerClause, type OwnerStatus } from "../kernel/locks.ts";
// The kernel's one rule each, for the views: priorities, and who can end a wait.
export { baseRank, inversion, prioText, rank, rankText } from "../kernel/prio.ts";
export { pipeHolders, stuck, waitText, waitsOnLock } from "../kernel/wait.ts";
export { firstViolation, checkRange, firstOfKinds, forEachEvent, walk, foldEvent, unfoldedText, ReplayError, type ScanResult, type RangeCheck, type Unfolded, type WalkHooks } from "./scan.ts";
export { firstViolationParallel, SEGMENT_EVENTS, PARALLEL_MIN_EVENTS, type ParallelScanOptions } from "./parallel-scan.ts";
export { violationReport, type ViolationReport, type CauseReport } from "./explain.ts";
export { why, parseRef, RefError, type ObjectRef, type WhyEntry } from "./why.ts";
export { describe, taskText, waitVerb, eventMatcher, eventArgs, eventJson, errnoText, kindMask, kindName, misuseText, spaceText, syncText, timeText, valueText, varText, PatternError, type EventJson } from "./describe.ts";
export {
  stateView, stateText, table, isImportedState, futexWaitersOf, maskNames, syncValue,
  type StateView, type CpuView, type ProcessView, type ThreadView, type LockView, type KstackView, type VmarView,
  type VarView, type ObjectView, type RegView, type SyncView, type PipeView, type FdView, type PendingView,
} from "./state-view.ts";
