// eintr-read.ts: a read loop that takes EINTR for end of file.
//
// Models: a log collector reads its worker's output from a pipe with the
// usual loop, `while ((n = read(fd, buf, 16)) > 0) total += n;`, and then
// checks it got all 64 bytes. It also installs a SIGCHLD handler (it reaps a
// short-lived helper it forked, with waitpid(-1, WNOHANG)), without
// SA_RESTART. When the helper exits while the collector is asleep in read(),
// the kernel wakes the read for the signal, runs the handler, and read()
// returns -1 with errno EINTR: the loop ends as if at end of file, with bytes
// still to come. (signal(7): a handler installed without SA_RESTART makes a
// blocked read on a pipe fail with EINTR.)
//
// ktrace reports (buggy variant, on the seeds where SIGCHLD lands during the
// read): outcome `fatal`; `assertions` at the check, and where its value came
// from: the store of `total` after the last read that returned data (16 or
// 32 of 64), then the read that failed with EINTR after it, and the SIGCHLD
// delivery on the reading thread that interrupted it.
//
// Fixes: `sa-restart` (install the handler with SA_RESTART: the kernel
// restarts the read after the handler), `retry-eintr` (the loop goes on when
// read fails with EINTR).
export default (k) =>
  k.defineScenario({
    name: "eintr-read",
    description: "a pipe read loop that stops at EINTR (a SIGCHLD handler without SA_RESTART) and loses the rest",
    fixes: {
      "sa-restart": "install the SIGCHLD handler with SA_RESTART: the read is restarted after it",
      "retry-eintr": "retry the read when it fails with EINTR (n == -4)",
    },
    defaults: { seed: 1, cpus: 2 },
    build: ({ fix }) => {
      const EINTR = -4;
      const more =
        fix === "retry-eintr" ? k.or(k.gt(k.r("n"), 0), k.eq(k.r("n"), EINTR)) : k.gt(k.r("n"), 0);
      return {
        vars: { total: { type: "int" } },
        procs: [
          {
            name: "collector",
            main: [
              k.sigaction(
                "SIGCHLD",
                [k.waitpid("any", { nohang: true, ret: "reaped" })],
                { name: "reap_helper", restart: fix === "sa-restart" },
              ),
              k.pipe({ read: "out_r", write: "out_w", cap: 16 }),
              // the worker: writes its 64 bytes of output in four pieces, then closes its end
              k.thread(
                [k.repeat(4, [k.user("worker: produce", 2), k.write(k.r("out_w"), 16)]), k.close(k.r("out_w"))],
                { tid: "worker" },
              ),
              // a short-lived helper process (say, a compressor it starts): exits at once
              k.fork([k.user("helper: run")], { pid: "helper" }),
              k.set("n", 1),
              k.loopWhile(more, { max: Infinity }, [
                k.read(k.r("out_r"), 16, { ret: "n" }),
                k.when(k.gt(k.r("n"), 0), [k.store("total", k.add(k.v("total"), k.r("n")))]),
              ]),
              k.load("got", "total"),
              k.assert(k.eq(k.r("got"), 64), "the collector read all 64 bytes of the worker's output"),
              k.join(k.r("worker")),
            ],
          },
        ],
      };
    },
  });
