// The replay screen, the view of the view state: header, post-mortem banner,
// timeline, event list, state panes, status line and footer; dialogs (help,
// search, watch picker, watch list, explanation) take the place of the list and
// panes. Sized from the terminal (useWindowSize) and re-laid out on resize.
// Draws only what the state holds (state.frame, state.overview); keys go to
// the store through useReplay.

import { Box, Text, useApp, useWindowSize } from "ink";
import { useEffect } from "react";
import { cut } from "../util/text-table.ts";
import { EventList } from "./event-list.tsx";
import { Explain } from "./explain.tsx";
import { Footer, StatusLine } from "./footer.tsx";
import type { Frame, Pane, PaneId, StatePaneId } from "./frame.ts";
import { Header } from "./header.tsx";
import { Help } from "./help.tsx";
import { DEFAULT_KEYMAP, type KeyMap } from "./keymap.ts";
import { Prompt, Search } from "./search.tsx";
import { PaneView } from "./state-panes.tsx";
import type { ReplayStore } from "./store.ts";
import { Timeline } from "./timeline.tsx";
import { useReplay } from "./use-replay.ts";
import type { ViewState } from "./use-replay-state.ts";
import { WatchList, WatchPicker } from "./watch-picker.tsx";

export interface AppProps {
  readonly store: ReplayStore;
  readonly keymap?: KeyMap;
  /** Fixed size (tests); default: the terminal's, following resizes. */
  readonly size?: { readonly columns: number; readonly rows: number };
  /** Listen to keys (default true). */
  readonly isActive?: boolean;
}

/** Smallest terminal the layout works in. */
export const MIN_COLUMNS = 60;
export const MIN_ROWS = 16;

export interface Layout {
  readonly width: number;
  readonly banner: number;
  /** Lines for the middle (event list + panes, or a dialog). */
  readonly middle: number;
  readonly top: number;
  readonly bottom: number;
  readonly eventsWidth: number;
  readonly sideWidth: number;
  readonly cpusHeight: number;
  readonly kstacksHeight: number;
  /** Widths of threads, locks, processes; or threads, locks, sync (futex words and pipes), processes when the state has any. */
  readonly bottomWidths: readonly number[];
}

/**
 * Where everything goes on a columns x rows terminal. Pure. Without kernel
 * stacks (an imported trace: a real trace does not record them) the CPUs pane
 * takes the whole side column: a real machine has more CPUs.
 */
export function layout(
  columns: number,
  rows: number,
  bannerLines: number,
  cpus: number,
  sync = false,
  kstacks = true,
): Layout {
  const width = columns;
  const banner = Math.min(bannerLines, rows >= 20 ? 2 : 1);
  const middle = Math.max(4, rows - (2 + banner + 2 + 1 + 1));
  const top = Math.ceil(middle / 2);
  const bottom = middle - top;
  const sideWidth = columns >= 120 ? 30 : columns >= 100 ? 24 : 19;
  const eventsWidth = width - sideWidth;
  const cpusHeight = kstacks ? Math.max(3, Math.min(cpus + 2, Math.floor(top / 2))) : top;
  const kstacksHeight = top - cpusHeight;
  // With sync objects (futex words, pipes) the bottom row has a fourth pane.
  let bottomWidths: number[];
  if (sync) {
    const t = Math.floor(width * 0.28);
    const l = Math.floor(width * 0.24);
    const y = Math.floor(width * 0.24);
    bottomWidths = [t, l, y, width - t - l - y];
  } else {
    const t = Math.floor(width * 0.33);
    const l = Math.floor(width * 0.4);
    bottomWidths = [t, l, width - t - l];
  }
  return { width, banner, middle, top, bottom, eventsWidth, sideWidth, cpusHeight, kstacksHeight, bottomWidths };
}

function paneOf(panes: readonly Pane[], id: PaneId): Pane | undefined {
  return panes.find((p) => p.id === id);
}

/** The hint under the panes when there is no message: why the selected row is marked. */
export function selectionHint(state: ViewState, frame: Frame): string | undefined {
  if (state.focus === "events") return undefined;
  const row = paneOf(frame.panes, state.focus)?.rows[state.selected[state.focus]];
  return row?.note ?? (row !== undefined ? "e: explain the selected row" : undefined);
}

