// stdio-fork.ts: a stdio lock held across fork.
//
// Models: a logging thread calls printf in a loop; printf takes stdout's
// FILE lock (a user-space mutex, copied by fork with its owner word). The
// main thread forks a child that logs one line before it execs. When the
// fork lands while the logger holds the lock, the child's copy is held by a
// thread that does not exist in the child: its printf blocks for ever, and
// the parent waits for it in waitpid.
//
// ktrace reports (buggy variant, on the seeds where the fork lands inside
// the logger's printf): outcome `hang`; `lock-owner-alive` at the child's
// lock-wait on stdout_lock (the lock's owner does not exist in the child),
// with the logger's acquire in the parent and the fork that copied the held
// lock among its causes.
//
// Fixes: `atfork` (glibc's own: the prepare handler takes the stdio lock, the
// parent and child handlers release it), `write` (the child uses write(2),
// which takes no user-space lock, before exec).
export default (k) =>
  k.defineScenario({
    name: "stdio-fork",
    description: "a fork while another thread is inside printf: the child's printf blocks for ever",
    fixes: {
      atfork: "pthread_atfork: prepare takes stdout's lock, parent and child release it",
      write: "the child logs with write(2), which takes no stdio lock",
    },
    defaults: { seed: 1 },
    build: ({ fix }) => {
      const printf = (what) => [k.lock("stdout_lock"), k.user(`printf: format ${what}`), k.user("printf: fwrite to the buffer"), k.unlock("stdout_lock")];
      const childLog = fix === "write" ? [k.syscall("write", [k.user("write(2, msg)")])] : printf("child: starting helper");
      return {
        locks: { stdout_lock: { type: "mutex" } },
        procs: [{
          name: "daemon",
          main: [
            ...(fix === "atfork" ? [k.atfork({ prepare: [k.lock("stdout_lock")], parent: [k.unlock("stdout_lock")], child: [k.unlock("stdout_lock")] })] : []),
            k.thread([k.repeat(6, [...printf("log line"), k.user("logger: wait for the next event")])]),
            k.user("main: accept a request", 3),
            k.fork([...childLog, k.exec("/usr/bin/helper", [k.user("helper: main")])]),
            k.waitpid("child"),
          ],
        }],
      };
    },
  });
