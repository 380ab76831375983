// The wakeup-inversion invariant: a priority inversion through a wakeup. A
// high-priority thread H waits for something only another thread's action
// ends (a condition variable's signal, a semaphore's post, a pipe write, a
// futex_wake); the thread W that ends it runs at a lower priority, and while H
// waits, W is ready but a thread M of a priority between the two runs in its
// place. H waits as long as M computes: the inversion of priority-inversion,
// but through an object with no owner, so priority inheritance cannot lend W
// H's priority (glibc's condition variables are not PI-aware: its bug 11588;
// the kernel's answer, FUTEX_CMP_REQUEUE_PI, makes the wait's mutex PI, not
// the signaller). Who would end the wait is known only when it is ended, so
// this is judged at the wake, against the run's history: a monitor.
//
// What it keeps (bounded by the threads):
//   - for each thread that blocked in a futex wait (a condition variable, a
//     semaphore, a futex word) or a pipe wait, the seq and object of the wait
//     (the wake ends it). A join, waitpid or pause is not judged: a thread
//     that waits for another's exit (a main thread joining its workers) is
//     not the classic inversion, and a default-on check must not flag it;
//   - for each ready thread W, by each running thread M ranked above it, the
//     last stretch of seqs in which W was ready while M ran (from the switch
//     or wake that made it so to the switch that ended it, or open).
// At a wake of H by W (not the kernel: a timer or interrupt has no priority;
// not a lock handoff: priority-inversion's), with rank(W) < rank(H): the first
// M with rank(W) < rank(M) < rank(H) whose stretch over W overlaps H's wait.
//
// Ranks come only from a sched-set (a boost needs a ranked thread to lend
// it), so until the first one there is nothing to keep or find: `reports`
// names sched-set, which lets a scan leave the invariant out up to the first
// one (checkWhole, the split scan) and explore drop it for a world without
// priorities, and `armed` skips it while no thread is ranked. A wait the
// monitor did not see begin (it started mid-wait) is not judged: it may miss
// an inversion, never report one that did not happen.

import { prioText, rank } from "../kernel/prio.ts";
import { type KEvent, KIND, type KState, type Thread, WAKE_HOW } from "../kernel/types.ts";
import { syncText } from "./describe.ts";
import type { Cause, Finding, Invariant, Monitor } from "./invariants.ts";

const LOCK_HANDOFF = WAKE_HOW.indexOf("lock");

/** A stretch in which a ready thread was outranked by a running one: from `from` to `to` (-1 while open); the runner's rank and its words then (it may be gone by the wake). */
interface Stretch {
  from: number;
  to: number;
  rank: number;
  prio: string;
}

/** A wait that a wake ends: where it began and on what. */
interface Wait {
  seq: number;
  what: string;
}

/** The object of a blocking event, as the message names it ("condvar ready_cv", "pipe 2 (data to read)"). */
function waitWhat(s: KState, ev: KEvent): string {
  return ev.kind === KIND.futexWait ? syncText(s, ev.a) : `pipe ${ev.a} (${ev.b ? "room to write" : "data to read"})`;
}

class WakeupInversionMonitor implements Monitor {
  /** By ready tid W, by running tid M ranked above it: the last stretch of W ready while M ran. */
  private readonly over = new Map<number, Map<number, Stretch>>();
  /** The waits in progress that a wake may end, by tid. */
  private readonly waits = new Map<number, Wait>();

  pre(s: KState, ev: KEvent): Finding | null {
    switch (ev.kind) {
      case KIND.futexWait:
      case KIND.pipeWait:
        this.waits.set(ev.tid, { seq: ev.seq, what: waitWhat(s, ev) });
        return null;
      case KIND.switch:
        this.switched(s, ev);
        return null;
      case KIND.wake:
        return this.woken(s, ev);
      case KIND.threadExit:
        this.over.delete(ev.tid);
        this.waits.delete(ev.tid);
        this.close(ev.tid, ev.seq);
        return null;
      default:
        return null;
    }
  }

  /** cpu ev.cpu goes from ev.a to ev.b: b's stretches as the outranked one end, a's as the runner end, and new ones open. */
  private switched(s: KState, ev: KEvent): void {
    const from = ev.a;
    const to = ev.b;
    if (from >= 0) this.close(from, ev.seq);
    if (to < 0) return;
    const mine = this.over.get(to);
    if (mine !== undefined) for (const st of mine.values()) if (st.to < 0) st.to = ev.seq;
    const m = s.threads.get(to);
    if (m === undefined || rank(m) === 0) return;
    // Every ready thread it outranks is kept from this cpu (the one it runs on now).
    for (const w of s.threads.values())
      if (w.tid !== to && w.tid !== from && w.state === "runnable" && rank(w) < rank(m)) this.open(w.tid, m, ev.seq);
    // A running `from` that stays ready (state 0: the simulator's rule) is outranked by whoever runs.
    const f = from >= 0 ? s.threads.get(from) : undefined;
    if (f !== undefined && f.state === "running" && ev.c === 0) this.outranked(s, f, ev.seq, to);
  }

