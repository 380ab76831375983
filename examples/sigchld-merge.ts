// sigchld-merge.ts: a SIGCHLD handler reaps one child per signal; two
// children exit close together, their SIGCHLDs merge, and one child stays a
// zombie while the parent waits for it for ever.
//
// Models: a server forks two jobs and counts them in from a SIGCHLD handler
// that calls waitpid(-1, WNOHANG) once per signal. A standard signal does not
// queue: the second child's SIGCHLD, sent while the first is still pending,
// is the same pending signal, so the handler runs once and reaps one child.
// The main loop waits with `while (reaped < 2) pause();`, which also has the
// pause race (pause-race.ts): a SIGCHLD taken between the check and the
// pause is gone.
//
// ktrace reports (buggy variant, seeds 1..2000): 405 fail, outcome `hang`;
// `no-deadlock` at the pause ("waits for a signal (pause), which can never
// return: nothing is left to wake it"). On 324 of them the two SIGCHLDs
// merged, and the merged one is among the causes ("merged with it: a signal
// does not queue, so its handler runs once for both"; `events` says "merged
// with the SIGCHLD pending since seq N"); on the others the SIGCHLD taken
// just before the pause is.
//
// Fix: `loop-sigsuspend` (the handler reaps until waitpid(WNOHANG) finds no
// zombie, and the main loop blocks SIGCHLD around its check and waits with
// sigsuspend). Reaping in a loop alone still hangs on the pause race.
export default (k) =>
  k.defineScenario({
    name: "sigchld-merge",
    description: "one waitpid per SIGCHLD: two children exit, their signals merge, one is never reaped",
    fixes: {
      "loop-sigsuspend": "reap in a loop until waitpid(WNOHANG) finds none; block SIGCHLD around the check and wait with sigsuspend",
    },
    defaults: { seed: 1, cpus: 2 },
    build: ({ fix }) => {
      const fixed = fix === "loop-sigsuspend";
      const reapOne = [
        k.waitpid("any", { nohang: true, ret: "got" }),
        k.when(k.gt(k.r("got"), 0), [k.fetchAdd("reaped", 1)]),
      ];
      const handler = fixed ? [k.set("got", 1), k.loopWhile(k.gt(k.r("got"), 0), { max: 10 }, reapOne)] : reapOne;
      return {
        vars: { reaped: { type: "int" } },
        procs: [
          {
            name: "server",
            main: [
              k.sigaction("SIGCHLD", handler, { name: "on_chld" }),
              ...(fixed ? [k.sigmask("block", "SIGCHLD")] : []),
              k.fork([k.user("job a", 2)]),
              k.fork([k.user("job b", 2)]),
              k.load("n", "reaped", { atomic: true }),
              k.loopWhile(k.lt(k.r("n"), 2), { max: Infinity }, [
                fixed ? k.sigsuspend([]) : k.pause(),
                k.load("n", "reaped", { atomic: true }),
              ]),
            ],
          },
        ],
      };
    },
  });
