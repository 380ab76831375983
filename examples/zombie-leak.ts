// zombie-leak.ts: a server forks a worker per request and never reaps them.
//
// Models: a long-running server (it runs until the event budget ends the
// run) accepts a request, forks a worker to serve it, and goes back to
// accepting. Each worker exits when it is done; nobody calls waitpid, and
// SIGCHLD keeps its default action (ignore), so every finished worker stays a
// zombie (its pid and exit status kept for a wait that never comes) for as
// long as the server lives.
//
// The scenario opts in to the zombie-leak check (rules: { zombieCheck: true
// }): ktrace reports (buggy variant) `zombie-leak` at the end of the run: "pid
// 2 exited at seq N and is still a zombie at the end of the run: its parent
// pid 1 runs on and never reaped it (it has no SIGCHLD handler and never
// waited for it); K more zombies of pid 1", its fork and exit among the
// causes; the outcome is `budget`.
//
// Fix: `sigchld-reaper` (a SIGCHLD handler that reaps every finished child:
// waitpid(-1, WNOHANG) until it returns 0 or -ECHILD; signals coalesce, so
// one SIGCHLD may stand for several children).
export default (k) =>
  k.defineScenario({
    name: "zombie-leak",
    description: "a server forks a worker per request and never reaps them: zombies pile up",
    fixes: { "sigchld-reaper": "a SIGCHLD handler reaps every finished child with waitpid(-1, WNOHANG) in a loop" },
    defaults: { seed: 1, cpus: 2, maxEvents: 2_000 },
    build: ({ fix }) => ({
      rules: { zombieCheck: true },
      procs: [{
        name: "server",
        main: [
          ...(fix === "sigchld-reaper"
            ? [k.sigaction("SIGCHLD", [
              k.set("reaped", 1),
              k.loopWhile(k.gt(k.r("reaped"), 0), { max: Infinity }, [k.waitpid("any", { nohang: true, ret: "reaped" })]),
            ], { name: "reap_children" })]
            : []),
          k.repeat(Infinity, [
            k.user("accept a request"),
            k.fork([k.user("worker: serve the request", 3)]),
            k.sleep(1_500),
          ]),
        ],
      }],
    }),
  });
