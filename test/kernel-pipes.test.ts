// File descriptors and pipes: blocking reads and writes on a bounded buffer,
// EOF when every write end is closed, SIGPIPE/EPIPE, close, dup, inheritance
// across fork and exec with close-on-exec (src/kernel/fd.ts).
import { describe, expect, it } from "vitest";
import type { Op } from "../src/kernel/index.ts";
import * as k from "../src/kernel/index.ts";
import { describe as describeEv, firstViolation, MemorySource } from "../src/replay/index.ts";
import { ofKind, regs, runWorld } from "./helpers/world.ts";

const run = (procs: Op[][], seed = 1) => runWorld(procs, { seed });
const of = ofKind;
const { r } = k;

describe("pipes", () => {
  it("a reader gets what the writer wrote, blocks while it is empty, and sees EOF once every write end is closed", () => {
    const res = run([
      [
        k.pipe({ read: "rd", write: "wr" }),
        k.fork([k.close(r("rd")), k.sleep(5_000), k.write(r("wr"), 8), k.sleep(5_000), k.write(r("wr"), 4)]),
        k.close(r("wr")),
        k.read(r("rd"), 100, { ret: "a" }),
        k.read(r("rd"), 100, { ret: "b" }),
        k.read(r("rd"), 100, { ret: "c" }),
        k.waitpid(),
      ],
    ]);
    expect(res.st.outcome!.kind).toBe("ok");
    expect([regs(res.evs, "rd"), regs(res.evs, "wr")]).toEqual([[3], [4]]);
    expect([regs(res.evs, "a"), regs(res.evs, "b"), regs(res.evs, "c")]).toEqual([[8], [4], [0]]);
    expect(of(res.evs, k.KIND.pipeWait).length).toBeGreaterThanOrEqual(2);
    expect(of(res.evs, k.KIND.wake).filter((e) => e.c === k.HOW.pipe).length).toBeGreaterThanOrEqual(2);
    expect(describeEv(of(res.evs, k.KIND.pipeRead).at(-1)!)).toBe("tid 1 reads pipe 1: end of file");
  });
  it("a writer blocks on a full pipe until the reader drains it (a write up to the capacity is atomic)", () => {
    const res = run([
      [
        k.pipe({ read: "rd", write: "wr", cap: 8 }),
        k.thread([k.write(r("wr"), 6, { ret: "w1" }), k.write(r("wr"), 6, { ret: "w2" })]),
        k.sleep(20_000),
        k.read(r("rd"), 4, { ret: "a" }),
        k.sleep(20_000),
        k.read(r("rd"), 100, { ret: "b" }),
      ],
    ]);
    expect([regs(res.evs, "w1"), regs(res.evs, "w2"), regs(res.evs, "a"), regs(res.evs, "b")]).toEqual([
      [6],
      [6],
      [4],
      [8],
    ]);
    expect(of(res.evs, k.KIND.pipeWait).map((e) => e.b)).toEqual([1]);
  });
  it("a blocking write of more than the capacity goes in pieces and returns its whole count (Linux's pipe_write)", () => {
    for (let seed = 1; seed <= 6; seed++) {
      const res = runWorld(
        [
          [
            k.pipe({ read: "rd", write: "wr", cap: 16 }),
            k.thread([k.write(r("wr"), 40, { ret: "w" }), k.close(r("wr"))]),
            k.set("n", 1),
            k.set("got", 0),
            k.loopWhile(k.gt(r("n"), 0), { max: Infinity }, [
              k.read(r("rd"), 8, { ret: "n" }),
              k.set("got", k.add(r("got"), r("n"))),
            ]),
          ],
        ],
        { seed, cpus: 2 },
      );
      expect(res.st.outcome!.kind).toBe("ok");
      expect(regs(res.evs, "w")).toEqual([40]);
      expect(regs(res.evs, "got").at(-1)).toBe(40);
      const pieces = of(res.evs, k.KIND.pipeWrite).map((e) => e.b);
      expect(pieces.reduce((a, b) => a + b, 0)).toBe(40);
      expect(pieces.length).toBeGreaterThan(1);
    }
  });

  it("a write cut short after a piece returns what it wrote: by a signal handler (even with SA_RESTART), by the last reader's close", () => {
    for (const restart of [false, true]) {
      const res = runWorld(
        [
          [
            k.sigaction("SIGUSR1", [k.user("in handler")], { restart }),
            k.pipe({ read: "rd", write: "wr", cap: 16 }),
            k.thread([k.sleep(3_000), k.tkill(1, "SIGUSR1"), k.sleep(3_000), k.read(r("rd"), 64)]),
            k.write(r("wr"), 40, { ret: "w" }),
          ],
        ],
        { seed: 1, cpus: 2 },
      );
      expect(res.st.outcome!.kind).toBe("ok");
      expect(regs(res.evs, "w")).toEqual([16]);
    }
    const closed = runWorld(
      [
        [
          k.sigaction("SIGPIPE", "ignore"),
          k.pipe({ read: "rd", write: "wr", cap: 16 }),
          k.fork([k.close(r("wr")), k.sleep(3_000), k.close(r("rd"))]),
          k.close(r("rd")),
          k.write(r("wr"), 40, { ret: "w" }),
          k.waitpid(),
        ],
      ],
      { seed: 1, cpus: 2 },
    );
    expect(closed.st.outcome!.kind).toBe("ok");
    expect(regs(closed.evs, "w")).toEqual([16]);
  });

  it("nonblock (O_NONBLOCK): a read of an empty pipe and a write that would wait fail with EAGAIN; a larger write returns what fit", () => {
    const res = runWorld(
      [
        [
          k.pipe({ read: "rd", write: "wr", cap: 16 }),
          k.read(r("rd"), 8, { ret: "a", nonblock: true }),
          k.write(r("wr"), 40, { ret: "b", nonblock: true }),
          k.write(r("wr"), 8, { ret: "c", nonblock: true }),
          k.read(r("rd"), 8, { ret: "d", nonblock: true }),
          k.write(r("wr"), 16, { ret: "e", nonblock: true }),
          k.write(r("wr"), 8, { ret: "f", nonblock: true }),
        ],
      ],
      { seed: 1, cpus: 1 },
    );
    expect(res.st.outcome!.kind).toBe("ok");
    expect(["a", "b", "c", "d", "e", "f"].map((x) => regs(res.evs, x))).toEqual([
      [-k.ERRNO.EAGAIN],
      [16],
      [-k.ERRNO.EAGAIN],
      [8],
      [-k.ERRNO.EAGAIN],
      [8],
    ]);
    expect(of(res.evs, k.KIND.pipeWait)).toEqual([]);
    expect(describeEv(of(res.evs, k.KIND.errno)[0]!)).toBe("tid 1: read(3, 8) fails: EAGAIN");
  });

  it("writing with no read end left: SIGPIPE kills the writer by default; with SIGPIPE ignored, -EPIPE", () => {
    // (in a child: init, pid 1, ignores the signals it has no handler for, as on Linux)
    const writer = [k.pipe({ read: "rd", write: "wr" }), k.close(r("rd")), k.write(r("wr"), 1), k.user("never")];
    const killed = run([[k.fork(writer, { pid: "c" }), k.waitpid(r("c"), { status: "st" })]]);
    expect(regs(killed.evs, "st")).toEqual([128 + k.SIG.SIGPIPE]);
    expect(killed.evs.some((e) => e.kind === k.KIND.user && e.s === "never")).toBe(false);
    expect(of(killed.evs, k.KIND.signal)[0]).toMatchObject({ tid: -1, a: 2, b: k.SIG.SIGPIPE, c: 2 });
    const ign = run([
      [
        k.sigaction("SIGPIPE", "ignore"),
        k.pipe({ read: "rd", write: "wr" }),
        k.close(r("rd")),
        k.write(r("wr"), 1, { ret: "e" }),
      ],
    ]);
    expect(regs(ign.evs, "e")).toEqual([-k.ERRNO.EPIPE]);
  });
  it("closed and wrong-end descriptors are EBADF; dup shares the end, dup2 replaces, fcntl sets close-on-exec", () => {
    const res = run([
      [
        k.pipe({ read: "rd", write: "wr" }),
        k.close(99, { ret: "a" }),
        k.write(r("rd"), 1, { ret: "b" }),
        k.read(r("wr"), 1, { ret: "c" }),
        k.dup(r("wr"), "w2"),
        k.close(r("wr")),
        k.write(r("w2"), 3, { ret: "d" }),
        k.read(r("rd"), 10, { ret: "e" }),
        k.dup2(r("rd"), 10, "ten"),
        k.cloexec(10),
        k.close(r("w2")),
        k.read(10, 10, { ret: "f" }),
      ],
    ]);
    expect(["a", "b", "c", "w2", "d", "e", "ten", "f"].map((x) => regs(res.evs, x)[0])).toEqual([
      k.ERRNO.EBADF,
      -k.ERRNO.EBADF,
      -k.ERRNO.EBADF,
      5,
      3,
      3,
      10,
      0,
    ]);
    expect(of(res.evs, k.KIND.fdFlags)[0]).toMatchObject({ a: 10, b: 1 });
  });
});

