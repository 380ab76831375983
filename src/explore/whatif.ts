// What if (ktrace whatif): one scheduling decision of a trace changed, the
// run simulated again following the original decisions everywhere else
// (guided.ts: each thread keeps its own preemption points and step timings;
// where the original has no answer, the trace's strategy answers).
//
// At a scheduling point (a free cpu picking among ready threads, or the
// scheduler considering a preemption) the change runs another thread there,
// or preempts, or does not. `cost` changes the timing of the step at an
// event instead (on several cpus, timing decides which cpu acts first);
// `drain`, under tso, whether a thread's oldest buffered store reaches
// memory at a drain question.

import { KIND } from "../kernel/index.ts";
import { record } from "../record/index.ts";
import { BranchError, failureText, fallbackOf, type RunResult, rerun, sameFailure, type TraceRun } from "./branch.ts";
import { type Change, changeOf, type Decision, GuidedChooser, keyOf, toVar } from "./strategies/index.ts";
import { runnableOf } from "./trace-out.ts";

/** What to change at `at`. With none of run / preempt / cost, the natural flip of the scheduling point. */
export interface WhatIfRequest {
  at: number;
  /** Run this thread at the scheduling point. */
  run?: number;
  /** true: preempt the running thread here; false: do not. */
  preempt?: boolean;
  /** The step at `at` costs this many times its base cost (1..4). */
  cost?: number;
  /** tso: at the drain question at `at`, true: the thread's oldest buffered store reaches memory; false: it stays buffered. */
  drain?: boolean;
}

/** The change, resolved against the original run's decisions. */
export interface ResolvedChange {
  changes: Change[];
  /** The decision changed (for a preempt-and-run, the preemption question). */
  decision: Decision;
  /** One line: what was, what will be. */
  text: string;
  /** The branch must show this thread taking a cpu at `at` (a preempt-and-run whose pick is checked afterwards). */
  expectRun?: number;
}

/** Whether a decision is one what-if changes by --run / --preempt: a pick or a preemption question (not timing, nor a tso drain). */
const isPoint = (d: Decision) => d.kind === "pick" || d.kind === "preempt";

/** Scheduling points (picks, preemption questions) of a run, by seq. */
function pointsAt(ds: readonly Decision[], seq: number): Decision[] {
  return ds.filter((d) => d.seq === seq && isPoint(d));
}

/** A few scheduling points around seq, as text: "12 (tid 1 not preempted), 45 (tid 2 preempted)". */
export function nearbyPoints(ds: readonly Decision[], seq: number, n = 3): string {
  const pts = ds.filter(isPoint);
  const seqs = [...new Set(pts.map((d) => d.seq))];
  const before = seqs.filter((s) => s < seq).slice(-n);
  const after = seqs.filter((s) => s > seq).slice(0, n);
  const label = (s: number) => {
    const here = pts.filter((d) => d.seq === s);
    const p = here.find((d) => d.kind === "preempt");
    const k = here.find((d) => d.kind === "pick");
    const parts: string[] = [];
    if (p) parts.push(p.value === 1 ? `tid ${p.tid} preempted` : `tid ${p.tid} could be preempted`);
    if (k) parts.push(`cpu ${k.cpu} picks among tids ${(k.options ?? []).join(", ")}`);
    return `${s} (${parts.join("; ")})`;
  };
  const list = [...before, ...after].map(label);
  return list.length > 0
    ? list.join(", ")
    : "none (no thread was ever picked among others or considered for preemption)";
}

/** The timing draw of the step that emitted event `seq` (on `cpu`). */
function timingOf(ds: readonly Decision[], seq: number, cpu: number): Decision | undefined {
  return ds.find((d) => d.kind === "timing" && d.seq >= seq && d.cpu === cpu);
}

/**
 * Resolves a what-if request against the original run's decisions.
 * `eventCpu` is the cpu of the event at `at` (for --cost), `eventKind` its
 * kind when known (a switch that was no choice is named as such). Throws
 * BranchError (exit 2) when `at` is not a point where the change can be
 * made, naming nearby scheduling points.
 */
