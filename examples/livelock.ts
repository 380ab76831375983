// livelock.ts: two threads each raise a flag and wait for the other's to
// drop (Dekker's first attempt, without the turn).
//
// Models: mutual exclusion between two threads with two atomic flags. To
// enter, a thread sets its own flag and spins while the other's is set. When
// both set their flags before either looks, both spin for ever: they run,
// and nothing progresses. The flags are atomic, so there is no data race.
//
// ktrace reports (buggy variant, on the seeds where both flags go up
// together within the run): outcome `livelock` (the run is cut by the event
// budget with no progress in its last window); `no-livelock` at the end
// event, with the last progress among its causes.
//
// Fix: `peterson` (Peterson's algorithm: a `turn` variable breaks the tie).
export default (k) =>
  k.defineScenario({
    name: "livelock",
    description: "two threads raise their flags and wait for each other's to drop: both spin for ever",
    fixes: { peterson: "Peterson's algorithm: whoever wrote `turn` last waits, the other enters" },
    defaults: { seed: 1, maxEvents: 3000 },
    build: ({ fix }) => {
      const side = (me, other, id) => {
        const blocked = fix === "peterson" ? k.and(k.eq(k.r("o"), 1), k.eq(k.r("t"), 1 - id)) : k.eq(k.r("o"), 1);
        const look = [k.load("o", other, { atomic: true }), ...(fix === "peterson" ? [k.load("t", "turn", { atomic: true })] : [])];
        return [
          k.repeat(Infinity, [
            k.store(me, 1, { atomic: true }),
            ...(fix === "peterson" ? [k.store("turn", 1 - id, { atomic: true })] : []),
            ...look,
            k.loopWhile(blocked, { max: Infinity }, [k.user("spin"), ...look]),
            k.fetchAdd("inside", 1), k.user("critical section"), k.fetchAdd("inside", -1),
            k.progress("entered"),
            k.store(me, 0, { atomic: true }),
            k.user("other work", 2),
          ]),
        ];
      };
      return {
        vars: { want0: { type: "int" }, want1: { type: "int" }, turn: { type: "int" }, inside: { type: "int" } },
        progressWindow: 500,
        procs: [{ name: "mutex", main: [k.thread(side("want1", "want0", 1)), ...side("want0", "want1", 0)] }],
        invariants: [k.invariant("mutual-exclusion", k.le(k.v("inside"), 1), "both threads are in the critical section")],
      };
    },
  });
