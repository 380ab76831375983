// pause-race.ts: `while (!got) pause();`: the signal that comes between the
// check and the pause is gone, and pause() waits for ever.
//
// Models: a program forks a helper and waits for its "ready" signal
// (SIGUSR1), whose handler sets an atomic flag. The main loop checks the flag
// and, if it is not set yet, calls pause(). When the signal arrives after
// the check but before pause(), the handler runs there (it sets the flag),
// and pause() then waits for a second signal that never comes: the check
// and the wait are not one step.
//
// ktrace reports (buggy variant, seeds 1..2000): outcome `hang`;
// `no-deadlock` at the pause ("waits for a signal (pause), which can never
// return: nothing is left to wake it"), with the delivery of the SIGUSR1 it
// took just before the pause among the causes ("the signal came before
// pause() and does not end it").
//
// Fix: `sigsuspend` (block SIGUSR1 before the check; wait with sigsuspend,
// which unblocks it and waits in one step: a signal that came during the
// check is pending, and ends the wait at once).
export default (k) =>
  k.defineScenario({
    name: "pause-race",
    description: "check a flag, then pause(): the signal that comes between the two is lost",
    fixes: { sigsuspend: "block SIGUSR1 around the check; wait with sigsuspend([]) instead of pause()" },
    defaults: { seed: 1, cpus: 2 },
    build: ({ fix }) => {
      const wait = fix === "sigsuspend" ? k.sigsuspend([]) : k.pause();
      return {
        vars: { got: { type: "int" } },
        procs: [
          {
            name: "waiter",
            main: [
              k.sigaction("SIGUSR1", [k.store("got", 1, { atomic: true })], { name: "on_ready" }),
              ...(fix === "sigsuspend" ? [k.sigmask("block", "SIGUSR1")] : []),
              k.fork([k.user("helper: start up", 2), k.kill(1, "SIGUSR1")], { pid: "helper" }),
              k.load("g", "got", { atomic: true }),
              k.loopWhile(k.eq(k.r("g"), 0), { max: Infinity }, [
                k.user("not ready yet", 3),
                wait,
                k.load("g", "got", { atomic: true }),
              ]),
              k.waitpid(k.r("helper")),
            ],
          },
        ],
      };
    },
  });
