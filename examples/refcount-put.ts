// refcount-put.ts: a reference count dropped twice (an error path puts the
// reference its caller puts again).
//
// Models: a connection object with refs = 2: the reader thread and the
// handler thread each own one reference. The handler's error path drops its
// reference and then, falling through to the common exit, drops it again
// (conn_put is refcount_dec_and_test on conn->refs: the object is freed when
// the count reaches 0). Whoever comes after the free touches freed memory:
// the reader's next use of the connection, or the last put itself (it
// decrements conn->refs, inside the freed object). The count is atomic, so
// there is no data race: the bug is the logic.
//
// ktrace reports (buggy variant): outcome `ok` (a silent use after free, as
// on hardware without KASAN); `use-after-free` on the seeds where a
// dereference of conn comes after the free (most of them), at the first such
// obj-use (the reader's `conn->buf` or a put's `conn->refs`), with the
// allocation and the free among its causes.
//
// Fix: `single-put` (the error path returns without the second put).
export default (k) =>
  k.defineScenario({
    name: "refcount-put",
    description: "an error path drops a reference twice: the object is freed while still in use",
    fixes: { "single-put": "the error path drops its reference once" },
    defaults: { seed: 1 },
    build: ({ fix }) => {
      const put = [
        k.load("c", "conn"), k.use(k.r("c"), "conn->refs"),
        k.fetchAdd("refs", -1, { reg: "old" }),
        k.when(k.eq(k.r("old"), 1), [k.dealloc(k.r("c"))]),
      ];
      const reader = [
        k.load("c", "conn"), k.use(k.r("c"), "conn->buf"), k.user("read a message", 2),
        k.use(k.r("c"), "conn->buf"), k.user("parse it"), ...put,
      ];
      const handler = [
        k.user("handle: bad header"), ...put, // error path: drop our reference and bail out ...
        ...(fix === "single-put" ? [] : put), // ... to the common exit, which drops it again
        k.user("handler done"),
      ];
      const join = [k.load("done", "done", { atomic: true }), k.loopWhile(k.eq(k.r("done"), 0), { max: Infinity }, [k.load("done", "done", { atomic: true })])];
      return {
        vars: { conn: { type: "ptr", init: "new" }, refs: { type: "int", init: 2 }, done: { type: "int" } },
        procs: [{ name: "server", main: [k.thread([...handler, k.store("done", 1, { atomic: true })]), ...reader, ...join] }],
      };
    },
  });
