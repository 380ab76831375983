// The simulated kernel: state, events, the reducer and the simulator.

export { ALLOC_LOCKS } from "./alloc.ts";
export { ApplyError, applyEvent, wokenState } from "./apply.ts";
export { ev, fieldsAs, fieldsOf, kindsMatching } from "./events.ts";
export { type OwnerStatus, ownerAlive, ownerClause, ownerStatus } from "./locks.ts";
export { evalExpr, mayAccess } from "./mem.ts";
export * as params from "./params.ts";
export { baseRank, type Inversion, inversion, prioText, rank, rankText } from "./prio.ts";
export { Rng } from "./prng.ts";
export * from "./program.ts";
export {
  type Chooser,
  RandomChooser,
  randomChooser,
  randomDrain,
  randomJitter,
  randomPreempt,
  type SchedView,
} from "./sched.ts";
export { actionOf, handlerRelock } from "./signal.ts";
export { SimError, type SimOptions, Simulator, type Sink, simulate, type World } from "./sim.ts";
export { cloneState, fromPlain, initState, type PlainState, toPlain } from "./state.ts";
export * from "./types.ts";
export {
  declOf,
  describeExpr,
  MAX_DEPTH,
  MAX_NODES,
  validateInvariants,
  validateWorld,
  type WorldParts,
} from "./validate.ts";
export { describeWait, otherWaits, pipeHolders, stuck, type Wakers, waitsOnLock, waitText, wakersOf } from "./wait.ts";
