// The help screen (`?`): every key, generated from the key map, grouped; then
// the timeline's legend (timeline.tsx's LEGEND). Scrolls with ↑/↓ when the
// terminal is too short; two columns when wide.

import { Box, Text } from "ink";
import { fit } from "../util/text-table.ts";
import { type Command, helpSections, type KeyMap } from "./keymap.ts";
import { Title } from "./search.tsx";
import { LEGEND } from "./timeline.tsx";

export interface HelpLine {
  readonly group?: string;
  /** The command of a key line (absent on the legend's lines). */
  readonly command?: Command;
  readonly keys?: string;
  readonly description?: string;
}

/** The help screen's lines: a heading per group, one line per command; then the timeline's legend. */
export function helpLines(map: KeyMap): HelpLine[] {
  const out: HelpLine[] = [];
  for (const sec of helpSections(map)) {
    if (sec.entries.length === 0) continue;
    out.push({ group: sec.group });
    for (const e of sec.entries) out.push({ command: e.command, keys: e.keys, description: e.description });
  }
  out.push({ group: "Timeline" });
  for (const l of LEGEND) out.push({ keys: l.glyph, description: l.text });
  return out;
}

export interface HelpProps {
  readonly keymap: KeyMap;
  readonly scroll: number;
  readonly width: number;
  /** Lines, including the title. */
  readonly height: number;
}

const KEYS_W = 19;

function Line({ l, width }: { l: HelpLine; width: number }) {
  if (l.group !== undefined) {
    return (
      <Text bold color="cyan">
        {fit(l.group, width)}
      </Text>
    );
  }
  return (
    <Text wrap="truncate">
      <Text bold>{fit(`  ${l.keys ?? ""}`, KEYS_W - 1) + " "}</Text>
      <Text>{fit(l.description ?? "", Math.max(0, width - KEYS_W))}</Text>
    </Text>
  );
}

export function Help({ keymap, scroll, width, height }: HelpProps) {
  const lines = helpLines(keymap);
  const rows = Math.max(1, height - 1);
  const cols = width >= 110 && lines.length > rows ? 2 : 1;
  const colW = Math.floor(width / cols);
  const perCol = Math.ceil(lines.length / cols);
  const maxScroll = Math.max(0, perCol - rows);
  const top = Math.min(scroll, maxScroll);
  const columns: HelpLine[][] = [];
  for (let c = 0; c < cols; c++) columns.push(lines.slice(c * perCol, (c + 1) * perCol).slice(top, top + rows));
  const more = maxScroll > 0 ? `  (${top + 1}-${Math.min(perCol, top + rows)} of ${perCol}, ↑/↓ scroll)` : "";
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Title text={" Keys "} hint={`  from the key map (src/tui/keymap.ts)${more}`} />
      <Box flexDirection="row">
        {columns.map((col, c) => (
          <Box key={c} flexDirection="column" width={colW}>
            {col.map((l, i) => (
              <Line key={i} l={l} width={colW - 1} />
            ))}
          </Box>
        ))}
      </Box>
    </Box>
  );
}
