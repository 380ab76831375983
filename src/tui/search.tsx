// The search dialog (`/`): a prompt and the live fuzzy results (fuzzysort over
// the descriptions of the events in scope), best first; Enter jumps to the
// chosen event. Also the list component the watch picker shares.

import { Box, Text } from "ink";
import { cellWidth, cut, fit } from "../util/text-table.ts";
import type { ListItem } from "./frame.ts";

export interface PickListProps {
  readonly items: readonly ListItem[];
  readonly index: number;
  readonly width: number;
  readonly rows: number;
  /** Shown when there are no items. */
  readonly empty: string;
}

/** Splits a label into runs of matched / unmatched characters (hit: UTF-16 indexes; a character is never split). */
export function highlightRuns(label: string, hit: readonly number[] | undefined): { text: string; hit: boolean }[] {
  if (hit === undefined || hit.length === 0) return [{ text: label, hit: false }];
  const set = new Set(hit);
  const runs: { text: string; hit: boolean }[] = [];
  let i = 0;
  for (const ch of label) {
    const h = set.has(i);
    i += ch.length;
    const last = runs[runs.length - 1];
    if (last !== undefined && last.hit === h) last.text += ch;
    else runs.push({ text: ch, hit: h });
  }
  return runs;
}

/** A dialog's title bar: the name in inverse cyan, then a dim hint, cut to one line. */
export function Title({ text, hint }: { readonly text: string; readonly hint: string }) {
  return (
    <Text wrap="truncate">
      <Text bold inverse color="cyan">
        {text}
      </Text>
      <Text dimColor>{hint}</Text>
    </Text>
  );
}

/** A scrolling list with the chosen item inverted and matched characters bold. */
export function PickList({ items, index, width, rows, empty }: PickListProps) {
  if (items.length === 0) return <Text dimColor>{fit(`  ${empty}`, width)}</Text>;
  const start = Math.max(0, Math.min(index - Math.floor(rows / 2), items.length - rows));
  const shown = items.slice(start, start + rows);
  return (
    <Box flexDirection="column">
      {shown.map((it, i) => {
        const sel = start + i === index;
        const detail = it.detail === undefined ? "" : `  ${it.detail}`;
        const labelW = Math.max(0, width - 2 - cellWidth(detail));
        const label = cut(it.label, labelW);
        const pad = " ".repeat(Math.max(0, labelW - cellWidth(label)));
        return (
          <Text key={it.id} wrap="truncate" inverse={sel}>
            <Text color="cyan">{sel ? "▶ " : "  "}</Text>
            {highlightRuns(label, it.hit).map((r, j) => (
              <Text key={j} bold={r.hit} color={r.hit ? "yellow" : undefined}>
                {r.text}
              </Text>
            ))}
            <Text>{pad}</Text>
            <Text dimColor>{detail}</Text>
          </Text>
        );
      })}
    </Box>
  );
}

export interface PromptProps {
  readonly label: string;
  readonly text: string;
  readonly width: number;
  readonly note?: string;
}

/** `label text▌  note` on one line. */
export function Prompt({ label, text, width, note }: PromptProps) {
  return (
    <Text wrap="truncate">
      <Text bold color="cyan">
        {label}
      </Text>
      <Text>{text}</Text>
      <Text inverse> </Text>
      <Text dimColor>
        {note === undefined ? "" : cut(`  ${note}`, Math.max(0, width - cellWidth(label) - cellWidth(text) - 1))}
      </Text>
    </Text>
  );
}

export interface SearchProps {
  readonly text: string;
  readonly items: readonly ListItem[];
  readonly all: readonly number[];
  readonly index: number;
  readonly scope: string;
  readonly width: number;
  /** Lines, including the title and the prompt. */
  readonly height: number;
}

export function Search({ text, items, all, index, scope, width, height }: SearchProps) {
  const count = text === "" ? scope : `${all.length} match${all.length === 1 ? "" : "es"} in ${scope}`;
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Title text={" Search events "} hint={"  fuzzy, best first; Enter jumps, then n/N walk the matches in order"} />
      <Prompt label="/ " text={text} width={width} note={count} />
      <PickList
        items={items}
        index={index}
        width={width}
        rows={Math.max(1, height - 2)}
        empty={
          text === ""
            ? 'type to search: a kind, a lock name, a tid ("t3 lock", "fork", "SlowTLS")'
            : `no event matches '${text}'`
        }
      />
    </Box>
  );
}
