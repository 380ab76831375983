// toctou-link.ts: a time-of-check to time-of-use race in a kernel path:
// link(2) against unlink(2) of the same inode.
//
// Models: the inode has a link count `nlink` and both are guarded by the
// inode's spinlock. sys_link looks the inode up (keeps the pointer) and
// checks that nlink > 0 under the lock, drops the lock to allocate the new
// dentry (which may sleep), then takes the lock again and grabs the inode
// (ihold, nlink++) without checking again. sys_unlink, meanwhile, drops the last link
// and frees the inode under the same lock. Every access is under the lock
// (no data race): the check was true when it was made and is stale when it
// is used.
//
// ktrace reports (buggy variant): outcome `ok` (a silent use after free);
// `use-after-free` on the seeds where the unlink falls between the check and
// the use (most of them), at sys_link's obj-use `ihold(inode)` of the freed
// inode, with the free (by the unlink thread) among its causes.
//
// Fix: `recheck` (test nlink again after retaking the lock, as vfs_link does:
// -ENOENT when the inode lost its last link).
export default (k) =>
  k.defineScenario({
    name: "toctou-link",
    description: "link() checks the link count, drops the lock, and uses the inode unlink freed meanwhile",
    fixes: { recheck: "check nlink again under the lock before using the inode (vfs_link's -ENOENT)" },
    defaults: { seed: 1 },
    build: ({ fix }) => {
      const grab = [k.use(k.r("ip"), "ihold(inode)"), k.store("nlink", k.add(k.v("nlink"), 1))];
      const link = k.syscall("sys_link", [
        k.lock("i_lock"), k.load("ip", "inode"), k.load("n", "nlink"), k.unlock("i_lock"), // the lookup keeps the pointer
        k.when(k.gt(k.r("n"), 0), [
          k.user("d_alloc: allocate the new dentry (may sleep)", 3),
          k.lock("i_lock"),
          ...(fix === "recheck" ? [k.when(k.gt(k.v("nlink"), 0), grab, [k.user("-ENOENT")])] : grab),
          k.unlock("i_lock"),
        ]),
      ]);
      const unlink = k.syscall("sys_unlink", [
        k.lock("i_lock"),
        k.store("nlink", k.sub(k.v("nlink"), 1)),
        k.when(k.eq(k.v("nlink"), 0), [k.load("p", "inode"), k.store("inode", k.none), k.dealloc(k.r("p"))]),
        k.unlock("i_lock"),
      ]);
      const join = [k.load("done", "done", { atomic: true }), k.loopWhile(k.eq(k.r("done"), 0), { max: Infinity }, [k.load("done", "done", { atomic: true })])];
      return {
        locks: { i_lock: { type: "spin", scope: "kernel" } },
        vars: {
          inode: { type: "ptr", init: "new", scope: "kernel" },
          nlink: { type: "int", init: 1, scope: "kernel" },
          done: { type: "int" },
        },
        procs: [{ name: "fs", main: [k.thread([k.user("rm: stat"), unlink, k.store("done", 1, { atomic: true })]), k.user("ln: parse args"), link, ...join] }],
      };
    },
  });