export function resolveChange(
  base: RunResult,
  req: WhatIfRequest,
  eventCpu: number,
  eventKind?: number,
): ResolvedChange {
  const ds = base.decisions ?? [];
  const at = req.at;
  const notPoint = (why: string): never => {
    throw new BranchError(
      `seq ${at} ${why}; nearby scheduling points: ${nearbyPoints(ds, at)}${req.cost === undefined ? `; or change the timing of the step at ${at} with --cost 1..4` : ""}`,
    );
  };
  if (req.drain !== undefined) {
    if (req.run !== undefined || req.preempt !== undefined || req.cost !== undefined)
      throw new BranchError("--drain and --no-drain change a store buffer's drain: give one alone");
    const drains = ds.filter((d) => d.kind === "drain");
    const want = req.drain ? 1 : 0;
    // Under pso a step asks one question per buffered variable until a yes: the first answered the other way.
    const here = drains.filter((x) => x.seq === at);
    const d = here.find((x) => x.value !== want) ?? here[0];
    if (d === undefined) {
      const near = [...new Set(drains.map((x) => x.seq))];
      const list = [...near.filter((q) => q < at).slice(-3), ...near.filter((q) => q > at).slice(0, 3)];
      throw new BranchError(
        drains.length === 0
          ? `seq ${at}: the run asked no drain question (it ran under sc, or no thread had a buffered store at a step): --drain and --no-drain are for tso and pso runs`
          : `seq ${at} is not a drain question (a step of a thread with buffered stores, under tso or pso); nearby: ${list.join(", ")}`,
      );
    }
    if (d.value === want)
      throw new BranchError(
        `at seq ${at} tid ${d.tid}'s oldest buffered store${toVar(d)} already ${want === 1 ? "reached memory" : "stayed buffered"}; nothing to change`,
      );
    return {
      changes: [changeOf(d, want)],
      decision: d,
      text: `tid ${d.tid}'s oldest buffered store${toVar(d)} ${want === 1 ? "reaches memory" : "stays buffered"} at seq ${at} (it ${d.value === 1 ? "reached memory" : "stayed buffered"})`,
    };
  }
  if (req.cost !== undefined) {
    if (req.run !== undefined || req.preempt !== undefined)
      throw new BranchError("--cost changes timing: give it alone, not with --run, --preempt or --no-preempt");
    if (!Number.isInteger(req.cost) || req.cost < 1 || req.cost > 4)
      throw new BranchError(`--cost must be 1..4 (times the step's base cost), got ${req.cost}`);
    const t = eventCpu >= 0 ? timingOf(ds, at, eventCpu) : undefined;
    if (!t) notPoint("is not a step of a cpu (no timing draw follows it)");
    if (t!.value === req.cost)
      throw new BranchError(
        `the step at seq ${at} already took ${req.cost}× its base cost (seq ${t!.seq}); nothing to change`,
      );
    return {
      changes: [changeOf(t!, req.cost)],
      decision: t!,
      text: `the step of ${t!.tid >= 0 ? `tid ${t!.tid}` : "the idle cpu"} on cpu ${t!.cpu} at seq ${at} takes ${req.cost}× its base cost (it took ${t!.value}×)`,
    };
  }
  const here = pointsAt(ds, at);
  const pre = here.find((d) => d.kind === "preempt");
  const pick = here.find((d) => d.kind === "pick");
  if (here.length === 0 && eventKind === KIND.switch) {
    notPoint(
      "is not a scheduling point (a switch the kernel's rules made, not a decision: only one thread could run, the thread blocked, exited or spun on a held lock, or a thread of a higher priority was ready: the scheduling policy, which no strategy overrides)",
    );
  }
  if (here.length === 0)
    notPoint("is not a scheduling point (no thread was picked among others and no preemption was considered there)");
  if (req.preempt === false) {
    if (pre?.value !== 1)
      notPoint(
        `is not a preemption (${pre ? `tid ${pre.tid} was not preempted there` : "no preemption was considered there"})`,
      );
    if (req.run !== undefined)
      throw new BranchError("--no-preempt keeps the running thread: give --run only at a pick or a preemption");
    return {
      changes: [changeOf(pre!, 0)],
      decision: pre!,
      text: `tid ${pre!.tid} is not preempted at seq ${at} (it was)`,
    };
  }
  if (req.run !== undefined) {
    const tid = req.run;
    if (pick) {
      const opts = pick.options ?? [];
      if (tid === pick.value)
        throw new BranchError(
          `tid ${tid} is the thread cpu ${pick.cpu} took at seq ${at} already; pick another of ${opts.join(", ")}`,
        );
      if (!opts.includes(tid))
        throw new BranchError(
          `tid ${tid} was not ready at seq ${at}: cpu ${pick.cpu} chose among tids ${opts.join(", ")}`,
        );
      return {
        changes: [changeOf(pick, tid)],
        decision: pick,
        text: `cpu ${pick.cpu} takes tid ${tid} at seq ${at} (it took tid ${pick.value})`,
      };
    }
    if (pre && pre.value === 0) {
      if (tid === pre.tid)
        throw new BranchError(
          `tid ${tid} is the thread running on cpu ${pre.cpu} at seq ${at}; name another thread to run there`,
        );
      // Preempt, and have the pick that follows take tid: the next pick on this cpu.
      const nth = ds.filter((d) => d.kind === "pick" && d.cpu === pre.cpu && d.seq < at).length;
      return {
        changes: [changeOf(pre, 1), { kind: "pick", key: keyOf("pick", pre.cpu, -1), nth, value: tid }],
        decision: pre,
        text: `tid ${pre.tid} is preempted on cpu ${pre.cpu} at seq ${at} and tid ${tid} runs`,
        expectRun: tid,
      };
    }
    throw new BranchError(
      `tid ${tid} could not run at seq ${at}: only one thread was ready to take cpu ${pre!.cpu} from the preempted tid ${pre!.tid}`,
    );
  }
  if (req.preempt === true) {
    if (pre?.value !== 0)
      notPoint(pre ? `is already a preemption of tid ${pre.tid}` : "is not a point where a preemption was considered");
    return {
      changes: [changeOf(pre!, 1)],
      decision: pre!,
      text: `tid ${pre!.tid} is preempted on cpu ${pre!.cpu} at seq ${at} (it was not)`,
    };
  }
  // The natural flip: undo a preemption, else take the next other thread, else preempt.
  if (pre && pre.value === 1)
    return {
      changes: [changeOf(pre, 0)],
      decision: pre,
      text: `tid ${pre.tid} is not preempted at seq ${at} (it was)`,
    };
  if (pick) {
    const opts = pick.options ?? [];
    const other = opts.find((t) => t !== pick.value)!;
    return {
      changes: [changeOf(pick, other)],
      decision: pick,
      text: `cpu ${pick.cpu} takes tid ${other} at seq ${at} (it took tid ${pick.value})`,
    };
  }
  return {
    changes: [changeOf(pre!, 1)],
    decision: pre!,
    text: `tid ${pre!.tid} is preempted on cpu ${pre!.cpu} at seq ${at} (it was not)`,
  };
}

