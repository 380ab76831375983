// cv-timedwait.ts: a worker takes pthread_cond_timedwait's ETIMEDOUT as
// "no job came", without looking at the queue again; a job posted as the
// timer fired is left behind.
//
// Models: a service thread waits up to 3 µs for a job on a condition
// variable. The main thread posts one at about the same time: it stores the
// job and signals. When the worker's timer fires first, the signal finds no
// waiter (the wakeup is lost) and the wait returns ETIMEDOUT with the mutex
// held again, and the job queued: but the worker, trusting the return code,
// skips the queue and exits.
//
// ktrace reports (buggy variant, seeds 1..2000): 393 fail, outcome `fatal`;
// `assertions` at "no job left behind", and where its value came from: the
// store of the job the check read, the worker's call that failed after it
// ("pthread_cond_timedwait(cv) fails: ETIMEDOUT ... a thread that gave up
// may have left a value as it was"), and the signal that found no waiter
// ("its timed wait on the word had timed out").
//
// Fix: `recheck` (after the wait returns, look at the predicate whatever
// the return code: a timed wait that timed out may still have a job).
export default (k) =>
  k.defineScenario({
    name: "cv-timedwait",
    description: "a timed condvar wait: ETIMEDOUT taken as 'nothing came' without looking at the queue again",
    fixes: { recheck: "after the wait returns, look at the queue again whatever the return code" },
    defaults: { seed: 1, cpus: 2 },
    build: ({ fix }) => {
      const after =
        fix === "recheck"
          ? [k.load("q", "jobs")]
          : [k.when(k.eq(k.r("rc"), 0), [k.load("q", "jobs")], [k.set("q", 0)])];
      return {
        locks: { m: { type: "mutex" } },
        vars: { jobs: { type: "int" }, taken: { type: "int" }, cv: k.condvar() },
        procs: [
          {
            name: "service",
            main: [
              k.thread(
                [
                  k.lock("m"),
                  k.load("q", "jobs"),
                  k.when(k.eq(k.r("q"), 0), [k.cvWait("cv", "m", { timeout: 3_000, ret: "rc" }), ...after]),
                  k.when(k.ne(k.r("q"), 0), [k.store("jobs", k.sub(k.v("jobs"), 1)), k.store("taken", 1)]),
                  k.unlock("m"),
                ],
                { tid: "worker" },
              ),
              k.sleep(2_900),
              k.lock("m"),
              k.store("jobs", 1),
              k.cvSignal("cv"),
              k.unlock("m"),
              k.join(k.r("worker")),
              k.load("j", "jobs"),
              k.assert(k.eq(k.r("j"), 0), "no job left behind"),
            ],
          },
        ],
      };
    },
  });
