// self-pipe.ts: the self-pipe trick with a blocking write end and a byte counted as
// a child: the SIGCHLD handler blocks on the full pipe inside the only thread that
// reads it, or the server waits for a byte that merged signals never wrote.
//
// Models: a server forks six jobs and learns of their exits through the self-pipe
// trick (a SIGCHLD handler writes one byte into a pipe the main loop reads, so that
// a poll/read loop wakes for signals). Two bugs of the pattern, both common:
// - the pipe's write end is blocking: when jobs exit faster than the loop reads
//   (the pipe holds 4 bytes here; 64 KiB on Linux, and a busy server's handler
//   writes as often), the handler's write() blocks with the pipe full, and the
//   only thread that would empty it is the one the handler interrupted;
// - the loop reaps one child per byte: a standard signal does not queue, so a
//   SIGCHLD sent while one is pending merges with it, the handler runs (and
//   writes) once for two exits, and the loop waits for a byte that never comes.
//
// ktrace reports (buggy variant, seeds 1..2000): 1,526 fail, outcome `hang`,
// all `no-deadlock`; 1,399 at the read that waits for the missing byte ("blocks
// reading pipe 1 (empty), which can never return: its write end is still open in
// pid 1 (fd 4), and no thread but tid 1 itself is left in pid 1 to write to it or
// close it"), the merged SIGCHLDs among the causes ("merged with it: a signal
// does not queue, so its handler runs once for both"); 127 at the handler's
// write, or at the close of the last job's copy of the read end if a job still
// held one then ("tid 1 (pid 1) in its SIGCHLD handler blocks writing pipe 1
// (full), which can never return: its read end is still open in pid 1 (fd 3),
// and no thread but tid 1 itself is left in pid 1 to read it or close it"), the
// delivery that started the handler among the causes.
//
// Fix: `nonblock-reap-all` (the handler writes with O_NONBLOCK and ignores
// EAGAIN: a full pipe already says "something happened"; the loop reaps every
// zombie with waitpid(WNOHANG) after each byte and counts children, not bytes).
// The non-blocking write alone still hangs on the merged signals.
export default (k) =>
  k.defineScenario({
    name: "self-pipe",
    description: "a SIGCHLD handler writes a self-pipe: it blocks on the full pipe, and merged signals lose bytes",
    fixes: {
      "nonblock-reap-all":
        "the handler's write is non-blocking (EAGAIN ignored); the loop reaps with waitpid(WNOHANG) until none is left after each byte, counting children",
    },
    defaults: { seed: 1, cpus: 2 },
    build: ({ fix }) => {
      const fixed = fix === "nonblock-reap-all";
      const JOBS = 6;
      // One byte per SIGCHLD (the handler); the write end blocks unless fixed.
      const handler = [k.write(k.r("sp_w"), 1, fixed ? { nonblock: true, ret: "wr" } : {})];
      const reapAll = [
        k.set("got", 1),
        k.loopWhile(k.gt(k.r("got"), 0), { max: JOBS + 1 }, [
          k.waitpid("any", { nohang: true, ret: "got" }),
          k.when(k.gt(k.r("got"), 0), [k.set("reaped", k.add(k.r("reaped"), 1))]),
        ]),
      ];
      return {
        procs: [
          {
            name: "server",
            main: [
              k.pipe({ read: "sp_r", write: "sp_w", cap: 4 }),
              k.sigaction("SIGCHLD", handler, { name: "on_chld", restart: true }),
              k.repeat(JOBS, [k.fork([k.user("job", 2)])]),
              ...(fixed
                ? [
                    k.set("reaped", 0),
                    k.loopWhile(k.lt(k.r("reaped"), JOBS), { max: Infinity }, [k.read(k.r("sp_r"), 1), ...reapAll]),
                  ]
                : [k.repeat(JOBS, [k.read(k.r("sp_r"), 1), k.waitpid("any")])]),
              k.user("all jobs reaped"),
            ],
          },
        ],
      };
    },
  });
