// The watchpoint dialogs: `w` picks what to watch from a fuzzy list (locks,
// kernel stacks, threads, VMARs, event kinds at the cursor); `W` lists the
// watchpoints and removes them.

import { Box } from "ink";
import { fit } from "../util/text-table.ts";
import type { ListItem, WatchView } from "./frame.ts";
import { PickList, Prompt, Title } from "./search.tsx";

export interface WatchPickerProps {
  readonly text: string;
  readonly items: readonly ListItem[];
  readonly index: number;
  readonly width: number;
  readonly height: number;
}

export function WatchPicker({ text, items, index, width, height }: WatchPickerProps) {
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Title text={" Add a watchpoint "} hint={"  continue (c / C) stops where the watched thing changes"} />
      <Prompt label="watch: " text={text} width={width} note={`${items.length} shown`} />
      <PickList
        items={items}
        index={index}
        width={width}
        rows={Math.max(1, height - 2)}
        empty={`nothing to watch matches '${text}'`}
      />
    </Box>
  );
}

export interface WatchListProps {
  readonly watches: readonly WatchView[];
  readonly index: number;
  readonly width: number;
  readonly height: number;
}

export function WatchList({ watches, index, width, height }: WatchListProps) {
  const items: ListItem[] = watches.map((w) => ({ id: String(w.id), label: w.label, detail: `#${w.id}` }));
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Title
        text={" Watchpoints "}
        hint={fit(`  ${watches.length} active; d removes the chosen one`, Math.max(0, width - 13))}
      />
      <PickList
        items={items}
        index={index}
        width={width}
        rows={Math.max(1, height - 1)}
        empty="no watchpoints: press w to add one"
      />
    </Box>
  );
}