describe("inheritance and close-on-exec", () => {
  // A shell: the producer (a fork) writes and exits; a daemon (fork + exec) is started while the
  // pipe is open; the shell reads to EOF. Without close-on-exec the daemon keeps the write end.
  const shell = (cloexecFlag: boolean): Op[] => [
    k.pipe({ read: "rd", write: "wr", cloexec: cloexecFlag }),
    k.fork([k.close(r("rd")), k.write(r("wr"), 8)], { pid: "producer" }),
    k.fork([k.exec("/usr/sbin/logd", [k.pause()])], { pid: "daemon" }),
    k.close(r("wr")),
    k.loopWhile(k.ne(r("n"), 0), { max: 100 }, [k.read(r("rd"), 64, { ret: "n" })]),
    k.kill(r("daemon"), "SIGTERM"),
    k.waitpid(r("daemon")),
    k.waitpid(r("producer")),
  ];
  it("without close-on-exec the exec'd daemon still holds the write end: the read can never return (no-deadlock names the fork)", () => {
    const res = run([[k.set("n", 1), ...shell(false)]]);
    expect(res.st.outcome!.kind).toBe("hang");
    const v = firstViolation(MemorySource.fromEvents(res.w.config, res.evs)).violation!;
    expect(v.invariant).toBe("no-deadlock");
    expect(v.message).toMatch(
      /^tid 1 \(pid 1\) blocks reading pipe 1 \(empty\), which can never return: its write end is still open in pid 3 \(fd 4, inherited when it was forked\), whose threads cannot run: tid 3 \(pid 3\) waits for a signal \(pause\)$/,
    );
    const daemonFork = of(res.evs, k.KIND.fork).find((e) => e.b === 3)!;
    expect(v.causes).toContainEqual({
      seq: daemonFork.seq,
      why: "pid 3 inherits pipe 1's write end (fd 4) at its creation (fork/spawn)",
    });
  });
  it("with close-on-exec the exec closes it: EOF, the shell goes on", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const res = run([[k.set("n", 1), ...shell(true)]], seed);
      expect(res.st.outcome!.kind).toBe("ok");
      expect(firstViolation(MemorySource.fromEvents(res.w.config, res.evs)).violation).toBeNull();
      const close = res.evs.find((e) => e.kind === k.KIND.fdClose && e.tid === 3)!;
      expect(close.seq).toBeGreaterThan(res.evs.find((e) => e.kind === k.KIND.exec)!.seq);
    }
  });
});

