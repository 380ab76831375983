// message-passing-pso.ts: a message published without a store barrier, on a
// CPU whose stores to different variables reach memory out of order.
//
// Models: a producer writes the message (`data = 42`, a plain store) and
// then publishes it (`ready = 1`, WRITE_ONCE: an atomic store with no
// barrier before it); the consumer polls `ready` (READ_ONCE) until it is set
// and reads the message. On x86 (TSO) stores reach memory in program order,
// so a consumer that sees `ready` sees `data`: the code is correct there, and
// it is what a port to a weaker CPU starts from. Under SPARC's partial store
// order (PSO) both stores wait in the producer's store buffer and the one to
// `ready` may reach memory first: the consumer sees the flag and reads the
// old message (0). Linux's smp_store_release(&ready, 1) (or smp_wmb() before
// the store) orders them. The scenario runs under `rules: { memory: "pso" }`
// (loads stay in order under PSO: the consumer needs no smp_rmb() here, as
// it would on ARM, whose load→load reordering ktrace does not model).
//
// ktrace reports (buggy variant, pso, 2 cpus): `assertions` (`the consumer
// reads the message the producer wrote`: msg is 0), outcome `fatal`
// (SIGABRT), on 105 of seeds 1..2000 (random; seed 5 the first); `--strategy
// pct` finds it on 107 of 2000; `--strategy dfs` (2 cpus, every drain and
// delayed steps) on 3 of 23 schedules with `--preemptions 0`, 111 of 827
// with 1, 1,688 of 14,566 with 2. `check` names the cause: the producer's
// later store to `ready` reached memory before its store to `data`, and the
// consumer read `data` = 0 while the store of 42 was still in the producer's
// store buffer. `data-race` finds nothing (the atomic store of `ready`
// releases the write of `data`: happens-before holds, the value is still
// stale). Clean on every seed under `--opt memory=tso` and `--opt
// memory=sc`: the bug needs stores to reorder.
//
// Fixes: `wmb` (smp_wmb(), `fence("store")`, between the two stores: the
// store to `data` reaches memory before the one to `ready`; nothing is
// drained: clean over seeds 1..2000 and all 13,316 dfs schedules with 2
// preemptions) and `fence` (smp_mb(): both stores drained in order).
export default (k) =>
  k.defineScenario({
    name: "message-passing-pso",
    description: "a message published with WRITE_ONCE and no store barrier under pso: the flag reaches memory first",
    fixes: {
      wmb: "a store barrier (smp_wmb) between writing the message and setting the flag",
      fence: "a full barrier (smp_mb) between writing the message and setting the flag",
    },
    defaults: { seed: 1, cpus: 2 },
    build: ({ fix }) => {
      const producer = [
        k.user("produce", 2),
        k.store("data", 42),
        ...(fix === "wmb" ? [k.fence("store")] : fix === "fence" ? [k.fence()] : []),
        k.store("ready", 1, { atomic: true }),
        k.user("produce the next", 2),
      ];
      const consumer = [
        k.load("rdy", "ready", { atomic: true }),
        k.loopWhile(k.eq(k.r("rdy"), 0), { max: Infinity }, [
          k.user("poll"),
          k.load("rdy", "ready", { atomic: true }),
        ]),
        k.load("msg", "data"),
        k.assert(k.eq(k.r("msg"), 42), "the consumer reads the message the producer wrote"),
      ];
      return {
        rules: { memory: "pso" },
        vars: { data: { type: "int" }, ready: { type: "int" } },
        procs: [{ name: "mp", main: [k.thread(producer), ...consumer] }],
      };
    },
  });