  /** Thread t, ready from seq on, is outranked by every running thread ranked above it (on its own cpu, by `extra`, about to take it). */
  private outranked(s: KState, t: Thread, seq: number, extra = -1): void {
    for (const c of s.cpus) {
      const tid = c.tid === t.tid ? extra : c.tid;
      const m = tid >= 0 ? s.threads.get(tid) : undefined;
      if (m !== undefined && rank(m) > rank(t)) this.open(t.tid, m, seq);
    }
  }

  /** Opens the stretch of w outranked by m at seq, unless one is open. */
  private open(w: number, m: Thread, seq: number): void {
    let mine = this.over.get(w);
    if (mine === undefined) this.over.set(w, (mine = new Map()));
    const st = mine.get(m.tid);
    if (st === undefined) mine.set(m.tid, { from: seq, to: -1, rank: rank(m), prio: prioText(m) });
    else if (st.to >= 0) {
      st.from = seq;
      st.to = -1;
      st.rank = rank(m);
      st.prio = prioText(m);
    }
  }

  /** Thread m stops running at seq: the stretches it outranked others in end. */
  private close(m: number, seq: number): void {
    for (const mine of this.over.values()) {
      const st = mine.get(m);
      if (st !== undefined && st.to < 0) st.to = seq;
    }
  }

  /** A wake of ev.a by ev.b: the finding when the waker was kept from running by a middle-priority thread while the woken one waited. */
  private woken(s: KState, ev: KEvent): Finding | null {
    const wait = this.waits.get(ev.a);
    this.waits.delete(ev.a);
    const h = s.threads.get(ev.a);
    // The woken thread is ready from here on: outranked by whoever runs above it.
    if (h !== undefined) this.outranked(s, h, ev.seq);
    if (wait === undefined || h === undefined || ev.b < 0 || ev.c === LOCK_HANDOFF) return null;
    const w = s.threads.get(ev.b);
    if (w === undefined || rank(w) >= rank(h)) return null;
    const mine = this.over.get(w.tid);
    if (mine === undefined) return null;
    for (const [mt, st] of mine) {
      if (mt === h.tid || !(rank(w) < st.rank && st.rank < rank(h))) continue;
      if (st.to >= 0 && st.to < wait.seq) continue;
      const from = Math.max(st.from, wait.seq);
      const causes: Cause[] = [
        { seq: wait.seq, why: `tid ${h.tid} (${prioText(h)}) waits for ${wait.what}` },
        {
          seq: from,
          why: `tid ${mt} (${st.prio}) runs while tid ${w.tid} (${prioText(w)}), ready, cannot`,
        },
      ];
      return {
        message: `tid ${h.tid} (pid ${h.pid}, ${prioText(h)}) waited for ${wait.what} from seq ${wait.seq} until tid ${w.tid} (${prioText(w)}) woke it here; tid ${mt} (${st.prio}) ran ${st.to < 0 ? `from seq ${from} on` : `from seq ${from} to ${st.to}`} while tid ${w.tid} was ready and could not: a priority inversion through a wakeup (a ${wait.what.split(" ")[0]} has no owner, so priority inheritance cannot lend tid ${w.tid} the waiter's priority: run the waker at it)`,
        causes: causes.filter((c) => c.seq >= 0 && c.seq < ev.seq).sort((a, b) => a.seq - b.seq),
      };
    }
    return null;
  }
}

export const wakeupInversion: Invariant = {
  name: "wakeup-inversion",
  doc: "A priority inversion through a wakeup: a thread waiting on a condition variable, semaphore, futex word or pipe is woken by a lower-priority thread that was ready but kept from running, while it waited, by a thread of a priority between the two. Judged at the wake (who ends a wait is known only then); such an object has no owner, so priority inheritance cannot prevent it (run the signaller at the waiter's priority instead). Lock handoffs are priority-inversion's.",
  kinds: [KIND.futexWait, KIND.pipeWait, KIND.switch, KIND.wake, KIND.threadExit, KIND.schedSet],
  // No thread is ranked before the first sched-set: nothing to keep or find until then (see the file comment).
  reports: [KIND.schedSet],
  armed: {
    by: [KIND.schedSet],
    test(s) {
      for (const t of s.threads.values()) if (rank(t) > 0) return true;
      return false;
    },
  },
  monitor: () => new WakeupInversionMonitor(),
};
