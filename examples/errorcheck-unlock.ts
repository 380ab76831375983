// errorcheck-unlock.ts: a thread unlocks an error-checking mutex it does
// not own, and does not look at the error.
//
// Models: a worker takes the job mutex, does the job, and hands the cleanup
// to a cleaner thread, which "releases the worker's lock" for it. The mutex
// is PTHREAD_MUTEX_ERRORCHECK, so the unlock by a non-owner fails with EPERM
// and changes nothing; the cleaner ignores the return code. The worker exits
// believing the lock released, and the next job (the main thread) blocks for
// ever on a mutex whose owner has exited.
//
// ktrace reports (buggy variant, every seed): outcome `hang`; `lock-misuse`
// at the cleaner's lock-misuse event (an unlock by a non-owner, EPERM), with
// the worker's acquire among its causes; the hang comes later (main's
// lock-wait breaks lock-owner-alive then: its owner has exited).
//
// Fix: `owner-unlocks` (the worker releases its own lock before it hands
// off).
export default (k) =>
  k.defineScenario({
    name: "errorcheck-unlock",
    description: "an error-checking mutex unlocked by a thread that does not own it: EPERM ignored, lock held for ever",
    fixes: { "owner-unlocks": "the worker unlocks the mutex itself before handing the cleanup off" },
    defaults: { seed: 1 },
    build: ({ fix }) => {
      const wait = (flag) => [k.load("f", flag, { atomic: true }), k.loopWhile(k.eq(k.r("f"), 0), { max: Infinity }, [k.user(`wait for ${flag}`), k.load("f", flag, { atomic: true })])];
      const worker = [
        k.lock("job_lock"), k.user("worker: run the job", 2),
        ...(fix === "owner-unlocks" ? [k.unlock("job_lock")] : []),
        k.store("job_done", 1, { atomic: true }),
        ...wait("cleaned"),
      ];
      const cleaner = [
        ...wait("job_done"),
        ...(fix === "owner-unlocks" ? [] : [k.unlockChecked("job_lock", "err")]), // EPERM, ignored
        k.user("cleaner: free the job's buffers"),
        k.store("cleaned", 1, { atomic: true }),
      ];
      return {
        locks: { job_lock: { type: "errorcheck" } },
        vars: { job_done: { type: "int" }, cleaned: { type: "int" } },
        procs: [{
          name: "jobs",
          main: [
            k.thread(worker), k.thread(cleaner),
            ...wait("cleaned"), k.user("main: next job"),
            k.lock("job_lock"), k.user("main: run the next job"), k.unlock("job_lock"),
          ],
        }],
      };
    },
  });
