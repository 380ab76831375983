// pdeathsig-race.ts: a worker asks for SIGTERM when its supervisor dies
// (prctl(PR_SET_PDEATHSIG)) right after fork; when the supervisor is gone
// before that call, the worker is never told and serves for ever as an orphan.
//
// Models: init starts a supervisor, which forks a worker and then crashes
// (exit(1)). The worker's first act is prctl(PR_SET_PDEATHSIG, SIGTERM): the
// kernel sends SIGTERM to it when the thread that forked it exits. But the
// setting only arms a parent that is still there: when the supervisor's exit
// ran before the prctl, the worker has already been reparented to init, and
// init never dies, so the signal never comes (man 2 prctl: reparenting does
// not re-arm it). init reaps the supervisor and marks it gone
// (`supervisor_gone`, shared memory), then waits for its adopted children.
//
// The scenario's own invariant `no-orphan-worker` says that no worker serves
// a request once its supervisor is gone.
//
// ktrace reports (buggy variant, seeds 1..2000): 299 fail (316 under `--strategy pct`; `--strategy dfs` on one
// cpu: 59 of its 115 schedules, one with no preemption), outcome `budget`
// (the orphan serves until the event budget ends the run):
// `no-orphan-worker` at the orphan's first `progress` after init marked the
// supervisor gone. Its causes are the supervisor's exit handing the worker
// to init (`reparent`) and the worker's prctl after it (`pdeathsig`, the
// root: "its parent is init now, which does not exit, so the signal never
// comes"); `ktrace events` says of that prctl "its parent already exited
// (init adopted pid 3 at seq N), so it never comes". On the other 1,701 the
// prctl came first: the supervisor's exit sends SIGTERM ("tid 2 sends
// SIGTERM to pid 3 (its parent-death signal: tid 2, the thread that forked
// it, exited)") and the worker dies; `ktrace state` shows the setting
// ("SIGTERM at parent death").
//
// Fix: `getppid-check` (the supervisor saves its pid before the fork; the
// worker compares getppid() with it right after the prctl and exits when they
// differ: its parent died before the prctl armed it).
export default (k) =>
  k.defineScenario({
    name: "pdeathsig-race",
    description: "PR_SET_PDEATHSIG set after fork: a supervisor that dies first leaves its worker an orphan for ever",
    fixes: {
      "getppid-check": "the worker checks getppid() against the supervisor's pid saved before fork, after the prctl, and exits when it changed",
    },
    defaults: { seed: 1, cpus: 2, maxEvents: 3_000 },
    build: ({ fix }) => {
      const worker = [
        k.setPdeathsig("SIGTERM"),
        ...(fix === "getppid-check"
          ? [k.getppid("parent"), k.when(k.ne(k.r("parent"), k.r("supervisor")), [k.exit(1)])]
          : []),
        k.repeat(Infinity, [k.user("worker: accept a request"), k.progress("serve a request"), k.sleep(500)]),
      ];
      const supervisor = [
        k.getpid("supervisor"),
        k.fork(worker, { pid: "worker" }),
        k.user("supervisor: load the configuration", 4),
        k.exit(1),
      ];
      return {
        vars: { supervisor_gone: { type: "int", scope: "kernel" } },
        procs: [{
          name: "init",
          main: [
            k.fork(supervisor, { pid: "sup" }),
            k.waitpid(k.r("sup")),
            k.store("supervisor_gone", 1, { atomic: true }),
            k.set("w", 1),
            k.loopWhile(k.gt(k.r("w"), 0), { max: Infinity }, [k.waitpid("any", { ret: "w" })]),
          ],
        }],
        invariants: [
          k.invariant(
            "no-orphan-worker",
            k.not(k.and(k.evIs("progress"), k.ne(k.v("supervisor_gone"), 0))),
            "a worker serves a request after its supervisor is gone: it missed its parent-death signal and runs on as an orphan",
            { on: "every" },
          ),
        ],
      };
    },
  });
