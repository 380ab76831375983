// fd-reuse.ts: a thread keeps writing to a descriptor number another thread
// closed; the next pipe takes the number, and log lines land in the data.
//
// Models: a server writes its log through a pipe (fds 3 and 4) from a logger
// thread, which was handed the write end's number when it started. At
// shutdown the main thread closes the log pipe without waiting for the
// logger, then opens a data pipe to send a reply: pipe() gives the two lowest
// free descriptors, 3 and 4 again. A log line the logger writes after that
// goes into the data pipe (the reply comes out 8 bytes too long), and one
// written between the close and the new pipe fails with EBADF. Which of the
// two happens, or neither, is the interleaving's; the bug is in every one.
//
// ktrace reports (buggy variant, seeds 1..200): `data-race` on every seed,
// on the descriptor: a write through fd 4 that nothing orders after the
// main thread's fd-open of it ("may be using a number that was closed and
// given to another file under it"), or a write failing with EBADF that
// nothing orders after its close. The scenario's own `reply-intact` breaks
// on 1,120 of seeds 1..2000 ("the data pipe carried bytes its writer never
// wrote"). `ktrace why <trace> pipe:2` lists the data pipe's writes.
//
// Fix: `join` (the main thread joins the logger before it closes the log
// pipe: every use of the old descriptor happens before its close).
export default (k) =>
  k.defineScenario({
    name: "fd-reuse",
    description: "a thread writes through a descriptor number another thread closed and pipe() reused",
    fixes: { join: "join the logger thread before closing the log pipe" },
    defaults: { seed: 1, cpus: 2 },
    build: ({ fix }) => {
      const logger = [k.repeat(2, [k.user("format log line"), k.write(k.r("log_w"), 8, { ret: "lw" })])];
      const join = [k.join(k.r("logger"))];
      return {
        vars: { reply: { type: "int" } },
        procs: [
          {
            name: "server",
            main: [
              k.pipe({ read: "log_r", write: "log_w" }),
              k.thread(logger, { tid: "logger" }),
              k.user("serve request"),
              ...(fix === "join" ? join : []),
              k.close(k.r("log_w")),
              k.close(k.r("log_r")),
              k.pipe({ read: "data_r", write: "data_w" }),
              k.write(k.r("data_w"), 16),
              k.close(k.r("data_w")),
              k.read(k.r("data_r"), 64, { ret: "n" }),
              k.store("reply", k.r("n")),
              ...(fix === "join" ? [] : join),
            ],
          },
        ],
        invariants: [
          k.invariant("reply-intact", k.le(k.v("reply"), 16), "the data pipe carried bytes its writer never wrote"),
        ],
      };
    },
  });
