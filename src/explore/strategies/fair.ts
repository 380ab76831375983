// Fairness for the strategies that would otherwise let one thread run forever
// (PCT runs the highest priority; the bounded search preempts only k times):
// a thread that busy-waits on a flag another thread must set (a spin loop in
// the program, not on a lock: the kernel already switches a lock spinner out)
// would starve that thread until the event budget. Like CHESS's fair
// scheduler, a thread that has gone FAIR_STEPS preemption questions in a row
// unpreempted while a queued thread could progress is switched out: PCT drops
// it below every priority, the bounded search preempts it without counting it
// against the bound (and without a choice point). Bugs that need one thread
// to run that long while another waits are out of their reach; docs/EXPLORE.md.

/** Preemption questions in a row a thread may go unpreempted while another could run. */
export const FAIR_STEPS = 512;

export class Fairness {
  private readonly run = new Map<number, { tid: number; n: number }>();

  /** Called at each preemption question where another queued thread could progress; true: switch it out now. */
  starving(cpu: number, tid: number): boolean {
    const r = this.run.get(cpu);
    if (r === undefined || r.tid !== tid) {
      this.run.set(cpu, { tid, n: 1 });
      return false;
    }
    if (++r.n < FAIR_STEPS) return false;
    r.n = 0;
    return true;
  }

  /** The thread on cpu was switched out (preempted, or it gave up the cpu): its count starts again. */
  reset(cpu: number): void {
    this.run.delete(cpu);
  }
}