describe("a two-way pipe (popen both ways): a writer waits for room for its whole write", () => {
  // The parent writes all its input before reading any output; the child echoes as it reads. Both
  // pipes fill: each waits for the other to read. A write of at most the capacity waits until all of
  // it fits (PIPE_BUF's rule), so the parent's 20-byte write is stuck with 60 of 64 bytes buffered.
  const popen2 = (interleave: boolean): Op[] => [
    k.pipe({ read: "in_r", write: "in_w" }),
    k.pipe({ read: "out_r", write: "out_w" }),
    k.fork(
      [
        k.close(r("in_w")),
        k.close(r("out_r")),
        k.set("n", 1),
        k.loopWhile(k.gt(r("n"), 0), { max: Infinity }, [
          k.read(r("in_r"), 16, { ret: "n" }),
          k.when(k.gt(r("n"), 0), [k.write(r("out_w"), r("n"))]),
        ]),
      ],
      { pid: "child" },
    ),
    k.close(r("in_r")),
    k.close(r("out_w")),
    k.repeat(
      10,
      interleave ? [k.write(r("in_w"), 20), k.read(r("out_r"), 64, { ret: "got" })] : [k.write(r("in_w"), 20)],
    ),
    k.close(r("in_w")),
    k.set("m", 1),
    k.loopWhile(k.gt(r("m"), 0), { max: Infinity }, [k.read(r("out_r"), 64, { ret: "m" })]),
    k.waitpid(r("child")),
  ];
  it("no-deadlock breaks at the pipe-wait that closes the cycle, not at the hang, and says what the write needs", () => {
    let notFull = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const res = run([popen2(false)], seed);
      expect(res.st.outcome!.kind).toBe("hang");
      const v = firstViolation(MemorySource.fromEvents(res.w.config, res.evs)).violation!;
      expect(v.invariant).toBe("no-deadlock");
      expect(v.event.kind).toBe(k.KIND.pipeWait);
      expect(v.message).toMatch(
        /^tid \d \(pid \d\) blocks writing pipe \d \((full|\d+ of 64 bytes buffered, the write needs \d+ free)\), which can never return: its read end is still open in pid \d/,
      );
      const why = /^tid \d \(pid \d\) blocks writing pipe \d \(([^)]*)\)/.exec(v.message)![1]!;
      if (why !== "full") {
        notFull++;
        expect(why).toMatch(/^\d+ of 64 bytes buffered, the write needs 20 free$/);
        expect(describeEv(v.event, res.st)).toMatch(new RegExp(`blocks writing pipe 1 \\(${why}\\)$`));
      }
    }
    expect(notFull).toBeGreaterThan(0);
  });
  it("reading between the writes: no violation", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const res = run([popen2(true)], seed);
      expect(res.st.outcome!.kind).toBe("ok");
      expect(firstViolation(MemorySource.fromEvents(res.w.config, res.evs)).violation).toBeNull();
    }
  });
  it("a pipe-wait from a trace before `need` was recorded (0) waits for any room, as it was read then", () => {
    const res = run([popen2(false)], 1);
    const evs = res.evs.map((e) => (e.kind === k.KIND.pipeWait ? { ...e, c: 0 } : e));
    const v = firstViolation(MemorySource.fromEvents(res.w.config, evs)).violation!;
    expect(v.invariant).toBe("no-deadlock");
    expect(v.event.kind).toBe(k.KIND.hang); // with today's need: the pipe-wait of seq 57 (the test above)
  });
});
