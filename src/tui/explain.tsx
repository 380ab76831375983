// The explanation dialog (`e`): why the selected object is the way it is at
// the cursor (who last set this lock's owner, who freed this stack), with the
// event it points at; Enter jumps there.

import { Box, Text } from 'ink';
import { cut } from './frame.ts';
import { Title } from './search.tsx';

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
  const top = Math.min(scroll, Math.max(0, lines.length - rows));
  const jump = seq === null ? '' : `  Enter: go to seq ${seq}`;
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Title text={` Why: ${cut(title, Math.max(1, width - 30))} `} hint={jump} />
      {lines.slice(top, top + rows).map((l, i) => (
        <Text key={i} wrap="truncate">
          {cut(l, width)}
        </Text>
      ))}
    </Box>
  );
}
