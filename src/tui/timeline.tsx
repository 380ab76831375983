// The timeline: one bar across the terminal for the whole trace, and under it
// the start, the cursor's seq, the scan's progress and the last seq.
//
// Each cell of the bar stands for the events between two positions. What it
// shows, strongest first (LEGEND, which `?` lists):
//   ✖ the panic, fatal error or hang   ! an event that breaks an invariant   ◆ a watchpoint hit
//   ◇ a decision the failure hinges on (Marks.pivots: ktrace pivots)
//   ░ events missing: a damaged trace's gap (Marks.gaps)
//   ▁▂▃▄▅▆▇█ activity: the share of the cell's events that are not routine work
//            (▁ up to 1/8, █ over 7/8), coloured by the kind class most of them
//            are (faults win whenever there is one; colours as in the event list)
//   ─ only routine work (user steps, kernel work, malloc/free)   · not scanned yet
// The cursor's cell is inverted. The data comes from the engine's background
// scan (Overview.density, per bucket of events); this file only maps buckets to
// cells. Costs O(buckets x classes + width) when the overview changes, O(width)
// per move.

import { Box, Text } from "ink";
import { memo, useMemo } from "react";
import { wrap } from "../util/text-table.ts";
import { bucketStart, type Density, formatCount, type Overview } from "./frame.ts";
import { FAULT_CLASS, KIND_CLASSES } from "./kinds.ts";

export interface TimelineProps {
  readonly seq: number;
  readonly total: number;
  readonly overview: Overview;
  readonly width: number;
}

/** What a cell shows, weakest first. A new kind of mark (a gap, a decision) is a row here and in GLYPH/RANK. */
export type Style = "unscanned" | "quiet" | "activity" | "gap" | "pivot" | "watch" | "violation" | "failure";

/** One cell of the bar. */
export interface Cell {
  readonly ch: string;
  readonly style: Style;
  /** Ink colour (activity: its kind class's). */
  readonly color: string | undefined;
  readonly cursor: boolean;
}

const RANK: { readonly [S in Style]: number } = {
  unscanned: 0,
  quiet: 1,
  activity: 2,
  gap: 3,
  pivot: 4,
  watch: 5,
  violation: 6,
  failure: 7,
};
const GLYPH: { readonly [S in Exclude<Style, "activity">]: string } = {
  unscanned: "·",
  quiet: "─",
  gap: "░",
  pivot: "◇",
  watch: "◆",
  violation: "!",
  failure: "✖",
};
const MARK_COLOR: { readonly [S in Style]: string | undefined } = {
  unscanned: undefined,
  quiet: undefined,
  activity: undefined,
  gap: "yellow",
  pivot: "magenta",
  watch: "yellow",
  violation: "red",
  failure: "red",
};
/** Activity levels 1..8. */
const BLOCKS = "▁▂▃▄▅▆▇█";

/** The timeline's legend, as `?` shows it (lines of at most 58 cells). */
export const LEGEND: readonly { readonly glyph: string; readonly text: string }[] = [
  { glyph: "✖", text: "the panic, fatal error or hang" },
  { glyph: "!", text: "an event that breaks an invariant" },
  { glyph: "◆", text: "a watchpoint hit" },
  { glyph: "◇", text: "a decision the failure hinges on (x: what if)" },
  { glyph: "░", text: "events missing: the trace is damaged there" },
  { glyph: "▁…█", text: "activity: share of events not routine (▁ <1/8, █ >7/8)" },
  ...wrap(
    `coloured by the kind most of them are (faults win): ${KIND_CLASSES.filter(
      (c) => !c.routine && c.color !== undefined,
    )
      .map((c) => `${c.color} ${c.short}`)
      .join(", ")}`,
    58,
    "  ",
  ).map((text) => ({ glyph: "", text })),
  { glyph: "─", text: "only routine work: user steps, kernel work, malloc, free" },
  { glyph: "·", text: "not scanned yet (the line below says scanning n%)" },
];

/** Column of a position (-1..total-1) on a bar `width` cells wide. */
export function columnOf(pos: number, total: number, width: number): number {
  if (width <= 1) return 0;
  const n = total + 1; // positions, counting the initial state
  return Math.max(0, Math.min(width - 1, Math.floor(((pos + 1) * width) / n)));
}

