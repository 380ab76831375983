// sem-eintr.ts: a critical section guarded by sem_wait, whose EINTR nobody checks.
//
// Models: two threads take turns in a section guarded by a binary semaphore
// (sem_wait; work; sem_post), counting who is inside. The process also runs a
// periodic SIGALRM handler (a timer thread, which blocks SIGALRM itself,
// sends it). sem_wait is never restarted after a signal handler, whatever
// SA_RESTART says (signal(7)): when the alarm lands while a thread sleeps in
// sem_wait, the call returns -1 with errno EINTR. The code does not look at
// the return value and enters the section without the semaphore, while the
// other thread is in it.
//
// ktrace reports (buggy variant): the scenario's own invariant `one-inside`
// at the second thread's entry (`inside` 1 → 2), with the write of the other
// thread that made it 1 and, before it, that thread's sem_wait that failed
// with EINTR.
//
// Fix: `retry` (sem_wait in a loop until it returns 0, the usual
// `while (sem_wait(&s) == -1 && errno == EINTR)`).
export default (k) =>
  k.defineScenario({
    name: "sem-eintr",
    description: "sem_wait cut short by a signal handler (EINTR), unchecked: two threads in the section",
    fixes: { retry: "retry sem_wait while it fails (EINTR)" },
    defaults: { seed: 1, cpus: 2 },
    build: ({ fix }) => {
      const enter =
        fix === "retry"
          ? [k.set("r", -1), k.loopWhile(k.ne(k.r("r"), 0), { max: Infinity }, [k.semWait("s", { ret: "r" })])]
          : [k.semWait("s")];
      const section = [...enter, k.fetchAdd("inside", 1), k.user("critical", 2), k.fetchAdd("inside", -1), k.semPost("s")];
      return {
        vars: { s: k.semaphore(1), inside: { type: "int" } },
        invariants: [k.invariant("one-inside", k.le(k.v("inside"), 1), "two threads inside the semaphore's section")],
        procs: [
          {
            name: "app",
            main: [
              k.sigaction("SIGALRM", [k.user("on_alarm: tick")], { name: "on_alarm" }),
              k.thread([k.sigmask("block", ["SIGALRM"]), k.repeat(40, [k.sleep(150), k.kill(1, "SIGALRM")])], {
                tid: "timer",
              }),
              k.thread([k.repeat(4, section)], { tid: "worker" }),
              k.repeat(4, section),
              k.join(k.r("worker")),
              k.join(k.r("timer")),
            ],
          },
        ],
      };
    },
  });