/**
 * Checks a preempt-and-run branch: the thread asked for took the cpu at the
 * preemption (`switchedTo`: the thread the branch's event at `at` switched
 * to, null when it is not a switch). Throws BranchError naming the threads
 * that were ready when it could not.
 */
export function checkRun(branch: RunResult, c: ResolvedChange, at: number, switchedTo: number | null): void {
  if (c.expectRun === undefined || switchedTo === c.expectRun) return;
  const pick = (branch.decisions ?? []).find((d) => d.kind === "pick" && d.seq === at);
  if (pick)
    throw new BranchError(
      `tid ${c.expectRun} was not ready at seq ${at}: cpu ${pick.cpu} could take tids ${(pick.options ?? []).join(", ")}`,
    );
  throw new BranchError(
    `tid ${c.expectRun} was not ready at seq ${at}: ${switchedTo !== null && switchedTo >= 0 ? `only tid ${switchedTo} could run there` : "no other thread could run there"}`,
  );
}

/**
 * Runs the branch of tr (whose run again is `base`) with `change` made at
 * `at`, checks that a preempt-and-run took effect, and writes the branch's
 * trace to `out` (its header's origin says how it was made). Returns the
 * branch's run and the chooser that made it (what it followed, what the
 * strategy answered).
 */
export function branchAt(
  tr: TraceRun,
  base: RunResult,
  change: ResolvedChange,
  at: number,
  out: string,
  origin: string,
): { branch: RunResult; guided: GuidedChooser } {
  const make = () => new GuidedChooser(base.decisions ?? [], change.changes, fallbackOf(tr));
  const guided = make();
  let to: number | null = null;
  const branch = rerun(tr, guided, {
    annotate: true,
    sink: (e) => {
      if (e.seq === at) to = e.kind === KIND.switch ? e.b : null;
    },
  });
  checkRun(branch, change, at, to);
  record(runnableOf(tr), out, tr.snapshotEvery, make(), origin);
  return { branch, guided };
}

/** How a branch went, in a few words, against the original's failure: "passes (ok, 117 events)", "still fails: …", "fails another way: …". */
export function outcomeWords(base: RunResult, r: RunResult): string {
  if (!r.failure) return `passes (${r.outcome.kind}, ${r.events} events)`;
  const same = base.failure !== null && sameFailure(base.failure, r.failure);
  return `${same ? "still fails" : "fails another way"}: ${failureText(r.failure)}`;
}
