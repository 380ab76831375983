// sigwait-unblocked.ts: a dedicated signal thread sigwaits for SIGUSR1, but
// the threads block SIGUSR1 only after they started: a SIGUSR1 that comes
// before goes to a thread that does not block it, and the sigwait waits for
// ever.
//
// Models: a server (pid 2, forked by init) handles SIGUSR1 ("reload") the
// synchronous way: a thread of its own waits in sigwait(SIGUSR1) and does the
// reload. The old asynchronous handler (it only notes the request) is still
// installed. POSIX wants the signal blocked in every thread before it can
// come; here each thread blocks it for itself: the signal thread as it
// starts, the main thread once its setup is done. The operator (init) waits
// for the server's pid file (a flag in shared memory), then sends SIGUSR1 to
// the server's pid. A process-directed signal goes to a thread that does not
// block it (the main thread first, as Linux's complete_signal; a thread
// waiting in sigwait wants the signals it waits for): while a thread has not
// blocked it yet, the signal is that thread's, the old handler runs there,
// and the sigwait never returns; the main thread's join of the signal thread
// never returns; init's waitpid never returns.
//
// ktrace reports (buggy variant, seeds 1..2000): 1,416 seeds fail, outcome
// `hang`, each with `no-deadlock`: on 1,134 at the signal thread's sigwait
// ("tid 3 (pid 2) waits in sigwait for SIGUSR1, which can never return: the
// only threads that could wake it are tid 1 (pid 1), which blocks in
// waitpid(2); tid 2 (pid 2), which blocks in join(tid 3)"), on 270 at the
// main thread's join, on 12 at init's waitpid; the causes name the delivery
// that went to the other thread ("the SIGUSR1 tid 3 waits for in sigwait
// went to tid 2, which does not block it: its handler ran there") and its
// send. `ktrace state` shows the thread "waits in sigwait for SIGUSR1".
//
// Fix: `block-all` (the main thread blocks SIGUSR1 before it creates any
// thread: the signal thread inherits the mask, and the signal can only be
// sigwait's).
export default (k) =>
  k.defineScenario({
    name: "sigwait-unblocked",
    description: "a sigwait thread for SIGUSR1, but the main thread blocks it too late: the signal kills the process",
    fixes: { "block-all": "the main thread blocks SIGUSR1 before it creates the signal thread (which inherits the mask)" },
    defaults: { seed: 1 },
    build: ({ fix }) => {
      const signalThread = [
        ...(fix === "block-all" ? [] : [k.sigmask("block", "SIGUSR1")]),
        k.sigwait("SIGUSR1", { ret: "sig" }),
        k.user("signal thread: reload the configuration"),
        k.store("reloaded", 1, { atomic: true }),
      ];
      const server = [
        // The old asynchronous reload, still installed: the handler only notes the request.
        k.sigaction("SIGUSR1", [k.store("reload_requested", 1, { atomic: true })], { name: "note_reload" }),
        ...(fix === "block-all" ? [k.sigmask("block", "SIGUSR1")] : []),
        k.thread(signalThread, { tid: "st" }),
        k.store("ready", 1, { atomic: true }), // the pid file: the operator may signal it now
        k.user("server: set up", 4),
        ...(fix === "block-all" ? [] : [k.sigmask("block", "SIGUSR1")]),
        k.join(k.r("st")),
        k.user("server: serve with the new configuration"),
      ];
      return {
        vars: { reloaded: { type: "int" }, reload_requested: { type: "int" }, ready: { type: "int", scope: "kernel" } },
        procs: [{
          name: "init",
          main: [
            k.fork(server, { pid: "srv" }),
            k.load("up", "ready", { atomic: true }),
            k.loopWhile(k.eq(k.r("up"), 0), { max: Infinity }, [k.user("operator: wait for the pid file"), k.load("up", "ready", { atomic: true })]),
            k.user("operator: edit the configuration", 4),
            k.kill(k.r("srv"), "SIGUSR1"),
            k.waitpid(k.r("srv"), { status: "status" }),
            k.assert(k.eq(k.r("status"), 0), "the server reloaded and exited normally"),
          ],
        }],
      };
    },
  });
