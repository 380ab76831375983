// waitqueue-active.ts: the lost wakeup of waitqueue_active() without smp_mb().
//
// Models: the kernel's "is anyone waiting?" shortcut (memory-barriers.txt,
// "SLEEP AND WAKE-UP FUNCTIONS"). The waker, in a system call, sets the
// condition (`cond = 1`) and then checks whether anyone is on the wait queue
// (`if (waitqueue_active(wq)) wake_up(wq)`: a load of `queued`, a futex-wake
// of `wq`). The waiter, in a system call, puts itself on the queue
// (`queued = 1`) and then checks the condition (`if (!cond) schedule()`: a
// futex-wait on `wq`). Under sequential consistency one of the two stores is
// seen by the other side's load: either the waiter sees the condition, or the
// waker sees the waiter. On x86 (TSO) each store can wait in its CPU's store
// buffer while the later load reads memory: the waker reads `queued` = 0 and
// does not wake, the waiter reads `cond` = 0 and sleeps for ever. The
// scenario runs under `rules: { memory: "tso" }`; the accesses are marked
// (READ_ONCE/WRITE_ONCE as release/acquire atomics: no data race, and no
// help either), in kernel mode (inside the system calls, whose entry drains
// the buffer; what each call does after that is buffered like user code).
//
// ktrace reports (buggy variant, tso): outcome `hang`; `no-deadlock` at the
// waiter's futex-wait on `wq`, "waits on futex wq, which can never return:
// no other thread is left to wake it"; the events before it show the
// waiter's store of `queued` still buffered when the waker loaded `queued`
// = 0, and the waiter's load of `cond` = 0 while the waker's store was
// buffered. 55 of seeds 1..2000 fail (random; seed 9 the first);
// `--strategy pct`: 81 of 2000; `--strategy dfs` (2 cpus, drains and
// delays): 24 of 843 schedules with `--preemptions 1`, 310 of 12,270 with 2.
// Clean under `--opt memory=sc` on every seed.
//
// Fix: `smp-mb` (a full barrier between the store and the load on both
// sides: smp_mb() before waitqueue_active() in the waker, and the one
// set_current_state() implies in the waiter).
export default (k) =>
  k.defineScenario({
    name: "waitqueue-active",
    description: "waitqueue_active() without smp_mb() under tso: the waker misses the waiter, the waiter misses the condition, and sleeps for ever",
    fixes: { "smp-mb": "smp_mb() between the store and the load on both sides (waker: before waitqueue_active(); waiter: set_current_state())" },
    defaults: { seed: 1, cpus: 2 },
    build: ({ fix }) => {
      const mb = fix === "smp-mb" ? [k.fence()] : [];
      const waiter = k.syscall("wait_event", [
        k.store("queued", 1, { atomic: true }), // add_wait_queue(&wq, &wait)
        ...mb, // set_current_state(TASK_UNINTERRUPTIBLE): smp_store_mb()
        k.load("c", "cond", { atomic: true }),
        k.when(k.eq(k.r("c"), 0), [k.futexWait("wq", 0)]), // if (!cond) schedule()
      ]);
      const waker = k.syscall("wake_event", [
        k.store("cond", 1, { atomic: true }),
        ...mb, // smp_mb()
        k.load("q", "queued", { atomic: true }),
        k.when(k.eq(k.r("q"), 1), [k.store("wq", 1, { atomic: true }), k.futexWake("wq", 1)]), // if (waitqueue_active(&wq)) wake_up(&wq)
      ]);
      return {
        rules: { memory: "tso" },
        vars: {
          cond: { type: "int", scope: "kernel" },
          queued: { type: "int", scope: "kernel" },
          wq: { type: "int", scope: "kernel" },
        },
        procs: [{ name: "driver", main: [k.thread([k.user("waker: produce"), waker], { tid: "waker" }), k.user("waiter: prepare"), waiter, k.join(k.r("waker"))] }],
      };
    },
  });
