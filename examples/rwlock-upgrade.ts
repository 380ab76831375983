// rwlock-upgrade.ts: a reader "upgrades" its read lock to the write lock in
// place, and waits for itself.
//
// Models: two threads look names up in a cache under a pthread read-write
// lock's read lock; an invalidator thread marks the cache stale at some
// point. A reader that finds it stale refreshes it by taking the write lock
// while it still holds its read lock, as if the lock could be upgraded.
// pthread_rwlock_wrlock waits until no thread holds the lock, the caller's
// own read lock included (POSIX: "may deadlock"; glibc does), so the reader
// waits for ever; the other reader, if it saw the stale mark too, joins it.
// Only the runs where the invalidation comes before a reader's last lookup
// fail.
//
// ktrace reports (buggy variant, seeds 1..2000): outcome `hang`;
// `no-deadlock` at the reader's futex-wait on the lock word, with the cas
// by which the waiting reader took its read lock among the causes ("holds
// cache_lock for reading, and waits on it: for its own lock to go").
//
// Fix: `unlock-first` (release the read lock, take the write lock, and check
// the mark again: the other reader may have refreshed the cache meanwhile).
export default (k) =>
  k.defineScenario({
    name: "rwlock-upgrade",
    description: "a read lock upgraded to the write lock in place: the reader waits for its own read lock",
    fixes: { "unlock-first": "drop the read lock, take the write lock, re-check the stale mark" },
    defaults: { seed: 1, cpus: 2 },
    build: ({ fix }) => {
      const refresh =
        fix === "unlock-first"
          ? [
              k.rwUnlock("cache_lock"),
              k.wrlock("cache_lock"),
              k.load("again", "stale"),
              k.when(k.ne(k.r("again"), 0), [k.user("refresh the cache", 2), k.store("stale", 0)]),
              k.rwUnlock("cache_lock"),
            ]
          : [
              k.wrlock("cache_lock"), // still holding the read lock
              k.user("refresh the cache", 2),
              k.store("stale", 0),
              k.rwUnlock("cache_lock"),
              k.rwUnlock("cache_lock"),
            ];
      const lookup = [
        k.rdlock("cache_lock"),
        k.load("s", "stale"),
        k.user("look the name up", 2),
        k.when(k.ne(k.r("s"), 0), refresh, [k.rwUnlock("cache_lock")]),
      ];
      const reader = [k.repeat(3, lookup)];
      return {
        vars: { cache_lock: k.rwlock(), stale: { type: "int" } },
        procs: [
          {
            name: "resolver",
            main: [
              k.thread(reader, { tid: "r1" }),
              k.thread(reader, { tid: "r2" }),
              k.user("serve", 6),
              k.wrlock("cache_lock"), k.store("stale", 1), k.rwUnlock("cache_lock"), // the invalidator
              k.join(k.r("r1")),
              k.join(k.r("r2")),
            ],
          },
        ],
      };
    },
  });
