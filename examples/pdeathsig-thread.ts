// pdeathsig-thread.ts: PR_SET_PDEATHSIG fires when the parent *thread*
// exits, not the parent process: a pool thread forks a helper and returns to
// the pool (exits), and the helper is killed while the server lives on.
//
// Models: a server handles a conversion request on a pool thread, which forks
// a converter helper and hands its pid to the main thread, then exits (the
// pool shrinks). The helper asks for SIGKILL at its parent's death
// (prctl(PR_SET_PDEATHSIG, SIGKILL)), meaning "if the server crashes, don't
// leave me behind". But Linux ties the setting to the thread that forked it
// (man 2 prctl: the "parent" is the thread that created the process): when
// the pool thread exits, the kernel sends the helper SIGKILL although the
// server runs on. Only when the pool thread exits before the helper's prctl
// does the helper survive: the child then belongs to the server's main
// thread, which lives. The main thread reaps the helper and asserts it
// completed.
//
// ktrace reports (buggy variant, seeds 1..2000): 532 fail (513 under
// `--strategy pct`), outcome `fatal`: `assertions` at the main thread's
// check of the helper's status (st = 137), its causes the delivery that
// killed the helper ("pid 3 was killed here by SIGKILL (its default action):
// st = 128 + 9") and the send behind it, the root: "tid 3 sends SIGKILL to
// pid 3 (its parent-death signal: tid 3, the thread that forked it,
// exited)", made after the pool thread's thread-exit while pid 2 runs on. On
// the other 1,468 the pool thread exited before the helper's prctl (1,467;
// the helper then belongs to the main thread and completes) or the helper
// finished first (1).
//
// Fix: `pool-waits` (the pool thread that forked the helper waits for it
// before it exits: the parent thread outlives the child).
export default (k) =>
  k.defineScenario({
    name: "pdeathsig-thread",
    description: "PR_SET_PDEATHSIG tied to the pool thread that forked the helper: the thread exits and the helper is killed",
    fixes: { "pool-waits": "the pool thread waits for the helper it forked before it exits" },
    defaults: { seed: 1, cpus: 2 },
    build: ({ fix }) => {
      const waits = fix === "pool-waits";
      const helper = [k.setPdeathsig("SIGKILL"), k.user("helper: convert a chunk", 6)];
      const pool = [
        k.user("pool: take a conversion request"),
        k.fork(helper, { pid: "h" }),
        ...(waits
          ? [k.waitpid(k.r("h"), { status: "st" }), k.store("helper_status", k.r("st"))]
          : [k.store("helper_pid", k.r("h")), k.user("pool: back to the pool")]),
      ];
      const server = [
        k.thread(pool, { tid: "pool" }),
        k.join(k.r("pool")),
        ...(waits
          ? [k.load("st", "helper_status")]
          : [k.load("hp", "helper_pid"), k.waitpid(k.r("hp"), { status: "st" })]),
        k.assert(k.eq(k.r("st"), 0), "the conversion completed"),
      ];
      return {
        vars: { helper_pid: { type: "int" }, helper_status: { type: "int" } },
        procs: [{ name: "init", main: [k.fork(server, { pid: "srv" }), k.waitpid(k.r("srv"))] }],
      };
    },
  });
