// pipe-inherit.ts: the reader never sees end of file, because a child it
// forked later still holds the pipe's write end.
//
// Models: a shell-like parent runs a producer with its output on a pipe and
// reads it to end of file; meanwhile it starts a log daemon (fork, then exec
// of logd, which waits for signals for ever). The pipe was made without
// close-on-exec, so the daemon inherits the write end at the fork and keeps
// it across its exec. When the producer exits, the parent's read does not
// return 0 (a write end is still open: the daemon's), and the parent never
// gets to stop the daemon.
//
// ktrace reports (buggy variant): outcome `hang`; `no-deadlock` at the event
// that makes the read unable to ever return (the parent's blocked read, or the
// producer's exit if the parent was already waiting): "blocks reading pipe 1
// (empty), which can never return: its write end is still open in pid 3 (fd
// 4, inherited when it was forked), whose threads cannot run"; among its
// causes the fork that gave pid 3 the write end. `ktrace why <trace> pipe:1` lists
// who holds each end and how they got it.
//
// Fixes: `cloexec` (pipe2(O_CLOEXEC): the exec closes the daemon's copy),
// `close-in-child` (the daemon closes the pipe's ends before its exec).
export default (k) =>
  k.defineScenario({
    name: "pipe-inherit",
    description: "a pipe's write end inherited by a long-lived child: the reader never sees end of file",
    fixes: {
      cloexec: "create the pipe with close-on-exec (pipe2(O_CLOEXEC)): the daemon's exec closes its copy",
      "close-in-child": "the daemon closes both ends of the pipe before it execs",
    },
    defaults: { seed: 1, cpus: 2 },
    build: ({ fix }) => ({
      procs: [{
        name: "shell",
        main: [
          k.pipe({ read: "out_r", write: "out_w", cloexec: fix === "cloexec" }),
          // the producer: writes its output and exits (fork without exec: it keeps the write end it needs)
          k.fork([k.close(k.r("out_r")), k.user("producer: compute", 3), k.write(k.r("out_w"), 24), k.user("producer: done")], { pid: "producer" }),
          // the log daemon: fork + exec; it waits for signals until it is told to stop
          k.fork([
            ...(fix === "close-in-child" ? [k.close(k.r("out_r")), k.close(k.r("out_w"))] : []),
            k.exec("/usr/sbin/logd", [k.loopWhile(k.int(1), { max: Infinity }, [k.pause()])]),
          ], { pid: "logd" }),
          k.close(k.r("out_w")),
          k.set("n", 1),
          k.loopWhile(k.gt(k.r("n"), 0), { max: Infinity }, [k.read(k.r("out_r"), 16, { ret: "n" }), k.user("shell: consume output")]),
          k.kill(k.r("logd"), "SIGTERM"),
          k.waitpid(k.r("logd")), k.waitpid(k.r("producer")),
        ],
      }],
    }),
  });
