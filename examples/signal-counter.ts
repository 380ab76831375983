// signal-counter.ts: a plain counter updated by the program and by its own
// signal handler.
//
// Models: a server counts events in `events` with a plain load-add-store in
// its main loop; its SIGUSR1 handler (a "reload" poke from a control thread,
// sent to the process with kill) counts one too. Nothing is shared between
// threads here at first sight: the handler runs on the main thread. But it
// runs wherever the main loop is, between its load and its store as well, and
// the store then wipes the handler's update out. The count ends short.
//
// The tempting fix, blocking SIGUSR1 around the update in the main thread
// only, moves the bug: a signal sent to the process goes to a thread that
// does not block it, so the handler runs on the control thread, beside the
// main loop (`data-race` on nearly every seed; `check` names the sigmask
// that sent it there).
//
// ktrace reports (buggy variant, seeds 1..2000): outcome `fatal`:
// `assertions` at the final check that every event was counted (the main
// loop's 20 and one per handler run), with each lost update (the handler's
// write the main loop's store overwrote) among its causes. On a few seeds a
// poke arrives while the main thread runs the handler for the previous one
// (SIGUSR1 is blocked there), so it goes to the control thread: `data-race`
// between that handler and the main loop, with the delivery whose handler
// blocked the signal named as the reason.
//
// Fixes: `atomic` (fetch-add in both: an atomic read-modify-write cannot lose
// an update), `block-first` (block SIGUSR1 before creating the control
// thread, which inherits the mask, and let the main loop take it only between
// updates).
export default (k) =>
  k.defineScenario({
    name: "signal-counter",
    description: "a plain counter updated by the main loop and by its SIGUSR1 handler: the handler's update is lost",
    fixes: {
      atomic: "fetch-add in the main loop and in the handler",
      "block-first": "block SIGUSR1 before starting threads; unblock it only between updates",
    },
    defaults: { seed: 1, cpus: 2 },
    build: ({ fix }) => {
      const bump = (reg) =>
        fix === "atomic"
          ? [k.fetchAdd("events", 1)]
          : [k.load(reg, "events"), k.store("events", k.add(k.r(reg), 1))];
      const loop =
        fix === "block-first"
          ? [...bump("c"), k.sigmask("unblock", "SIGUSR1"), k.user("work"), k.sigmask("block", "SIGUSR1")]
          : [...bump("c"), k.user("work")];
      return {
        vars: { events: { type: "int" }, handled: { type: "int" } },
        procs: [
          {
            name: "server",
            main: [
              // The handler also counts itself (atomically: it is the check's reference), since two pokes sent before
              // the first is delivered arrive as one (standard signals do not queue).
              k.sigaction("SIGUSR1", [...bump("h"), k.fetchAdd("handled", 1)], { name: "on_reload" }),
              ...(fix === "block-first" ? [k.sigmask("block", "SIGUSR1")] : []),
              k.thread([k.repeat(5, [k.sleep(700), k.kill(1, "SIGUSR1")])], { tid: "control" }),
              k.repeat(20, loop),
              k.join(k.r("control")),
              ...(fix === "block-first" ? [k.sigmask("unblock", "SIGUSR1")] : []),
              k.sleep(2_000),
              k.load("n", "events"),
              k.load("m", "handled", { atomic: true }),
              k.assert(k.eq(k.r("n"), k.add(20, k.r("m"))), "every event counted"),
            ],
          },
        ],
      };
    },
  });
