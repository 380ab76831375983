// What the replay UI asks of the exploration commands (its Explorer,
// src/tui/engine.ts; the CLI hands this over, since the UI only reads traces):
// the decisions the failure hinges on, marked on the timeline, and what-if
// branches taken at the cursor (x), written to trace files it then opens.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventOrNull } from "../replay/index.ts";
import { BranchError, openRun, type RunResult, reopen, type TraceRun } from "./branch.ts";
import { pivotLimit, pivots } from "./pivots.ts";
import { branchAt, outcomeWords, type ResolvedChange, resolveChange } from "./whatif.ts";

/** Events re-simulated at most for the timeline's pivots (about half a second): on a long trace only the latest decisions are flipped. */
export const UI_PIVOT_BUDGET = 1_000_000;

/** The branch as the UI shows it, or why there is none. */
export type BranchAnswer = { path: string; change: string; outcome: string } | { error: string };

/** The explorer of the trace at `path`: opened (and run again from its decisions) on first use. */
export function traceExplorer(path: string): { pivots(): readonly number[] | null; branch(seq: number): BranchAnswer } {
  let opened: { tr: TraceRun; base: RunResult; cpus: Map<number, number> } | string | null = null;
  /** The timing multiplier that avoids the failure, per pivot step's seq (x there flips to it). */
  const avoid = new Map<number, number>();
  let dir: string | null = null;
  const open = () => {
    if (opened !== null) return opened;
    try {
      const { src, tr } = openRun(path);
      try {
        const base = reopen(src, tr).base;
        // The cpu of each event the UI may branch at: the scheduling points and step ends of the decisions.
        const cpus = new Map<number, number>();
        for (const d of base.decisions ?? []) {
          const ev = d.seq >= 0 && d.seq < src.eventCount ? eventOrNull(src, d.seq) : null;
          if (ev) cpus.set(d.seq, ev.cpu);
        }
        opened = { tr, base, cpus };
      } finally {
        src.close();
      }
    } catch (e) {
      if (!(e instanceof BranchError) && !(e instanceof Error && "exitCode" in e)) throw e;
      opened = e instanceof Error ? e.message : String(e);
    }
    return opened;
  };
  /**
   * The change x makes at seq: the natural flip of a scheduling point; at any
   * other step, its timing (to the multiplier that avoids the failure at a
   * pivot, else the other extreme).
   */
  const changeAt = (base: RunResult, seq: number, cpu: number): ResolvedChange => {
    try {
      return resolveChange(base, { at: seq }, cpu);
    } catch (e) {
      const t = (base.decisions ?? []).find((d) => d.kind === "timing" && d.seq >= seq && d.cpu === cpu);
      if (!(e instanceof BranchError) || t === undefined) throw e;
      return resolveChange(base, { at: seq, cost: avoid.get(t.seq) ?? (t.value <= 2 ? 4 : 1) }, cpu);
    }
  };
  return {
    pivots() {
      const o = open();
      if (typeof o === "string" || o.base.failure === null) return null;
      const ps = pivots(o.tr, o.base, pivotLimit(o.base.events, UI_PIVOT_BUDGET)).pivots;
      for (const p of ps) if (p.decision.kind === "timing") avoid.set(p.decision.seq, p.avoid[0]!.value);
      return ps.map((p) => p.decision.seq);
    },
    branch(seq) {
      const o = open();
      if (typeof o === "string") return { error: `no what-if: ${o}` };
      try {
        const change = changeAt(o.base, seq, o.cpus.get(seq) ?? -1);
        dir ??= mkdtempSync(join(tmpdir(), "ktrace-whatif-"));
        const out = join(dir, `whatif-${seq}.ktrace`);
        const { branch } = branchAt(o.tr, o.base, change, seq, out, `whatif ${path} --at ${seq}`);
        return { path: out, change: change.text, outcome: outcomeWords(o.base, branch) };
      } catch (e) {
        if (e instanceof BranchError) return { error: e.message };
        throw e;
      }
    },
  };
}
