// Limits and defaults, in one place (like xv6's param.h).

/** CPUs when a scenario or --cpus does not say. */
export const DEFAULT_CPUS = 2;
/** Most CPUs a run may have. */
export const MAX_CPUS = 64;
/** Events between two snapshots in a trace file (--snapshot-every). */
export const DEFAULT_SNAPSHOT_EVERY = 4096;
/** Events after which a run ends with outcome `budget` (--max-events). */
export const DEFAULT_MAX_EVENTS = 1_000_000;
/** pid of the first process a scenario creates (init). */
export const FIRST_PID = 1;
/** Objects a thread cache refills with from a central free list. */
export const TCACHE_REFILL = 8;
/** Size classes of the allocator model (central free lists). */
export const SIZE_CLASSES = [16, 64, 256] as const;
/** Chance, per step, that a thread is preempted while others wait to run (out of 2^32). */
export const PREEMPT_ODDS = Math.floor(2 ** 32 / 24);

/** Virtual cost in ns of a step, by what the step does; scaled by a seeded jitter of 1x to 4x. */
export const COST = {
  user: 40,
  kernel: 60,
  lock: 20,
  malloc: 30,
  switch: 200,
  spin: 50,
  idle: 100,
} as const;
/**
 * A run that reaches --max-events is a livelock when its scenario marks
 * progress and no progress event came in the last this-many events (or half
 * the budget, when that is smaller). A world may set its own (progressWindow).
 */
export const PROGRESS_WINDOW = 10_000;
/**
 * Freed heap objects the kernel state remembers (KASAN-style quarantine): a
 * use or free of one of them is a use after free / double free the invariant
 * names; older ones are forgotten (oldest freed first), so a program that
 * allocates in a loop keeps a bounded state.
 */
export const FREED_QUARANTINE = 256;
/** Highest thread priority (sched_get_priority_max(SCHED_FIFO) on Linux); 0 is the lowest. */
export const MAX_PRIO = 99;
/** The first descriptor a pipe or dup gets (0, 1 and 2, the standard streams, are not modelled). */
export const FIRST_FD = 3;
/** Descriptors a process may have open (RLIMIT_NOFILE): EMFILE beyond. */
export const MAX_FDS = 64;
/** A pipe's buffer in bytes when pipe() does not say (small, so that writers block in a short run; Linux has 65536). */
export const PIPE_CAPACITY = 64;
/** Stores a thread's store buffer holds under the tso memory model (src/kernel/tso.ts): a store into a full one commits the oldest first. */
export const STORE_BUFFER = 8;