/** The cells without the cursor: density and marks (pure; recomputed only when the overview or the width change). */
export function barCells(total: number, overview: Overview, width: number): Omit<Cell, "cursor">[] {
  const w = Math.max(1, width);
  const styles: Style[] = new Array<Style>(w).fill("quiet");
  const colors: (string | undefined)[] = new Array<string | undefined>(w).fill(undefined);
  const chars: string[] = new Array<string>(w).fill(GLYPH.quiet);
  const d = overview.density;
  if (d !== null && d.total === total) density(d, w, styles, colors, chars);
  const put = (pos: number, s: Exclude<Style, "activity">) => {
    if (pos < 0 || pos >= total) return;
    const c = columnOf(pos, total, w);
    if (RANK[s] >= RANK[styles[c]!]) {
      styles[c] = s;
      chars[c] = GLYPH[s];
      colors[c] = MARK_COLOR[s];
    }
  };
  if (d !== null && d.total === total) {
    for (let i = 0; i < d.hitEnds.length; i++) put(d.hitEnds[i]!, "watch");
    for (let i = 0; i < d.violationEnds.length; i++) put(d.violationEnds[i]!, "violation");
  }
  const m = overview.marks;
  for (const g of m.gaps ?? []) {
    const from = Math.max(0, g.fromSeq);
    const to = Math.min(total - 1, g.toSeq);
    for (let c = columnOf(from, total, w), last = columnOf(to, total, w); from <= to && c <= last; c++) {
      if (RANK.gap >= RANK[styles[c]!]) {
        styles[c] = "gap";
        chars[c] = GLYPH.gap;
        colors[c] = MARK_COLOR.gap;
      }
    }
  }
  for (const p of m.pivots ?? []) put(p, "pivot");
  for (const h of m.watchHits) put(h, "watch");
  for (const v of m.violations ?? []) put(v, "violation");
  if (typeof m.violation === "number") put(m.violation, "violation");
  if (m.failure !== null) put(m.failure, "failure");
  return styles.map((s, i) => ({ ch: chars[i]!, style: s, color: colors[i] }));
}

/** Fills the cells' activity from the density's buckets. */
function density(d: Density, w: number, styles: Style[], colors: (string | undefined)[], chars: string[]): void {
  const C = d.classes;
  const events = new Float64Array(w);
  const counts = new Float64Array(w * C);
  const unscanned = new Uint8Array(w);
  for (let b = 0; b < d.buckets; b++) {
    const from = bucketStart(d.total, d.buckets, b);
    const to = bucketStart(d.total, d.buckets, b + 1) - 1;
    if (to < from) continue;
    const c0 = columnOf(from, d.total, w);
    const c1 = columnOf(to, d.total, w);
    if (to >= d.scanned) {
      for (let c = c0; c <= c1; c++) unscanned[c] = 1;
      continue;
    }
    for (let c = c0; c <= c1; c++) {
      for (let k = 0; k < C; k++) {
        const n = d.kinds[b * C + k]!;
        counts[c * C + k] += n;
        events[c] += n;
      }
    }
  }
  const share = new Float64Array(w);
  const top = new Int16Array(w).fill(-1);
  for (let c = 0; c < w; c++) {
    if (unscanned[c] === 1 || events[c] === 0) continue;
    let notable = 0;
    let best = -1;
    for (let k = 0; k < C; k++) {
      if (KIND_CLASSES[k]?.routine === true) continue;
      const n = counts[c * C + k]!;
      notable += n;
      if (n > 0 && (best < 0 || n > counts[c * C + best]!)) best = k;
    }
    if (notable === 0) continue;
    if (C > FAULT_CLASS && counts[c * C + FAULT_CLASS]! > 0) best = FAULT_CLASS;
    share[c] = notable / events[c]!;
    top[c] = best;
  }
  for (let c = 0; c < w; c++) {
    if (unscanned[c] === 1) {
      styles[c] = "unscanned";
      chars[c] = GLYPH.unscanned;
      continue;
    }
    if (top[c]! < 0) continue;
    const level = Math.max(1, Math.min(8, Math.ceil(8 * share[c]!)));
    styles[c] = "activity";
    chars[c] = BLOCKS[level - 1]!;
    colors[c] = KIND_CLASSES[top[c]!]?.color;
  }
}

