// atomic-sleep.ts: a kernel path takes a mutex while it holds a spinlock.
//
// Models: a device driver with two locks, both the kernel's: dev.mutex (a
// sleeping mutex that serializes reconfiguration) and dev.lock (a spinlock
// that guards the device's registers). ioctl() takes the mutex, validates the
// new configuration, then takes the spinlock to write the registers: the
// right order. read() takes the spinlock to read the status, then calls a
// helper that takes the mutex to update the statistics: a mutex_lock() with
// a spinlock held. mutex_lock() may sleep, and sleeping in atomic context is
// a bug whether or not it sleeps this time: when ioctl() holds the mutex, the
// reader blocks on it holding dev.lock, and ioctl() spins on dev.lock for
// ever (a hang); on the other runs the mutex is free and nothing goes wrong,
// but a kernel built with CONFIG_DEBUG_ATOMIC_SLEEP prints "BUG: sleeping
// function called from invalid context" on every one of them.
//
// ktrace reports (buggy variant): `atomic-sleep` on every seed, at the read
// path's lock-acquire of dev.mutex (or its lock-wait, when ioctl() holds the
// mutex), with its acquire of dev.lock as the cause; outcome `hang` on the
// seeds where ioctl() held the mutex and then spun on dev.lock (`no-deadlock`
// alone finds those, at the wait that closes the cycle), `ok` on the others,
// where no other invariant finds anything.
//
// Fix: `mutex-first` (read() takes the mutex before the spinlock, as ioctl()
// does, and drops the spinlock before the stats update).
export default (k) =>
  k.defineScenario({
    name: "atomic-sleep",
    description: "a kernel path takes a mutex while holding a spinlock (sleeping in atomic context)",
    fixes: { "mutex-first": "read() takes the mutex before the spinlock, as ioctl() does" },
    defaults: { seed: 1 },
    build: ({ fix }) => {
      const ioctl = k.syscall("ioctl", [
        k.lock("dev.mutex"), k.user("dev_ioctl: validate the new config"),
        k.lock("dev.lock"), k.user("write the registers"), k.unlock("dev.lock"),
        k.unlock("dev.mutex"),
      ]);
      const read = k.syscall("read", fix === "mutex-first"
        ? [
            k.lock("dev.mutex"), k.lock("dev.lock"), k.user("dev_read: read the status"), k.unlock("dev.lock"),
            k.user("update the stats"), k.unlock("dev.mutex"),
          ]
        : [
            k.lock("dev.lock"), k.user("dev_read: read the status"),
            k.lock("dev.mutex"), k.user("update the stats"), k.unlock("dev.mutex"),
            k.unlock("dev.lock"),
          ]);
      return {
        locks: { "dev.lock": { type: "spin", scope: "kernel" }, "dev.mutex": { type: "mutex", scope: "kernel" } },
        procs: [{
          name: "app",
          main: [k.thread([ioctl], { tid: "cfg" }), k.thread([read], { tid: "rd" }), k.join(k.r("cfg")), k.join(k.r("rd"))],
        }],
      };
    },
  });
