// lost-wakeup.ts: a condition variable signalled before anyone waits on it.
//
// Models: a worker thread waits for its parent to hand it a job: it takes
// the mutex and waits on the condition variable `job_ready`, once, without
// checking a predicate. The parent prepares the job, sets `has_job` under the
// mutex, signals, and joins the worker. A signal with no waiter is lost
// (POSIX: pthread_cond_signal wakes a thread only if one is waiting), so
// when the parent signals before the worker reaches its wait, the worker
// waits for ever, and so does the parent's join.
//
// ktrace reports (buggy variant): outcome `hang`; `no-deadlock` at the wait
// that makes the pair stuck (the worker's futex-wait on `job_ready`, or the
// parent's join-wait), "waits on condvar job_ready, which can never return";
// among its causes the futex-wake that found no waiter (the signal nobody
// received: `events` says "no thread is waiting, the wakeup is lost").
//
// Fix: `predicate-loop` (while (!has_job) pthread_cond_wait(...): the
// worker checks the state the signal announces, under the mutex, before it
// waits, and again after every wakeup).
export default (k) =>
  k.defineScenario({
    name: "lost-wakeup",
    description: "a condition variable signalled before the worker waits, and a wait without a predicate loop: the worker sleeps for ever",
    fixes: { "predicate-loop": "the worker waits in a loop on the predicate (has_job), checked under the mutex" },
    defaults: { seed: 1, cpus: 2 },
    build: ({ fix }) => {
      const wait = fix === "predicate-loop"
        ? [k.loopWhile(k.eq(k.v("has_job"), 0), { max: Infinity }, [k.cvWait("job_ready", "jobs")])]
        : [k.cvWait("job_ready", "jobs")];
      return {
        vars: { job_ready: k.condvar(), has_job: { type: "int" }, done: { type: "int" } },
        procs: [{
          name: "dispatcher",
          main: [
            k.thread([
              k.user("worker: set up"),
              k.lock("jobs"), ...wait, k.store("done", 1), k.unlock("jobs"),
              k.user("worker: run the job", 2),
            ], { tid: "worker" }),
            k.user("dispatcher: prepare the job", 6),
            k.lock("jobs"), k.store("has_job", 1), k.cvSignal("job_ready"), k.unlock("jobs"),
            k.join(k.r("worker")),
          ],
        }],
      };
    },
  });
