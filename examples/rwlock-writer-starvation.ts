// rwlock-writer-starvation.ts: readers keep a reader-preferring read-write lock
// held between them, and the writer never gets it.
//
// Models: a cache behind a pthread rwlock with the default, reader-preferring
// kind (glibc's PTHREAD_RWLOCK_PREFER_READER_NP: a reader takes the lock
// whenever no writer holds it, waiting writers or not). Two reader threads
// look entries up in a loop; their read sections overlap, so the count of
// readers rarely drops to zero, and when it does, the writer woken for it
// finds a reader back in before it runs. The run goes on (the readers mark
// progress), but the writer's updates stop: no deadlock, no livelock, and
// nothing crashes. The scenario opts in to the `no-starvation` invariant
// (`rules: { starvationCheck: true, starvationWindow: 4000 }`), which
// judges a run cut by the event budget.
//
// ktrace reports (buggy variant, seeds 1..200, 20,000 events each): 126 fail,
// outcome `budget`; `no-starvation` at the end event ("tid 4 (pid 1) starves:
// no progress since seq N (M events), while tids 2, 3 made progress in the last
// 4000 events; it lost the race for rwlock rw K times in them"), its last
// progress and its first and last lost race among the causes; on 19 of them
// the writer made no progress in the whole run.
//
// Fix: `turnstile` (writer preference, as a turnstile mutex: the writer holds
// it while it waits for the readers to leave, and a reader passes through it
// before it takes the read lock, so no new reader gets in ahead of a waiting
// writer).
export default (k) =>
  k.defineScenario({
    name: "rwlock-writer-starvation",
    description: "readers keep a reader-preferring rwlock held between them: the writer starves",
    fixes: {
      turnstile:
        "a turnstile mutex: the writer holds it while waiting for the write lock; readers pass through it first",
    },
    defaults: { seed: 1, cpus: 2, maxEvents: 20000 },
    build: ({ fix }) => {
      const turnstile = fix === "turnstile";
      const reader = [
        ...(turnstile ? [k.lock("turnstile"), k.unlock("turnstile")] : []),
        k.rdlock("rw"),
        k.user("lookup", 12),
        k.rwUnlock("rw"),
        k.progress("lookup"),
      ];
      const writer = [
        k.user("prepare update", 2),
        ...(turnstile ? [k.lock("turnstile")] : []),
        k.wrlock("rw"),
        ...(turnstile ? [k.unlock("turnstile")] : []),
        k.user("update", 2),
        k.rwUnlock("rw"),
        k.progress("update"),
      ];
      return {
        rules: { starvationCheck: true, starvationWindow: 4000 },
        locks: turnstile ? { turnstile: { type: "mutex" } } : {},
        vars: { rw: { type: "int", sync: "rwlock" } },
        procs: [
          {
            name: "cache",
            main: [
              k.thread([k.repeat(Infinity, reader)]),
              k.thread([k.repeat(Infinity, reader)]),
              k.thread([k.repeat(Infinity, writer)]),
              k.join(2),
            ],
          },
        ],
      };
    },
  });
