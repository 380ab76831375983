// The state panes: CPUs, threads, locks, kernel stacks, processes (with their
// VMARs), each a titled table of Rows (rows.ts). Rows marked `bad` (a lock
// whose owner is not in its address space, a CPU on a freed kernel stack, a
// thread nothing can wake any more and the lock or word it waits for) are red,
// counted with ✗ in the pane's title. The focused pane (and the event list, when it has the focus) has
// its whole title line in inverse cyan, starting with ▶, and its selected row
// inverted; the others have a plain title.

import { Box, Text } from "ink";
import { memo } from "react";
import { type Column, cellWidth, fit, row } from "../util/text-table.ts";
import type { Pane, Row } from "./frame.ts";

export interface PaneViewProps {
  readonly pane: Pane;
  readonly width: number;
  /** Lines, including the title and the column header. */
  readonly height: number;
  readonly focused: boolean;
  readonly selected: number;
}

/**
 * Cell widths for a pane `width` cells wide showing `rows`: each column has at
 * least its width in `pane.widths`. The room left goes first to the
 * right-aligned columns (ids: an imported trace's tids have 4-7 digits, cut to
 * "21…" they cannot be told apart), up to their widest cell shown (header
 * included); then to the flex column (state, waits), up to its widest cell;
 * then to the other columns (names), left to right; the flex column takes
 * what is left.
 */
export function columnWidths(pane: Pane, width: number, rows: readonly Row[] = []): number[] {
  const out = [...pane.widths];
  let room = width - (out.length - 1) - out.reduce((a, w) => a + w, 0);
  const need = (i: number) => {
    let n = cellWidth(pane.columns[i] ?? "");
    for (const r of rows) n = Math.max(n, cellWidth(r.cells[i] ?? ""));
    return n;
  };
  const grow = (i: number, upTo: number) => {
    const g = Math.min(room, upTo - out[i]!);
    if (g > 0) {
      out[i] = out[i]! + g;
      room -= g;
    }
  };
  for (let i = 0; i < out.length; i++) if (i !== pane.flex && pane.align[i] === "right") grow(i, need(i));
  const flexNeed = need(pane.flex);
  const reserve = Math.max(0, Math.min(room, flexNeed - out[pane.flex]!));
  room -= reserve;
  for (let i = 0; i < out.length; i++) if (i !== pane.flex && pane.align[i] !== "right") grow(i, need(i));
  out[pane.flex] = out[pane.flex]! + reserve + Math.max(0, room);
  return out;
}

/** One table line of a pane: each cell cut or padded to its column, by cell width; the line fitted to `width`. */
export function tableLine(cells: readonly string[], pane: Pane, widths: readonly number[], width: number): string {
  const columns: Column[] = widths.map((w, i) => ({ width: w, align: pane.align[i] ?? "left" }));
  return fit(row(cells, columns, { cut: true }), width);
}

export interface PaneTitleProps {
  readonly title: string;
  /** Dim text after the title (a count, the position). */
  readonly detail: string;
  /** Red text after that (how many rows are broken), or "". */
  readonly alert?: string;
  readonly width: number;
  readonly focused: boolean;
}

/** A pane's title line: plain, or for the focused pane ▶ and the whole line in inverse cyan. */
export function PaneTitle({ title, detail, alert = "", width, focused }: PaneTitleProps) {
  const head = `${focused ? "▶" : " "}${title} `;
  const rest = ` ${detail}`;
  if (!focused) {
    return (
      <Text wrap="truncate">
        <Text bold>{head}</Text>
        <Text dimColor>{rest}</Text>
        {alert !== "" ? (
          <Text color="red" bold>
            {alert}
          </Text>
        ) : null}
      </Text>
    );
  }
  const fill = Math.max(0, width - cellWidth(head + rest + alert));
  return (
    <Text wrap="truncate" inverse>
      <Text bold color="cyan">
        {head}
      </Text>
      <Text color="cyan">{rest}</Text>
      {alert !== "" ? (
        <Text color="red" bold>
          {alert}
        </Text>
      ) : null}
      <Text color="cyan">{" ".repeat(fill)}</Text>
    </Text>
  );
}

/** Index of the first row shown so that `selected` is visible in `visible` rows. */
export function firstRow(selected: number, count: number, visible: number): number {
  if (count <= visible) return 0;
  const start = selected - Math.floor(visible / 2);
  return Math.max(0, Math.min(start, count - visible));
}

function rowColor(r: Row): string | undefined {
  return r.mark === "bad" ? "red" : r.mark === "warn" ? "yellow" : undefined;
}

function PaneViewImpl({ pane, width, height, focused, selected }: PaneViewProps) {
  const inner = Math.max(1, width - 1); // one column of gap on the right
  const visible = Math.max(0, height - 2);
  const start = firstRow(selected, pane.rows.length, visible);
  const shown = pane.rows.slice(start, start + visible);
  const widths = columnWidths(pane, inner, shown);
  const bad = pane.rows.filter((r) => r.mark === "bad").length;
  const more =
    pane.rows.length > visible ? `${start + 1}-${start + shown.length}/${pane.rows.length}` : `${pane.rows.length}`;
  return (
    <Box flexDirection="column" width={width} height={height}>
      <PaneTitle title={pane.title} detail={more} alert={bad > 0 ? ` ✗${bad}` : ""} width={inner} focused={focused} />
      <Text dimColor wrap="truncate">
        {tableLine(pane.columns, pane, widths, inner)}
      </Text>
      {shown.map((r, i) => {
        const isSel = focused && start + i === selected;
        return (
          <Text
            key={`${r.ref.kind}:${r.ref.id}`}
            wrap="truncate"
            color={rowColor(r)}
            dimColor={r.mark === "dim" && !isSel}
            inverse={isSel}
          >
            {tableLine(r.cells, pane, widths, inner)}
          </Text>
        );
      })}
    </Box>
  );
}

/** A pane; re-rendered only when its props change (the engine reuses unchanged Pane objects). */
export const PaneView = memo(PaneViewImpl);
