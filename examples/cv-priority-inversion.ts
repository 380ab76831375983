// cv-priority-inversion.ts: a high-priority thread waits on a condition
// variable that only a low-priority thread signals, while a medium-priority
// thread computes (glibc bug 11588: condition variables are not PI-aware).
//
// Models: one CPU and three real-time (SCHED_FIFO) threads. The
// low-priority producer (10) prepares a frame and signals `frame_ready`;
// the high-priority consumer (30) waits for it in a loop on the predicate;
// the medium-priority thread (20) wakes and computes. The consumer is
// blocked, the producer ready but outranked, so the medium thread runs, and
// the consumer waits as long as it computes. A PI mutex would not help: the
// consumer does not wait for the mutex, it waits for the producer's
// signal, and a condition variable has no owner to lend a priority to.
//
// ktrace reports (buggy variant): `wakeup-inversion` at the producer's wake
// of the consumer ("tid 3 (pid 1, fifo 30) waited for condvar frame_ready
// from seq 32 until tid 2 (fifo 10) woke it here; tid 4 (fifo 20) ran from
// seq 52 to 133 while tid 2 was ready and could not: a priority inversion
// through a wakeup"), the consumer's wait and the switch to the medium
// thread its causes; the outcome is `ok`. priority-inversion, which judges
// lock waits, finds nothing.
//
// Fix: `ceiling` (the producer runs at the consumer's priority while it
// prepares the frame, as a priority ceiling would have it: the medium
// thread cannot run in between).
export default (k) =>
  k.defineScenario({
    name: "cv-priority-inversion",
    description: "a high-priority thread waits on a condvar a low-priority one signals while a medium-priority one runs",
    fixes: { ceiling: "the producer prepares the frame at the consumer's priority (30), then signals" },
    defaults: { seed: 1, cpus: 1 },
    build: ({ fix }) => ({
      vars: { ready: { type: "int" }, frame_ready: k.condvar() },
      locks: { frame: { type: "mutex" } },
      procs: [{
        name: "camera",
        main: [
          k.setPriority(50),
          k.thread(
            [
              ...(fix === "ceiling" ? [k.setPriority(30)] : []),
              k.user("low: prepare the frame", 60),
              k.lock("frame"), k.store("ready", 1), k.cvSignal("frame_ready"), k.unlock("frame"),
            ],
            { tid: "low", prio: 10, policy: "fifo" },
          ),
          k.thread(
            [
              k.sleep(2_000),
              k.lock("frame"),
              k.loopWhile(k.eq(k.v("ready"), 0), { max: Infinity }, [k.cvWait("frame_ready", "frame")]),
              k.unlock("frame"),
              k.user("high: process the frame"),
            ],
            { tid: "high", prio: 30, policy: "fifo" },
          ),
          k.thread([k.sleep(4_000), k.user("medium: compute", 80)], { tid: "medium", prio: 20, policy: "fifo" }),
          k.join(k.r("low")), k.join(k.r("high")), k.join(k.r("medium")),
        ],
      }],
    }),
  });
