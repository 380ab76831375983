// double-checked-locking.ts: a singleton published without a barrier.
//
// Models: `get_config()` returns a lazily built object. The fast path reads
// `instance` without the lock; only when it is None does it take the lock,
// test again, build the object (set its `size` field) and publish the
// pointer. The reader that takes the fast path reads the pointer and the
// field with plain loads that nothing orders after the writer's plain
// stores: on a weakly ordered CPU (or after the compiler moves the stores)
// it can see the pointer before the field.
//
// ktrace reports (buggy variant): outcome `ok` on every seed: the simulator
// is sequentially consistent, so the reader never sees the field unset;
// `data-race` on every seed, on `instance`: the fast path's unlocked load
// and the store under the lock in the other thread (whichever comes second
// is the event; the other is its cause). That is the bug, found on an
// interleaving where nothing visibly went wrong.
//
// Fixes: `acquire-release` (atomic store of the pointer after the fields,
// atomic load on the fast path), `always-lock` (no fast path).
export default (k) =>
  k.defineScenario({
    name: "double-checked-locking",
    description: "a lazily built singleton read without the lock: the publication races",
    fixes: {
      "acquire-release": "publish the pointer with an atomic (release) store, read it with an atomic (acquire) load",
      "always-lock": "no fast path: every caller takes the lock",
    },
    defaults: { seed: 1 },
    build: ({ fix }) => {
      const atomic = fix === "acquire-release";
      const build = [
        k.alloc("obj", "config"), k.user("parse the config file", 2), k.store("size", 4096),
        k.store("instance", k.r("obj"), { atomic }),
      ];
      const slow = [k.lock("init_lock"), k.load("p", "instance"), k.when(k.isNone(k.r("p")), [...build, k.load("p", "instance")]), k.unlock("init_lock")];
      const get = fix === "always-lock" ? slow : [k.load("p", "instance", { atomic }), k.when(k.isNone(k.r("p")), slow)];
      const caller = [...get, k.use(k.r("p"), "config->size"), k.load("sz", "size"), k.assert(k.gt(k.r("sz"), 0), "config->size > 0")];
      const join = [k.load("done", "done", { atomic: true }), k.loopWhile(k.eq(k.r("done"), 0), { max: Infinity }, [k.load("done", "done", { atomic: true })])];
      return {
        vars: { instance: { type: "ptr" }, size: { type: "int" }, done: { type: "int" } },
        procs: [{ name: "app", main: [k.thread([...caller, k.store("done", 1, { atomic: true })]), k.user("main: start"), ...caller, ...join] }],
      };
    },
  });
