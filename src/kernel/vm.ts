// Kernel stacks, root VMARs and procfs.
//
// Kernel stacks: an id allocator (lowest free id first, like rCore's
// RecycleAllocator) whose stacks are mapped at allocation and unmapped at
// free. When a dead thread's stack is freed depends on KConfig.kstackFree
// (see proc.ts's teardown for rCore's two variants; Linux frees it here, once
// the cpu has switched away). Touching a freed stack is silent unless
// KConfig.stackCheck makes it fault.
//
// VMARs: each process has a root VMAR guarded by a kernel lock; the last
// thread's exit sets it to None (proc.ts). procfs's status reader takes that
// lock and reads RSS from the VMAR.

import { DONE, KEEP, leaveFrame, type Micro } from "./ctx.ts";
import { ev } from "./events.ts";
import { acquire, release } from "./locks.ts";
import { COST } from "./params.ts";
import { autoReaped, reapOrphans } from "./proc.ts";
import type { ProcFile } from "./program.ts";
import type { Simulator } from "./sim.ts";
import { KIND, OUTCOME_KINDS, type Thread } from "./types.ts";

/** Allocates and maps a kernel stack for thread `owner`. Emits kstack-alloc (on cpu, by tid; -1 at boot). */
export function allocKstack(k: Simulator, cpu: number, tid: number, owner: number): void {
  const id = k.freeKstacks.length > 0 ? k.freeKstacks.shift()! : k.nextKstack++;
  k.emitSlots(cpu, tid, KIND.kstackAlloc, id, owner, 0, ""); // kstack, tid
}

/** Unmaps kernel stack id and returns it to the allocator. Emits kstack-free. */
export function freeKstack(k: Simulator, cpu: number, tid: number, id: number): void {
  k.emitSlots(cpu, tid, KIND.kstackFree, id, 0, 0, ""); // kstack
  let i = 0;
  while (i < k.freeKstacks.length && k.freeKstacks[i]! < id) i++;
  k.freeKstacks.splice(i, 0, id);
}

/**
 * Cleanup left to cpu c after it switched away from the dead thread th.
 * Linux (kstackFree deferred) queues two kernel steps on the cpu: free the
 * stack (finish_task_switch), then, for a thread other than the main one,
 * drop its control block (put_task_struct). rCore frees in exit or at reap.
 */
export function afterDeath(k: Simulator, c: number, th: Thread): void {
  k.threads.delete(th.tid);
  // An orphan's (or a child of a parent ignoring SIGCHLD) last thread is off the cpu: it is reaped (after the cleanup below).
  const p = k.state.procs.get(th.pid);
  const orphan = p !== undefined && autoReaped(k.state, p);
  if (k.state.config.kstackFree !== "deferred") {
    if (orphan) reapOrphans(k, c);
    return;
  }
  const kstack = th.kstack;
  const main = k.state.procs.get(th.pid)?.threads[0] === th.tid;
  k.pending[c]!.push(() => {
    const s = k.state.kstacks.get(kstack);
    if (s && s.state === "mapped" && s.tid === th.tid) freeKstack(k, c, k.state.cpus[c]!.tid, kstack);
    else k.emitInert(c, k.state.cpus[c]!.tid, KIND.kwork, 0, 0, "finish_task_switch");
  });
  if (!main) {
    k.pending[c]!.push(() => {
      if (k.state.threads.has(th.tid))
        k.emitSlots(c, k.state.cpus[c]!.tid, KIND.threadRelease, th.tid, 0, 0, ""); // tid
      else k.emitInert(c, k.state.cpus[c]!.tid, KIND.kwork, 0, 0, "put_task_struct");
    });
  }
  if (orphan) reapOrphans(k, c);
}

/**
 * Whether cpu c, running a thread, touches a freed kernel stack in a way that
 * faults: after a TLB flush (stackCheck flush), or when its frames went to
 * another thread (stackCheck reuse). If so emits page-fault, panic and end,
 * and returns true. Silent (false) otherwise.
 */
export function checkStack(k: Simulator, c: number): boolean {
  const mode = k.state.config.stackCheck;
  if (mode === "silent") return false;
  const cpu = k.state.cpus[c]!;
  if (cpu.kstack < 0) return false;
  const s = k.state.kstacks.get(cpu.kstack);
  if (!s) return false;
  let msg = "";
  if (s.state === "freed" && s.flushed && mode === "flush") {
    msg = `page fault on cpu ${c}: kernel stack ${s.id} of tid ${cpu.tid} was unmapped (seq ${s.freeSeq}) and the TLB flushed`;
  } else if (s.state === "mapped" && s.tid !== cpu.tid && mode === "reuse") {
    msg = `page fault on cpu ${c}: kernel stack ${s.id} freed while tid ${cpu.tid} ran on it was reused by tid ${s.tid}`;
  }
  if (!msg) return false;
  k.emit(c, cpu.tid, ev.pageFault({ kstack: s.id }));
  k.emit(c, cpu.tid, ev.panic({ message: msg }));
  k.emit(c, -1, ev.end({ outcome: OUTCOME_KINDS.indexOf("panic"), message: msg }));
  return true;
}

/**
 * open + read + close of /proc/<target>/<file> (status, stat and cmdline all
 * read the process's memory map), as kernel steps. open
 * (procfs-open) takes a reference on the process, as Linux's proc inode pins
 * the task: a sibling's waitpid may reap it meanwhile, but the struct, its
 * VMAR and VMAR lock stay until the close; a process already reaped (or never
 * there) is ESRCH (pin 0) and the read ends there. Then: take the VMAR lock,
 * read (procfs-read: rss 1 from the VMAR, 0 when it is None and the reader
 * checks; under KConfig.procfsVmar unwrap, a None VMAR panics with Asterinas's
 * message), release the lock, close (procfs-close: the reference goes, and
 * with the last one a reaped process's struct).
 */
export function procfsRead(k: Simulator, target: number, file: ProcFile = "status"): Micro[] {
  const proc = () => k.state.procs.get(target)!;
  return [
    (t2, c2) => {
      const p = k.state.procs.get(target);
      const pin = p !== undefined && p.state !== "reaped";
      k.emit(c2, t2.tid, ev.procfsOpen({ pid: target, pin: pin ? 1 : 0, path: `/proc/${target}/${file}` }));
      k.cost(COST.kernel, c2);
      return pin ? DONE : leaveFrame(t2);
    },
    (t2, c2) => acquire(k, t2, c2, proc().vmarLock),
    (t2, c2) => {
      const p = proc();
      if (p.vmar === null && k.state.config.procfsVmar === "unwrap") {
        const msg =
          "called `Option::unwrap()` on a `None` value at kernel/src/process/process_vm/mod.rs:87 (ProcessVmarGuard::unwrap)";
        k.emit(c2, t2.tid, ev.procfsRead({ pid: p.pid, rss: 2 }));
        k.emit(c2, t2.tid, ev.panic({ message: msg }));
        k.emit(c2, -1, ev.end({ outcome: OUTCOME_KINDS.indexOf("panic"), message: msg }));
        return KEEP;
      }
      // The fixed reader leaves out VmRSS/RssAnon/RssFile for an exited process.
      k.emit(c2, t2.tid, ev.procfsRead({ pid: p.pid, rss: p.vmar === null ? 0 : 1 }));
      k.cost(COST.kernel, c2);
      return DONE;
    },
    (t2, c2) => release(k, t2, c2, k.state.locks.get(proc().vmarLock)!),
    (t2, c2) => {
      k.emit(c2, t2.tid, ev.procfsClose({ pid: target }));
      return DONE;
    },
  ];
}