/** The bar as cells (pure; the view only colours them). */
export function timelineCells(p: TimelineProps): Cell[] {
  return withCursor(barCells(p.total, p.overview, p.width), p.seq, p.total);
}

function withCursor(bar: readonly Omit<Cell, "cursor">[], seq: number, total: number): Cell[] {
  const cur = columnOf(seq, total, bar.length);
  return bar.map((c, i) => ({ ...c, cursor: i === cur }));
}

/** The scan's progress for the label line: "scanning 42%", "hits 10%", or "" when done. */
export function scanText(d: Density | null): string {
  if (d === null || d.total === 0) return "";
  if (d.error !== null) return `scan stopped at seq ${d.scanned}`;
  const pct = (n: number) => `${Math.min(99, Math.floor((100 * n) / d.total))}%`;
  if (d.scanned < d.total) return `scanning ${pct(d.scanned)}`;
  if (d.hitsScanned !== null && d.hitsScanned < d.total) return `hits ${pct(d.hitsScanned)}`;
  return "";
}

/** The label line: start at the left, the cursor's seq under it, the scan's progress, the last seq at the right. */
export function timelineLabels(seq: number, total: number, width: number, scan = ""): string {
  return labelLine(seq, total, width, scan).line;
}

/** The label line and where the cursor's label is in it. */
function labelLine(seq: number, total: number, width: number, scan: string): { line: string; at: number; len: number } {
  const w = Math.max(1, width);
  const line = new Array<string>(w).fill(" ");
  const write = (at: number, s: string) => {
    for (let i = 0; i < s.length && at + i < w; i++) if (at + i >= 0) line[at + i] = s[i]!;
  };
  const left = "0";
  const last = total > 0 ? formatCount(total - 1) : "";
  const cur = columnOf(seq, total, w);
  const label = `▲ ${seq < 0 ? "start" : formatCount(seq)}`;
  // The cursor label starts under the cursor, or ends there when it would run off the right.
  const at = cur + label.length <= w ? cur : Math.max(0, cur - label.length + 1);
  const curEnd = at + label.length;
  const lastAt = total > 0 && curEnd < w - last.length ? w - last.length : w;
  if (at > left.length) write(0, left);
  if (lastAt < w) write(lastAt, last);
  if (scan !== "") {
    // Right, before the last seq; else left, after the 0; else not at all.
    const right = lastAt - 2 - scan.length;
    const leftAt = left.length + 2;
    if (right > curEnd) write(right, scan);
    else if (leftAt + scan.length + 1 < at) write(leftAt, scan);
  }
  write(at, label);
  return { line: line.join(""), at, len: label.length };
}

function LabelLine({ seq, total, width, scan }: { seq: number; total: number; width: number; scan: string }) {
  const { line, at, len } = labelLine(seq, total, width, scan);
  return (
    <Text wrap="truncate">
      <Text dimColor>{line.slice(0, at)}</Text>
      <Text color="cyan" bold>
        {line.slice(at, at + len)}
      </Text>
      <Text dimColor>{line.slice(at + len)}</Text>
    </Text>
  );
}

function TimelineImpl({ seq, total, overview, width }: TimelineProps) {
  const bar = useMemo(() => barCells(total, overview, width), [total, overview, width]);
  const cells = withCursor(bar, seq, total);
  // Runs of equal look, so a frame is a handful of Text nodes, not one per cell.
  const runs: { text: string; style: Style; color: string | undefined; cursor: boolean }[] = [];
  for (const c of cells) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.style === c.style && last.color === c.color && last.cursor === c.cursor)
      last.text += c.ch;
    else runs.push({ text: c.ch, style: c.style, color: c.color, cursor: c.cursor });
  }
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate">
        {runs.map((r, i) =>
          r.cursor ? (
            <Text key={i} color="cyan" bold inverse>
              {r.text}
            </Text>
          ) : (
            <Text
              key={i}
              color={r.color}
              bold={r.style === "failure" || r.style === "violation"}
              dimColor={r.style === "quiet" || r.style === "unscanned"}
            >
              {r.text}
            </Text>
          ),
        )}
      </Text>
      <LabelLine seq={seq} total={total} width={width} scan={scanText(overview.density)} />
    </Box>
  );
}

export const Timeline = memo(TimelineImpl);
