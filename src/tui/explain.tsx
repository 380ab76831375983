// The explanation dialog (`e`): why the selected object is the way it is at
// the cursor (who last set this lock's owner, who freed this stack), with the
// event it points at; Enter jumps there. Long lines wrap to the width (by
// terminal cells), continuing under their own indentation; ↑/↓ scroll.

import { Box, Text } from "ink";
import { cut, wrap } from "../util/text-table.ts";
import { Title } from "./search.tsx";

/** The dialog's lines wrapped to `width` cells: continuations indented two more than their line. */
export function explainLines(lines: readonly string[], width: number): string[] {
  return lines.flatMap((l) => wrap(l, width, `${/^ */.exec(l)![0]}  `));
}

export interface ExplainProps {
  readonly title: string;
  readonly lines: readonly string[];
  readonly seq: number | null;
  readonly scroll: number;
  readonly width: number;
  readonly height: number;
}

export function Explain({ title, lines, seq, scroll, width, height }: ExplainProps) {
  const rows = Math.max(1, height - 1);
  const wrapped = explainLines(lines, width);
  const top = Math.min(scroll, Math.max(0, wrapped.length - rows));
  const more =
    wrapped.length > rows ? `  ${top + 1}-${Math.min(wrapped.length, top + rows)} of ${wrapped.length} lines, ↑/↓` : "";
  const jump = seq === null ? "" : `  Enter: go to seq ${seq}`;
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Title text={` Why: ${cut(title, Math.max(1, width - 30))} `} hint={`${jump}${more}`} />
      {wrapped.slice(top, top + rows).map((l, i) => (
        <Text key={i} wrap="truncate">
          {l}
        </Text>
      ))}
    </Box>
  );
}
