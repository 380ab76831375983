// system-reaper.ts: a naive system() races the program's own SIGCHLD reaper.
//
// Models: a daemon installs a SIGCHLD handler that reaps every finished
// child with waitpid(-1, WNOHANG) in a loop, so its workers never linger as
// zombies. Its main thread then runs a command the way a hand-written
// system() does: fork, the child runs the command and exits 0, the parent
// sets up (ignores SIGINT and SIGQUIT) and waitpid()s for that pid, and
// asserts it got its child. One cpu: when the child exits before the parent
// reaches its waitpid, SIGCHLD is delivered at the parent's next step, the
// handler reaps the child, and waitpid(pid) fails with ECHILD. When the
// parent is already asleep in waitpid, it reaps the child itself first (as
// Linux's do_wait does) and the handler finds nothing.
//
// ktrace reports (buggy variant): outcome `fatal`; `assertions` at the
// assert, and where its values came from: `ret` = -10 set by the waitpid
// that failed with ECHILD, the reap of pid 2 before it "in tid 1's SIGCHLD
// handler", and the delivery of SIGCHLD that ran the handler. PCT
// (`--strategy pct`) finds it on ten times as many seeds as random ones.
//
// Fix: `block-sigchld` (what POSIX system() does: block SIGCHLD from before
// the fork until the child is reaped; the handler then runs and finds
// nothing to reap).
export default (k) =>
  k.defineScenario({
    name: "system-reaper",
    description: "a naive system() whose child the program's own SIGCHLD reaper steals: waitpid fails with ECHILD",
    fixes: { "block-sigchld": "block SIGCHLD from before the fork until the child is reaped (POSIX system())" },
    defaults: { seed: 1, cpus: 1 },
    build: ({ fix }) => {
      const block = fix === "block-sigchld";
      return {
        procs: [
          {
            name: "daemon",
            main: [
              k.sigaction(
                "SIGCHLD",
                [
                  k.set("reaped", 1),
                  k.loopWhile(k.gt(k.r("reaped"), 0), { max: Infinity }, [
                    k.waitpid("any", { nohang: true, ret: "reaped" }),
                  ]),
                ],
                { name: "reap_children" },
              ),
              k.user("daemon work"),
              ...(block ? [k.sigmask("block", ["SIGCHLD"])] : []),
              k.fork([k.user("run the command", 2), k.exit(0)], { pid: "cmd" }),
              k.user("system(): ignore SIGINT and SIGQUIT while the command runs", 2),
              k.waitpid(k.r("cmd"), { ret: "ret", status: "st" }),
              ...(block ? [k.sigmask("unblock", ["SIGCHLD"])] : []),
              k.assert(k.eq(k.r("ret"), k.r("cmd")), "system(): waitpid found its child"),
              k.user("log: the command is done"),
            ],
          },
        ],
      };
    },
  });
