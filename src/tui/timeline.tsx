// The timeline: one bar across the terminal for the whole trace, with the
// cursor, snapshots (┴), missing events of a damaged trace (░), watchpoint hits (◆), invariant violations (!) and the panic/fatal/hang point (✖); under it, the start, the cursor's
// seq and the last seq. Costs O(width + snapshots + hits) per frame.

import { Box, Text } from 'ink';
import { formatCount, type Marks } from './frame.ts';

export interface TimelineProps {
  readonly seq: number;
  readonly total: number;
  readonly snapshotSeqs: readonly number[];
  readonly marks: Marks;
  readonly width: number;
}

type Style = 'bar' | 'snap' | 'gap' | 'watch' | 'violation' | 'failure';

/** One cell of the bar. */
export interface Cell {
  readonly ch: string;
  readonly style: Style;
  readonly cursor: boolean;
}

/** Column of a position (-1..total-1) on a bar `width` cells wide. */
export function columnOf(pos: number, total: number, width: number): number {
  if (width <= 1) return 0;
  const n = total + 1; // positions, counting the initial state
  return Math.max(0, Math.min(width - 1, Math.floor(((pos + 1) * width) / n)));
}

const RANK: { readonly [S in Style]: number } = { bar: 0, snap: 1, gap: 2, watch: 3, violation: 4, failure: 5 };
const GLYPH: { readonly [S in Style]: string } = { bar: '─', snap: '┴', gap: '░', watch: '◆', violation: '!', failure: '✖' };

/** The bar as cells (pure; the view only colours them). */
export function timelineCells(p: Omit<TimelineProps, 'width'> & { width: number }): Cell[] {
  const w = Math.max(1, p.width);
  const styles: Style[] = new Array<Style>(w).fill('bar');
  const put = (pos: number, s: Style) => {
    const c = columnOf(pos, p.total, w);
    if (RANK[s] > RANK[styles[c]!]) styles[c] = s;
  };
  for (const s of p.snapshotSeqs) if (s >= 0) put(s, 'snap');
  for (const g of p.marks.gaps ?? []) {
    const to = columnOf(g.toSeq, p.total, w);
    for (let c = columnOf(g.fromSeq, p.total, w); c <= to; c++) if (RANK.gap > RANK[styles[c]!]) styles[c] = 'gap';
  }
  for (const h of p.marks.watchHits) put(h, 'watch');
  for (const v of p.marks.violations ?? []) put(v, 'violation');
  if (typeof p.marks.violation === 'number') put(p.marks.violation, 'violation');
  if (p.marks.failure !== null) put(p.marks.failure, 'failure');
  const cur = columnOf(p.seq, p.total, w);
  return styles.map((s, i) => ({ ch: GLYPH[s], style: s, cursor: i === cur }));
}

/** The label line: start at the left, the cursor's seq under it, the last seq at the right. */
export function timelineLabels(seq: number, total: number, width: number): string {
  return labelLine(seq, total, width).line;
}

/** The label line and where the cursor's label is in it. */
function labelLine(seq: number, total: number, width: number): { line: string; at: number; len: number } {
  const w = Math.max(1, width);
  const line = new Array<string>(w).fill(' ');
  const write = (at: number, s: string) => {
    for (let i = 0; i < s.length && at + i < w; i++) if (at + i >= 0) line[at + i] = s[i]!;
  };
  const left = '0';
  const last = total > 0 ? formatCount(total - 1) : '';
  const cur = columnOf(seq, total, w);
  const label = `▲ ${seq < 0 ? 'start' : formatCount(seq)}`;
  // The cursor label starts under the cursor, or ends there when it would run off the right.
  const at = cur + label.length <= w ? cur : Math.max(0, cur - label.length + 1);
  const curEnd = at + label.length;
  if (at > left.length) write(0, left);
  if (total > 0 && curEnd < w - last.length) write(w - last.length, last);
  write(at, label);
  return { line: line.join(''), at, len: label.length };
}

const COLOR: { readonly [S in Style]: string | undefined } = {
  bar: undefined,
  snap: undefined,
  gap: 'yellow',
  watch: 'yellow',
  violation: 'red',
  failure: 'red',
};

function LabelLine({ seq, total, width }: { seq: number; total: number; width: number }) {
  const { line, at, len } = labelLine(seq, total, width);
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

export function Timeline(p: TimelineProps) {
  const cells = timelineCells(p);
  // Runs of equal style, so a frame is a handful of Text nodes, not one per cell.
  const runs: { text: string; style: Style; cursor: boolean }[] = [];
  for (const c of cells) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.style === c.style && last.cursor === c.cursor) last.text += c.ch;
    else runs.push({ text: c.ch, style: c.style, cursor: c.cursor });
  }
  return (
    <Box flexDirection="column" width={p.width}>
      <Text wrap="truncate">
        {runs.map((r, i) =>
          r.cursor ? (
            <Text key={i} color="cyan" bold inverse>
              {r.text}
            </Text>
          ) : (
            <Text key={i} color={COLOR[r.style]} bold={r.style === 'failure' || r.style === 'violation'} dimColor={r.style === 'bar' || r.style === 'snap'}>
              {r.text}
            </Text>
          ),
        )}
      </Text>
      <LabelLine seq={p.seq} total={p.total} width={p.width} />
    </Box>
  );
}
