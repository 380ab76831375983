// message-passing.ts: a message published with a plain flag.
//
// Models: a producer fills a buffer (`data`) and then sets `ready`; the
// consumer spins until `ready` is set and reads the buffer. With plain loads
// and stores nothing orders the consumer's read of `data` after the
// producer's write: on a weakly ordered CPU (or after the compiler hoists the
// read or caches `ready` in a register) the consumer can read stale data or
// spin for ever.
//
// ktrace reports (buggy variant): outcome `ok` on every seed (the simulator
// is sequentially consistent: the consumer always reads 42); `data-race` on
// every seed, on `ready`: the producer's plain store and the consumer's plain
// load (whichever comes second is the event; the other is its cause). Found
// where nothing visibly went wrong.
//
// Fix: `release-acquire` (an atomic store of `ready`, which releases the
// write of `data`, and atomic loads of it, which acquire it).
export default (k) =>
  k.defineScenario({
    name: "message-passing",
    description: "a producer publishes a buffer with a plain flag: the flag and the buffer race",
    fixes: { "release-acquire": "set the flag with an atomic (release) store and read it with atomic (acquire) loads" },
    defaults: { seed: 1 },
    build: ({ fix }) => {
      const atomic = fix === "release-acquire";
      const producer = [k.user("produce", 2), k.store("data", 42), k.store("ready", 1, { atomic })];
      const consumer = [
        k.load("rdy", "ready", { atomic }),
        k.loopWhile(k.eq(k.r("rdy"), 0), { max: Infinity }, [k.user("poll"), k.load("rdy", "ready", { atomic })]),
        k.load("msg", "data"),
        k.assert(k.eq(k.r("msg"), 42), "the consumer reads the message the producer wrote"),
      ];
      return {
        vars: { data: { type: "int" }, ready: { type: "int" } },
        procs: [{ name: "pipe", main: [k.thread(producer), ...consumer] }],
      };
    },
  });