function Middle({ state, store, keymap, lay }: { state: ViewState; store: ReplayStore; keymap: KeyMap; lay: Layout }) {
  const frame = state.frame;
  const d = state.dialog;
  const w = lay.width;
  const h = lay.middle;
  if (d !== null && d.kind !== "goto") {
    switch (d.kind) {
      case "help":
        return <Help keymap={keymap} scroll={d.scroll} width={w} height={h} />;
      case "search":
        return (
          <Search text={d.text} items={d.items} all={d.all} index={d.index} scope={d.scope} width={w} height={h} />
        );
      case "watch-pick":
        return <WatchPicker text={d.text} items={d.items} index={d.index} width={w} height={h} />;
      case "watch-list":
        return <WatchList watches={state.watches} index={d.index} width={w} height={h} />;
      case "explain":
        return <Explain title={d.title} lines={d.lines} seq={d.seq} scroll={d.scroll} width={w} height={h} />;
    }
  }
  const pane = (id: StatePaneId, width: number, height: number) => {
    const p = paneOf(frame.panes, id);
    return p === undefined ? null : (
      <PaneView pane={p} width={width} height={height} focused={state.focus === id} selected={state.selected[id]} />
    );
  };
  const bw = lay.bottomWidths;
  const sync = bw.length === 4;
  const [tw, lw] = bw as [number, number];
  const pw = bw[bw.length - 1]!;
  return (
    <Box flexDirection="column" width={w} height={h}>
      <Box flexDirection="row" height={lay.top}>
        <EventList
          events={frame.events}
          seq={state.seq}
          total={store.info.total}
          marks={state.overview.marks}
          height={lay.top}
          width={lay.eventsWidth - 1}
          focused={state.focus === "events"}
        />
        <Box width={1} />
        <Box flexDirection="column" width={lay.sideWidth}>
          {pane("cpus", lay.sideWidth, lay.cpusHeight)}
          {lay.kstacksHeight > 0 ? pane("kstacks", lay.sideWidth, lay.kstacksHeight) : null}
        </Box>
      </Box>
      <Box flexDirection="row" height={lay.bottom}>
        {pane("threads", tw, lay.bottom)}
        {pane("locks", lw, lay.bottom)}
        {sync ? pane("sync", bw[2]!, lay.bottom) : null}
        {pane("procs", pw, lay.bottom)}
      </Box>
    </Box>
  );
}

export function App({ store, keymap = DEFAULT_KEYMAP, size, isActive = true }: AppProps) {
  const win = useWindowSize();
  const columns = size?.columns ?? win.columns;
  const rows = size?.rows ?? win.rows;
  const state = useReplay(store, { isActive, keymap });
  const { exit } = useApp();
  const frame = state.frame;
  const bannerLines = state.banner === null ? [] : state.banner.split("\n");
  const lay = layout(columns, rows, bannerLines.length, store.info.cpus, state.rows.sync > 0, !store.info.imported);
  const eventRows = lay.top - 1;

  useEffect(() => {
    if (state.quit) exit();
  }, [state.quit, exit]);
  useEffect(() => {
    store.dispatch({ type: "page", rows: eventRows });
  }, [store, eventRows]);

  if (columns < MIN_COLUMNS || rows < MIN_ROWS) {
    return (
      <Box flexDirection="column">
        <Text
          color="yellow"
          wrap="wrap"
        >{`ktrace replay: the terminal is ${columns}x${rows}; make it at least ${MIN_COLUMNS}x${MIN_ROWS}.`}</Text>
        <Text dimColor>q quits</Text>
      </Box>
    );
  }

  const d = state.dialog;
  return (
    <Box flexDirection="column" width={columns} height={rows}>
      <Header info={store.info} frame={frame} width={columns} />
      {bannerLines.slice(0, lay.banner).map((l, i) => (
        <Text key={i} color={i === 0 ? "red" : "yellow"} bold wrap="truncate">
          {cut(l, columns)}
        </Text>
      ))}
      <Timeline seq={state.seq} total={store.info.total} overview={state.overview} width={columns} />
      <Middle state={state} store={store} keymap={keymap} lay={lay} />
      {d?.kind === "goto" ? (
        <Prompt
          label="go to seq: "
          text={d.text}
          width={columns}
          note={d.error ?? `0..${Math.max(0, store.info.total - 1)}, Enter goes, Esc cancels`}
        />
      ) : (
        <StatusLine status={state.status} hint={selectionHint(state, frame)} width={columns} />
      )}
      <Footer state={state} keymap={keymap} width={columns} />
    </Box>
  );
}
