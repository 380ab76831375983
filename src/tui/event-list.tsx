// The event list: the events around the cursor, one line each (seq, cpu, tid,
// kind, a readable description), coloured by kind; the cursor's line is
// highlighted. Reads only the Frame's window of events, never the trace.

import { Box, Text } from "ink";
import { fit } from "../util/text-table.ts";
import { type EventRow, formatCount, type Marks } from "./frame.ts";
import { kindColor, kindDim } from "./kinds.ts";
import { PaneTitle } from "./state-panes.tsx";

export interface EventListProps {
  /** Events around the cursor (Frame.events). */
  readonly events: readonly EventRow[];
  readonly seq: number;
  readonly total: number;
  readonly marks: Marks;
  /** Lines, including the title line. */
  readonly height: number;
  readonly width: number;
  readonly focused: boolean;
}

/** First position (-1 = the start row) shown when `rows` lines show the cursor at `seq`. */
export function firstShown(seq: number, total: number, rows: number): number {
  const above = Math.floor((rows - 1) / 2);
  let first = seq - above;
  first = Math.min(first, total - rows); // keep the list full at the end
  return Math.max(-1, first);
}

export interface EventLine {
  readonly pos: number;
  readonly text: string;
  readonly cursor: boolean;
  readonly color: string | undefined;
  readonly dim: boolean;
  readonly mark: string;
  readonly markColor: string | undefined;
}

/** The event lines (without the title), pure. */
export function eventLines(p: Omit<EventListProps, "height" | "focused"> & { rows: number }): EventLine[] {
  const rows = Math.max(0, p.rows);
  const first = firstShown(p.seq, p.total, rows);
  const byPos = new Map<number, EventRow>();
  for (const e of p.events) byPos.set(e.seq, e);
  const sw = Math.max(3, String(Math.max(0, p.total - 1)).length);
  const hits = new Set(p.marks.watchHits);
  const broken = new Set(p.marks.violations ?? []);
  if (typeof p.marks.violation === "number") broken.add(p.marks.violation);
  const out: EventLine[] = [];
  // marker(1) seq(sw) ' ' cpu(cw) ' ' tid(tw) ' ' kind(12) ' ' text(rest); cpu and tid as wide as the events
  // shown need (an imported trace's tids have up to 7 digits), growing by at most a third of the line past 40 cells.
  const kw = p.width >= 56 ? 12 : 9;
  let cw = 3;
  let tw = 4;
  for (const e of p.events) {
    cw = Math.max(cw, e.cpu < 0 ? 1 : String(e.cpu).length + 1);
    tw = Math.max(tw, e.tid < 0 ? 1 : String(e.tid).length + 1);
  }
  const spare = Math.max(0, Math.floor((p.width - 40) / 3));
  tw = Math.min(tw, 4 + spare);
  cw = Math.min(cw, 3 + Math.max(0, spare - (tw - 4)));
  const restW = Math.max(0, p.width - (1 + sw + 1 + cw + 1 + tw + 1 + kw + 1));
  for (let i = 0; i < rows; i++) {
    const pos = first + i;
    if (pos >= p.total) break;
    const cursor = pos === p.seq;
    if (pos < 0) {
      out.push({
        pos,
        cursor,
        color: undefined,
        dim: !cursor,
        mark: cursor ? "▶" : " ",
        markColor: "cyan",
        text: fit(`${fit("-1", sw, "right")}  start: the initial state, before event 0`, p.width - 1),
      });
      continue;
    }
    const e = byPos.get(pos);
    if (e === undefined) {
      out.push({
        pos,
        cursor,
        color: undefined,
        dim: true,
        mark: " ",
        markColor: undefined,
        text: fit(`${fit(String(pos), sw, "right")} …`, p.width - 1),
      });
      continue;
    }
    let mark = " ";
    let markColor: string | undefined;
    if (pos === p.marks.failure) [mark, markColor] = ["✖", "red"];
    else if (broken.has(pos)) [mark, markColor] = ["!", "red"];
    else if (hits.has(pos)) [mark, markColor] = ["◆", "yellow"];
    if (cursor) [mark, markColor] = ["▶", "cyan"];
    const cpu = e.cpu < 0 ? "-" : `c${e.cpu}`;
    const tid = e.tid < 0 ? "-" : `t${e.tid}`;
    const text = `${fit(String(pos), sw, "right")} ${fit(cpu, cw)} ${fit(tid, tw)} ${fit(e.kindName, kw)} ${fit(e.text, restW)}`;
    out.push({ pos, cursor, color: kindColor(e.kind), dim: kindDim(e.kind) && !cursor, mark, markColor, text });
  }
  return out;
}

export function EventList(p: EventListProps) {
  const lines = eventLines({ ...p, rows: p.height - 1 });
  const where = p.seq < 0 ? "at the start" : `seq ${formatCount(p.seq)} of ${formatCount(p.total)}`;
  return (
    <Box flexDirection="column" width={p.width} height={p.height}>
      <PaneTitle title="Events" detail={where} width={p.width} focused={p.focused} />
      {lines.map((l) => (
        <Text key={l.pos} wrap="truncate">
          <Text color={l.markColor} bold>
            {l.mark}
          </Text>
          <Text color={l.color} dimColor={l.dim} inverse={l.cursor} bold={l.cursor}>
            {l.text}
          </Text>
        </Text>
      ))}
    </Box>
  );
}
