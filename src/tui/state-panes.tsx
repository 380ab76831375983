// The state panes: CPUs, threads, locks, kernel stacks, processes (with their
// VMARs), each a titled table of Rows (rows.ts). Rows marked `bad` (a lock
// whose owner is not in its address space, a CPU on a freed kernel stack) are
// red with ✗; the focused pane shows its selected row inverted.

import { memo } from 'react';
import { Box, Text } from 'ink';
import { fit, right } from './frame.ts';
import type { Pane, Row } from './rows.ts';

export interface PaneViewProps {
  readonly pane: Pane;
  readonly width: number;
  /** Lines, including the title and the column header. */
  readonly height: number;
  readonly focused: boolean;
  readonly selected: number;
}

/** Cell widths for a pane `width` cells wide: the flex column takes what the others leave. */
export function columnWidths(pane: Pane, width: number): number[] {
  const fixed = pane.widths.reduce((a, w, i) => (i === pane.flex ? a : a + w), 0) + (pane.widths.length - 1);
  return pane.widths.map((w, i) => (i === pane.flex ? Math.max(w, width - fixed) : w));
}

/** One table line from cells. Numeric-looking cells are right-aligned, except in the flex column. */
export function tableLine(cells: readonly string[], widths: readonly number[], width: number, flex = -1): string {
  const parts = cells.map((c, i) => {
    const w = widths[i] ?? 0;
    return i !== flex && /^-?[0-9]+[✗≠]?$/.test(c) && c.length <= w ? right(c, w) : fit(c, w);
  });
  return fit(parts.join(' '), width);
}

/** Index of the first row shown so that `selected` is visible in `visible` rows. */
export function firstRow(selected: number, count: number, visible: number): number {
  if (count <= visible) return 0;
  const start = selected - Math.floor(visible / 2);
  return Math.max(0, Math.min(start, count - visible));
}

function rowColor(r: Row): string | undefined {
  return r.mark === 'bad' ? 'red' : r.mark === 'warn' ? 'yellow' : undefined;
}

function PaneViewImpl({ pane, width, height, focused, selected }: PaneViewProps) {
  const inner = Math.max(1, width - 1); // one column of gap on the right
  const widths = columnWidths(pane, inner);
  const visible = Math.max(0, height - 2);
  const start = firstRow(selected, pane.rows.length, visible);
  const shown = pane.rows.slice(start, start + visible);
  const bad = pane.rows.filter((r) => r.mark === 'bad').length;
  const more = pane.rows.length > visible ? ` ${start + 1}-${start + shown.length}/${pane.rows.length}` : ` ${pane.rows.length}`;
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text wrap="truncate">
        <Text bold inverse={focused} color={focused ? 'cyan' : undefined}>{` ${pane.title} `}</Text>
        <Text dimColor>{more}</Text>
        {bad > 0 ? <Text color="red" bold>{` ✗${bad}`}</Text> : null}
      </Text>
      <Text dimColor wrap="truncate">
        {tableLine(pane.columns, widths, inner, pane.flex)}
      </Text>
      {shown.map((r, i) => {
        const isSel = focused && start + i === selected;
        return (
          <Text key={`${r.ref.kind}:${r.ref.id}`} wrap="truncate" color={rowColor(r)} dimColor={r.mark === 'dim' && !isSel} inverse={isSel}>
            {tableLine(r.cells, widths, inner, pane.flex)}
          </Text>
        );
      })}
    </Box>
  );
}

/** A pane; re-rendered only when its props change (the controller reuses unchanged Pane objects). */
export const PaneView = memo(PaneViewImpl);
