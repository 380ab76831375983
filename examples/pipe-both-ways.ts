// pipe-both-ways.ts: a program writes all of a filter's input before it reads
// any of its output; both pipes fill and each side waits for the other.
//
// Models: a program runs a filter (tr, sort -m, a compressor) as a child with
// a pipe to its stdin and one from its stdout (popen both ways, or
// subprocess.Popen with stdin=PIPE and stdout=PIPE), writes its 200 bytes of
// input in 20-byte writes, closes the filter's stdin, and only then reads the
// output. The filter echoes what it reads as it reads it. Pipes hold 64
// bytes: once the output pipe is full, the filter blocks writing it; once the
// input pipe has no room for the next 20 bytes (a write of at most the
// capacity goes in whole or waits: PIPE_BUF's rule), the program blocks too.
// Python's documentation warns of exactly this ("use communicate() rather than
// .stdin.write ... to avoid deadlocks due to any of the other OS pipe buffers
// filling up").
//
// ktrace reports (buggy variant, seeds 1..200): 200 of 200 fail, outcome
// `hang`; `no-deadlock` at the pipe-wait that closes the cycle: "tid 1
// (pid 1) blocks writing pipe 1 (60 of 64 bytes buffered, the write needs 20
// free), which can never return: its read end is still open in pid 2 (fd 3,
// ...), whose threads cannot run: tid 2 (pid 2) blocks writing pipe 2
// (full)", or the filter's wait when the program blocked first.
//
// Fixes: `communicate` (as Popen.communicate() does with poll: after each
// write, read whatever output is there without waiting, with O_NONBLOCK),
// `reader-thread` (a second thread drains the output while the first writes).
export default (k) =>
  k.defineScenario({
    name: "pipe-both-ways",
    description: "a program writes all a filter's input before reading its output: both pipes fill",
    fixes: {
      communicate: "after each write, read the output that is there (O_NONBLOCK), as communicate() does with poll",
      "reader-thread": "a second thread reads the output while the first writes the input",
    },
    defaults: { seed: 1, cpus: 2 },
    build: ({ fix }) => {
      const drain = (reg) => [
        k.set(reg, 1),
        k.loopWhile(k.gt(k.r(reg), 0), { max: Infinity }, [k.read(k.r("out_r"), 64, { ret: reg })]),
      ];
      const feed = k.repeat(10, [
        k.write(k.r("in_w"), 20),
        ...(fix === "communicate" ? [k.read(k.r("out_r"), 64, { ret: "got", nonblock: true })] : []),
      ]);
      return {
        procs: [{
          name: "program",
          main: [
            k.pipe({ read: "in_r", write: "in_w" }),
            k.pipe({ read: "out_r", write: "out_w" }),
            k.fork([
              // the child's stdin and stdout become the pipes' ends; the rest is closed; then it runs the filter
              k.dup2(k.r("in_r"), 0, "d0"), k.dup2(k.r("out_w"), 1, "d1"),
              k.close(k.r("in_r")), k.close(k.r("in_w")), k.close(k.r("out_r")), k.close(k.r("out_w")),
              k.exec("/usr/bin/filter", [
                k.set("n", 1),
                k.loopWhile(k.gt(k.r("n"), 0), { max: Infinity }, [
                  k.read(0, 16, { ret: "n" }),
                  k.when(k.gt(k.r("n"), 0), [k.write(1, k.r("n"))]),
                ]),
              ]),
            ], { pid: "filter" }),
            k.close(k.r("in_r")), k.close(k.r("out_w")),
            ...(fix === "reader-thread"
              ? [k.thread(drain("m"), { tid: "reader" }), feed, k.close(k.r("in_w")), k.join(k.r("reader"))]
              : [feed, k.close(k.r("in_w")), ...drain("m")]),
            k.waitpid(k.r("filter")),
          ],
        }],
      };
    },
  });
