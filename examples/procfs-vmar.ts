// procfs-vmar.ts: the Asterinas procfs bug (issue 2194, the built-in
// `asterinas-procfs` scenario) written with the general primitives.
//
// Models: each process's kernel struct has a `vmar` field (an Option<Vmar>,
// "proc" scope) guarded by its `vmar_lock`. The exit path of the child sets
// the field to None under the lock; the zombie stays visible until its parent
// reaps it. The parent reads /proc/<child>/status `reads` times before
// waitpid; the read takes the child's lock and unwrap()s the field, so a read
// between the child's exit and the reap panics with the message of the
// built-in scenario (kernel/src/process/process_vm/mod.rs:87).
//
// ktrace reports (buggy variant, on the seeds where a read follows the
// exit): outcome `panic` with
//   called `Option::unwrap()` on a `None` value at kernel/src/process/process_vm/mod.rs:87 (ProcessVmarGuard::unwrap)
// (the built-in scenario's message, word for word); `assertions` at the
// failed unwrap (an assert-fail event in kernel mode), then the panic.
//
// What differs from the built-in scenario: the field and its lock are the
// scenario's own variable and lock (the kernel's own VMAR and procfs paths
// are not used), so the invariant that names the bug is `assertions` at the
// assert-fail, not `vmar-live` at the procfs-read, and the cause (the store
// of None by the exit path) is found with `why var:vmar` rather than named
// by the invariant; the reads are done before the reap (reading a reaped
// child's field fails: its struct is gone), as the built-in reads are; the
// exit path takes different steps, so the seeds that panic differ (with the
// default 3 reads, 1,243 of 2,000 here, 1,459 in the built-in; with 1 read,
// none in either).
//
// Fix: `none-check` (the status read checks for None and leaves the RSS
// lines out, as the upstream fix does).
export default (k) =>
  k.defineScenario({
    name: "procfs-vmar",
    description: "Asterinas: a status read unwrap()s the VMAR field the child's exit set to None: kernel panic",
    fixes: { "none-check": "the status read checks for None and leaves the VmRSS lines out" },
    options: {
      reads: { values: ["1", "2", "3", "4", "6", "8"], default: "3", doc: "how many times the parent reads /proc/<child>/status before waitpid" },
    },
    defaults: { seed: 1 },
    build: ({ fix, options }) => {
      const exitMm = k.syscall("exit_mm", [k.lock("vmar_lock"), k.store("vmar", k.none), k.unlock("vmar_lock")]);
      const rss = fix === "none-check"
        ? [k.load("m", "vmar", { of: k.r("child") }), k.when(k.isSome(k.r("m")), [k.use(k.r("m"), "vmar.rss()")], [k.user("status: no VmRSS lines")])]
        : [k.unwrap("m", k.vOf("vmar", k.r("child")), { at: "kernel/src/process/process_vm/mod.rs:87 (ProcessVmarGuard::unwrap)" }), k.use(k.r("m"), "vmar.rss()")];
      const status = k.syscall("status_read", [k.lockOf("vmar_lock", k.r("child")), ...rss, k.unlockOf("vmar_lock", k.r("child"))]);
      return {
        locks: { vmar_lock: { type: "mutex", scope: "proc" } },
        vars: { vmar: { type: "ptr", init: "new", scope: "proc" } },
        procs: [{
          name: "reproducer",
          main: [
            k.fork([exitMm, k.exit(0)], { pid: "child" }),
            k.repeat(Number(options.reads), [status, k.user("parse status")]),
            k.waitpid("child"),
          ],
        }],
      };
    },
  });
