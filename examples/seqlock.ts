// seqlock.ts: a seqlock reader that does not check for a write in progress.
//
// Models: a writer updates a pair (x, y), always equal, under a sequence
// count: seq++ (odd: a write is in progress), x++, y++, seq++ (even). A
// reader reads seq, x, y, seq again and retries while the two counts differ.
// The reader forgets the other half of the protocol: a count that is odd
// means the writer is in the middle of an update, and if the writer stays in
// the middle for the whole read, both counts agree and the reader keeps a
// torn pair. Every access is atomic (READ_ONCE / WRITE_ONCE): no data race;
// the bug is the protocol.
//
// ktrace reports (buggy variant, on the seeds where a whole read falls
// between the writer's x++ and y++ while seq is odd): outcome `fatal`
// (the reader's assert, SIGABRT); `assertions` at the reader's assert-fail
// (the pair it read is torn).
//
// Fix: `even-check` (retry also while the count is odd, as
// read_seqcount_retry with read_seqcount_begin's wait does).
export default (k) =>
  k.defineScenario({
    name: "seqlock",
    description: "a seqlock reader retries only when the count changed, not when it is odd: torn reads",
    fixes: { "even-check": "retry while the count is odd as well as when it changed" },
    defaults: { seed: 1 },
    build: ({ fix }) => {
      const at = { atomic: true };
      const writer = [k.repeat(6, [
        k.fetchAdd("seq", 1), k.user("writer: begin update"),
        k.fetchAdd("x", 1), k.user("writer: compute"), k.fetchAdd("y", 1),
        k.fetchAdd("seq", 1), k.user("writer: idle"),
      ])];
      const retry = fix === "even-check" ? k.or(k.ne(k.r("s1"), k.r("s2")), k.eq(k.mod(k.r("s1"), 2), 1)) : k.ne(k.r("s1"), k.r("s2"));
      const read = [
        k.set("again", 1),
        k.loopWhile(k.eq(k.r("again"), 1), { max: Infinity }, [
          k.load("s1", "seq", at), k.load("a", "x", at), k.load("b", "y", at), k.load("s2", "seq", at),
          k.set("again", retry),
        ]),
        k.assert(k.eq(k.r("a"), k.r("b")), "x == y (a consistent snapshot)"),
        k.user("reader: use the snapshot"),
      ];
      const join = [k.load("done", "done", at), k.loopWhile(k.eq(k.r("done"), 0), { max: Infinity }, [k.load("done", "done", at)])];
      return {
        vars: { seq: { type: "int" }, x: { type: "int" }, y: { type: "int" }, done: { type: "int" } },
        procs: [{ name: "stats", main: [k.thread([...writer, k.store("done", 1, at)]), k.repeat(6, read), ...join] }],
      };
    },
  });
