// robust-mutex.ts: a process dies holding a robust mutex; the survivor gets
// EOWNERDEAD and unlocks without repairing the record or calling
// pthread_mutex_consistent.
//
// Models: two processes share a record { a, b } (a == b when consistent)
// and the robust mutex that guards it, in shared memory (kernel scope: one
// copy both processes see, as a MAP_SHARED mapping). The writer process
// updates the record under the mutex (a += 1, then b += 1) in a loop; the
// supervisor (init) lets it run, kills it with SIGKILL, reaps it and forks a
// reader. When the kill lands inside the critical section, the kernel marks
// the mutex owner-died and the reader's lock returns EOWNERDEAD: it owns the
// mutex and the record may be torn. The reader ignores the code: it uses the
// record (a torn one fails its assert) and unlocks, which leaves the mutex
// not recoverable, so its next lock fails with ENOTRECOVERABLE (its assert
// on the return code fails).
//
// ktrace reports (buggy variant, seeds 1..2000): 1,158 seeds fail, outcome
// `fatal`. On 600 (the writer died holding the mutex with the record whole)
// `lock-misuse` breaks at the reader's unlock: "unlocks robust rec.lock,
// inconsistent since it took it with EOWNERDEAD, without
// pthread_mutex_consistent: it is now not recoverable", its causes the
// writer's death (lock-robust, owner-died) and the reader's acquire; its next
// lock fails with ENOTRECOVERABLE and the assert on it aborts. On 558 (the
// kill landed between the two stores) `assertions`: "the record is
// consistent" fails. `ktrace state` shows the mutex `mutex (robust:
// inconsistent)` while the reader holds it, `ktrace why lock:rec.lock` the
// death. The other 842 seeds killed the writer outside the critical section.
//
// Fix: `consistent` (on EOWNERDEAD the reader repairs the record, b = a, and
// calls pthread_mutex_consistent before it unlocks).
export default (k) =>
  k.defineScenario({
    name: "robust-mutex",
    description: "a process dies holding a robust mutex; the survivor ignores EOWNERDEAD and the mutex becomes unrecoverable",
    fixes: { consistent: "on EOWNERDEAD the reader repairs the record (b = a) and calls pthread_mutex_consistent before unlocking" },
    defaults: { seed: 1 },
    build: ({ fix }) => {
      const writer = [
        k.repeat(Infinity, [
          k.lock("rec.lock"),
          k.store("rec_a", k.add(k.v("rec_a"), 1)),
          k.user("writer: update the record"),
          k.store("rec_b", k.add(k.v("rec_b"), 1)),
          k.unlock("rec.lock"),
          k.user("writer: next update", 2),
        ]),
      ];
      const repair = fix === "consistent" ? [k.store("rec_b", k.v("rec_a")), k.consistent("rec.lock")] : [k.user("reader: carry on")];
      const reader = [
        k.lockChecked("rec.lock", "err"),
        k.when(k.eq(k.r("err"), k.ERRNO.EOWNERDEAD), repair),
        k.assert(k.eq(k.v("rec_a"), k.v("rec_b")), "the record is consistent"),
        k.user("reader: use the record"),
        k.unlock("rec.lock"),
        k.user("reader: later"),
        k.lockChecked("rec.lock", "err"),
        k.assert(k.eq(k.r("err"), 0), "rec.lock can be taken"),
        k.unlock("rec.lock"),
      ];
      return {
        locks: { "rec.lock": { type: "mutex", robust: true, scope: "kernel" } },
        vars: { rec_a: { type: "int", scope: "kernel" }, rec_b: { type: "int", scope: "kernel" } },
        procs: [{
          name: "supervisor",
          main: [
            k.fork(writer, { pid: "w" }),
            k.user("supervisor: let the writer run", 6),
            k.kill(k.r("w"), "SIGKILL"),
            k.waitpid(k.r("w")),
            k.fork(reader),
            k.waitpid("child"),
          ],
        }],
      };
    },
  });
