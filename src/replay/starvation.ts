// The no-starvation invariant (opt-in): a thread that keeps losing the race for
// what it waits on while the others make progress. Writer starvation on a
// reader-preferring rwlock, a consumer whose wakeups other consumers always
// steal, a waiter a futex-based mutex always passes over: the run goes on (others mark progress, so
// it is no livelock) and ends at the event budget with one thread that has not
// made progress for a long time although it had every chance to compete.
//
// Judged at the end of a run cut by the budget (outcome `budget`: a run that
// ends by itself, or hangs, is judged by the other invariants), against the
// run's history: a monitor. What it keeps, per thread (bounded by the threads):
//   - the seq of its last `progress` event;
//   - the seqs of its last LOSSES lost races since that progress: a futex wait
//     (a condition variable, a semaphore, a read-write lock, a futex word: a
//     user-space mutex) it began after a wakeup it got since its previous wait
//     of that word (it was woken, and what it was woken for was gone when it
//     ran: it waits again). The kernel's own mutexes and spinlocks hand off as
//     the simulator models them (a released lock's waiters are woken and the
//     next owner is decided by who runs first), and are not judged: a waiter
//     passed over there is priority-inversion's or wakeup-inversion's case.
// At the end, with W the window (rules.starvationWindow, else the progress
// window, PROGRESS_WINDOW; at most half the run): the first live thread, by
// tid, with no progress in the last W events, a lost race in them, while
// another thread made progress in them. A thread that never competes (a main
// thread joining workers that run for ever, a consumer with nothing to
// consume) loses no race and is not judged: starvation is losing, not waiting.
// A run whose monitor did not see the whole window (it began mid-run) is not
// judged: it may miss a starvation, never report one that did not happen.

import { PROGRESS_WINDOW } from "../kernel/params.ts";
import { HOW, type KEvent, KIND, type KState, OUTCOME_KINDS } from "../kernel/types.ts";
import { syncText } from "./describe.ts";
import type { Cause, Finding, Invariant, Monitor } from "./invariants.ts";

/** Lost races kept per thread (the last ones): the message counts those in the window, at most this many. */
const LOSSES = 64;
const BUDGET = OUTCOME_KINDS.indexOf("budget");

/** A thread's record since its last progress. */
interface Record {
  /** Seq of its last progress event, -1 none. */
  progress: number;
  /** Its lost races since then, oldest first (at most LOSSES: the last ones), and what each was for. */
  lost: number[];
  what: string[];
  /** The futex word its last futex wait was on, -1 none; the wakeup it had when it began that wait (-1 none). */
  word: number;
  wokenAt: number;
}

class StarvationMonitor implements Monitor {
  private readonly threads = new Map<number, Record>();
  /** The first seq this monitor saw (it judges only a window it saw whole). */
  private first = -1;

  private of(tid: number): Record {
    let r = this.threads.get(tid);
    if (r === undefined) {
      r = { progress: -1, lost: [], what: [], word: -1, wokenAt: -1 };
      this.threads.set(tid, r);
    }
    return r;
  }

  private lose(r: Record, seq: number, what: string): void {
    if (r.lost.length === LOSSES) {
      r.lost.shift();
      r.what.shift();
    }
    r.lost.push(seq);
    r.what.push(what);
  }

  pre(s: KState, ev: KEvent): Finding | null {
    if (this.first < 0) this.first = ev.seq;
    switch (ev.kind) {
      case KIND.progress: {
        const r = this.of(ev.tid);
        r.progress = ev.seq;
        r.lost.length = 0;
        r.what.length = 0;
        r.word = -1;
        r.wokenAt = -1;
        return null;
      }
      case KIND.futexWait: {
        const th = s.threads.get(ev.tid);
        if (th === undefined) return null;
        const r = this.of(ev.tid);
        const woken = th.woken !== undefined && th.woken.how === HOW.futex ? th.woken.seq : -1;
        // Woken since its previous wait on this word, and waiting on it again: what it was woken for was taken.
        if (r.word === ev.a && woken > r.wokenAt && woken > r.progress) this.lose(r, ev.seq, syncText(s, ev.a));
        r.word = ev.a;
        r.wokenAt = woken;
        return null;
      }
      case KIND.end:
        return ev.a === BUDGET ? this.judge(s, ev) : null;
      default:
        return null;
    }
  }

  private judge(s: KState, ev: KEvent): Finding | null {
    const asked = s.config.starvationWindow;
    const window = Math.max(1, Math.min(asked ?? PROGRESS_WINDOW, Math.floor(ev.seq / 2)));
    const from = ev.seq - window;
    if (this.first > Math.max(0, from)) return null;
    const progressed = [...this.threads].filter(([, r]) => r.progress >= from).map(([tid]) => tid);
    if (progressed.length === 0) return null; // no progress at all: no-livelock's
    const tids = [...s.threads.values()]
      .filter((t) => t.state !== "exited")
      .map((t) => t.tid)
      .sort((a, b) => a - b);
    for (const tid of tids) {
      const r = this.threads.get(tid);
      if (r === undefined || r.progress >= from) continue;
      const k = r.lost.findIndex((q) => q >= from);
      if (k < 0) continue;
      const n = r.lost.length - k;
      const others = progressed.filter((t) => t !== tid).sort((a, b) => a - b);
      if (others.length === 0) continue;
      const last = r.lost[r.lost.length - 1]!;
      const what = r.what[r.what.length - 1]!;
      const since = r.progress >= 0 ? `since seq ${r.progress} (${ev.seq - r.progress} events)` : "in the whole run";
      const th = s.threads.get(tid)!;
      const causes: Cause[] = [];
      if (r.progress >= 0) causes.push({ seq: r.progress, why: `tid ${tid}'s last progress` });
      causes.push({
        seq: r.lost[k]!,
        why: `tid ${tid} loses ${r.what[k]} here (the first time in the last ${window} events)`,
      });
      if (last !== r.lost[k]) causes.push({ seq: last, why: `tid ${tid} loses ${what} here (the last time)` });
      const lastOther = Math.max(...others.map((t) => this.threads.get(t)!.progress));
      causes.push({ seq: lastOther, why: "another thread's last progress" });
      return {
        message: `tid ${tid} (pid ${th.pid}) starves: no progress ${since}, while tid${others.length > 1 ? "s" : ""} ${others.join(", ")} made progress in the last ${window} events; it lost the race for ${what} ${n >= LOSSES ? `${LOSSES} times or more` : `${n} time${n === 1 ? "" : "s"}`} in them (the last at seq ${last})`,
        causes: causes.sort((a, b) => a.seq - b.seq),
      };
    }
    return null;
  }
}

export const noStarvation: Invariant = {
  name: "no-starvation",
  doc: "Opt-in (a scenario sets rules: { starvationCheck: true }, or `--also no-starvation`): at the end of a run cut by the event budget, no live thread has gone the last window of events (rules.starvationWindow, else the progress window: 10,000 events, at most half the run) without a progress mark while other threads made progress, losing the race for what it waits on in that time (woken from a futex wait, a condition variable, semaphore, read-write lock or futex word, and waiting on the same word again: what it was woken for was taken first). Writer starvation on a reader-preferring rwlock, stolen wakeups.",
  kinds: [KIND.progress, KIND.futexWait, KIND.end],
  optIn: "starvationCheck",
  monitor: () => new StarvationMonitor(),
};
