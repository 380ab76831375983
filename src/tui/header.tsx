// The header: trace file, scenario, fix, seed; position `seq / total`,
// virtual time, outcome. Two lines, cut to the terminal width.

import { basename } from "node:path";
import { Box, Text } from "ink";
import { cut } from "../util/text-table.ts";
import { type Frame, formatCount, formatTime, isFailure, type TraceInfo } from "./frame.ts";

export interface HeaderProps {
  readonly info: TraceInfo;
  readonly frame: Frame;
  readonly width: number;
}

/** "hang at seq 87", "ok", "unknown (recovered trace)". */
export function outcomeText(info: TraceInfo): string {
  const o = info.outcome;
  if (info.imported && (o === null || o.kind === "ok")) return "none (imported)";
  if (o === null) return "unknown";
  return o.kind === "ok" ? "ok" : `${o.kind} at seq ${o.seq}`;
}

/** "41 / 89", "start / 89". */
export function positionText(seq: number, total: number): string {
  return `${seq < 0 ? "start" : formatCount(seq)} / ${formatCount(total)}`;
}

export function Header({ info, frame, width }: HeaderProps) {
  // As `ktrace info` says it: "no fix" for the buggy original.
  const variant = info.fix === "" ? "no fix" : `fix ${info.fix}`;
  const title = info.imported
    ? ` ${basename(info.file)}  imported ${info.imported} trace ${info.scenario}  ${info.cpus} cpus`
    : ` ${basename(info.file)}  ${info.scenario}  ${variant}  seed ${info.seed}  ${info.cpus} cpus`;
  const rec = info.recovery === null ? "" : `  [recovered: ${info.recovery}]`;
  const pos = `seq ${positionText(frame.seq, info.total)}`;
  const time = `t ${formatTime(frame.time)}`;
  const out = outcomeText(info);
  const failed = isFailure(info.outcome?.kind);
  const head = "ktrace replay";
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate">
        <Text bold color="cyan">
          {head}
        </Text>
        <Text>{cut(title + rec, Math.max(0, width - head.length))}</Text>
      </Text>
      <Text wrap="truncate">
        <Text bold>{` ${pos}`}</Text>
        <Text dimColor>{"   "}</Text>
        <Text>{time}</Text>
        <Text dimColor>{"   outcome "}</Text>
        <Text bold={failed} color={failed ? "red" : info.outcome?.kind === "ok" ? "green" : "yellow"}>
          {out}
        </Text>
      </Text>
    </Box>
  );
}
