// The simulated kernel: state, events, the reducer and the simulator.
export * from "./types.ts";
export { applyEvent, ApplyError, wokenState } from "./apply.ts";
export { initState, cloneState, toPlain, fromPlain, type PlainState } from "./state.ts";
export { simulate, Simulator, SimError, type World, type SimOptions, type Sink } from "./sim.ts";
export { ALLOC_LOCKS } from "./alloc.ts";
export { randomChooser, type Chooser, type SchedView } from "./sched.ts";
export { ownerStatus, ownerAlive, ownerClause, type OwnerStatus } from "./locks.ts";
export { describeWait, waitText, waitsOnLock, wakersOf, stuck, otherWaits, pipeHolders, type Wakers } from "./wait.ts";
export { ev, fieldsOf, fieldsAs } from "./events.ts";
export * from "./program.ts";
export { validateWorld, validateInvariants, describeExpr, declOf, MAX_DEPTH, MAX_NODES, type WorldParts } from "./validate.ts";
export { kindsMatching } from "./events.ts";
export { evalExpr } from "./mem.ts";
export * as params from "./params.ts";
export { Rng } from "./prng.ts";
export { rank, baseRank, rankText, prioText, inversion, type Inversion } from "./prio.ts";
export { handlerRelock, actionOf, deliverable } from "./signal.ts";
