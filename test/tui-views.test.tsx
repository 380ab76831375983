// The views, through ink-testing-library: write keys to stdin, compare
// lastFrame(). Components are checked line by line; the whole App is driven
// through a post-mortem session on the tcmalloc-fork hang.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { render } from "ink-testing-library";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { App, layout } from "../src/tui/app.tsx";
import { EventList, eventLines, firstShown } from "../src/tui/event-list.tsx";
import { explainLines } from "../src/tui/explain.tsx";
import { Footer, footerEntries } from "../src/tui/footer.tsx";
import type { Density, EventRow, Marks, Overview, Pane } from "../src/tui/frame.ts";
import { Help } from "../src/tui/help.tsx";
import { DEFAULT_KEYMAP } from "../src/tui/keymap.ts";
import { KIND_CLASSES } from "../src/tui/kinds.ts";
import { PaneView } from "../src/tui/state-panes.tsx";
import { columnOf, LEGEND, scanText, Timeline, timelineCells, timelineLabels } from "../src/tui/timeline.tsx";
import { initialViewState } from "../src/tui/use-replay-state.ts";
import { cellWidth } from "../src/util/text-table.ts";
import { KEYS, storeFor as replayFor, waitFor } from "./helpers/tui.ts";

const tmp = mkdtempSync(path.join(tmpdir(), "ktrace-tui-views-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const instances: { unmount(): void }[] = [];
function mount(el: React.ReactElement) {
  const r = render(el);
  instances.push(r);
  return r;
}
afterEach(() => {
  for (const i of instances.splice(0)) i.unmount();
});

/** The frame's lines, trailing spaces trimmed. */
function lines(frame: string | undefined): string[] {
  return (frame ?? "").split("\n").map((l) => l.replace(/\s+$/, ""));
}

const NO_MARKS: Marks = { watchHits: [], violation: undefined, failure: null };

const CLASS = Object.fromEntries(KIND_CLASSES.map((c, i) => [c.name, i])) as Record<string, number>;

/** A density over `total` events in `buckets` buckets, from per-bucket class counts. */
function densityOf(
  total: number,
  buckets: { [cls: string]: number }[],
  scanned = total,
  extra: Partial<Density> = {},
): Density {
  const C = KIND_CLASSES.length;
  const kinds = new Uint32Array(buckets.length * C);
  buckets.forEach((b, i) => {
    for (const [cls, n] of Object.entries(b)) kinds[i * C + CLASS[cls]!] = n;
  });
  const none = new Float64Array(2 * buckets.length).fill(-1);
  return {
    total,
    buckets: buckets.length,
    classes: C,
    scanned,
    kinds,
    violationEnds: none,
    hitEnds: none,
    hitsScanned: null,
    error: null,
    ...extra,
  };
}

describe("timeline", () => {
  it("maps positions -1..total-1 across the width", () => {
    expect(columnOf(-1, 100, 50)).toBe(0);
    expect(columnOf(99, 100, 50)).toBe(49);
    expect(columnOf(49, 100, 50)).toBe(24);
  });

  it("draws the marks over the density: the failure, then violations, then watch hits", () => {
    const one = (cls: string) => ({ [cls]: 1 });
    const classes = [
      "routine",
      "routine",
      "routine",
      "routine",
      "routine",
      "lock",
      "lock",
      "lock",
      "lock",
      "lock",
      "sched",
      "sched",
      "sched",
      "sched",
      "sched",
      "routine",
      "routine",
      "fault",
      "routine",
      "routine",
    ];
    const d = densityOf(20, classes.map(one));
    const overview: Overview = {
      density: d,
      marks: { watchHits: [9, 14], violation: 14, violations: [14, 16], failure: 19 },
    };
    const cells = timelineCells({ seq: 0, total: 20, overview, width: 21 });
    // Cell 0 is the initial state; cell i+1 is event i. One event per cell: a notable one is a full block.
    expect(cells.map((c) => c.ch).join("")).toBe("──────████◆████!─!█─✖");
    expect(cells.findIndex((c) => c.cursor)).toBe(1);
    expect(cells[6]!.color).toBe("yellow");
    expect(cells[11]!.color).toBe("blue");
    expect(cells[18]!.color).toBe("red");
    expect(cells[15]!.style).toBe("violation");
    // Without a density yet, the bar is quiet and shows the marks.
    const bare = timelineCells({ seq: 0, total: 20, overview: { density: null, marks: overview.marks }, width: 21 });
    expect(bare.map((c) => c.ch).join("")).toBe("──────────◆────!─!──✖");
  });

  it("draws activity as the share of events that are not routine, coloured by the class most of them are", () => {
    // 1000 events in 10 buckets of 100; 10 cells: bucket b is cell b. Buckets 8 and 9 are not scanned yet.
    const d = densityOf(
      1000,
      [
        { routine: 100 },
        { routine: 50, lock: 50 },
        { lock: 100 },
        { routine: 99, lock: 1 },
        { routine: 70, sched: 10, lock: 20 },
        { routine: 49, lock: 50, fault: 1 },
        { routine: 100 },
        { routine: 100 },
        {},
        {},
      ],
      800,
    );
    const cells = timelineCells({
      seq: -1,
      total: 1000,
      overview: { density: d, marks: { watchHits: [], violation: undefined, failure: null } },
      width: 10,
    });
    expect(cells.map((c) => c.ch).join("")).toBe("─▄█▁▃▅──··");
    expect(cells.map((c) => c.color)).toEqual([
      undefined,
      "yellow",
      "yellow",
      "yellow",
      "yellow",
      "red",
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(cells[8]!.style).toBe("unscanned");
    expect(scanText(d)).toBe("scanning 80%");
    expect(scanText({ ...d, scanned: 1000, hitsScanned: 250 })).toBe("hits 25%");
    expect(scanText({ ...d, scanned: 1000 })).toBe("");
    // The share is absolute: a trace busy everywhere at 25% is ▂ everywhere.
    const even = densityOf(
      1000,
      Array.from({ length: 10 }, () => ({ routine: 75, sched: 25 })),
    );
    const flat = timelineCells({
      seq: -1,
      total: 1000,
      overview: { density: even, marks: { watchHits: [], violation: undefined, failure: null } },
      width: 10,
    });
    expect(flat.map((c) => c.ch).join("")).toBe("▂".repeat(10));
  });

  it("marks the scan's violations and hits, first and last of each bucket", () => {
    const ends = (pairs: [number, number][]) => Float64Array.from(pairs.flat());
    const d = densityOf(
      1000,
      Array.from({ length: 10 }, () => ({ routine: 100 })),
      1000,
      {
        violationEnds: ends([
          [-1, -1],
          [-1, -1],
          [-1, -1],
          [-1, -1],
          [-1, -1],
          [-1, -1],
          [-1, -1],
          [710, 790],
          [-1, -1],
          [-1, -1],
        ]),
        hitEnds: ends([
          [-1, -1],
          [150, 150],
          [-1, -1],
          [-1, -1],
          [-1, -1],
          [-1, -1],
          [-1, -1],
          [-1, -1],
          [-1, -1],
          [-1, -1],
        ]),
        hitsScanned: 1000,
      },
    );
    const cells = timelineCells({
      seq: -1,
      total: 1000,
      overview: { density: d, marks: { watchHits: [], violation: undefined, failure: null } },
      width: 20,
    });
    expect(cells.map((c) => c.ch).join("")).toBe("───◆──────────!!────");
  });

  it("labels the start, the cursor and the last seq, and the scan while it runs", () => {
    expect(timelineLabels(9, 20, 21)).toBe("0         ▲ 9      19");
    expect(timelineLabels(19, 20, 21)).toBe("0                ▲ 19");
    expect(timelineLabels(-1, 20, 21)).toBe(`${"▲ start".padEnd(19)}19`);
    // The scan's progress goes right, before the last seq; or left, when the cursor's label is in the way.
    expect(timelineLabels(9, 10_000_000, 60, "scanning 42%")).toBe(`▲ 9${" ".repeat(34)}scanning 42%  9,999,999`);
    expect(timelineLabels(9_900_000, 10_000_000, 60, "scanning 42%")).toBe(
      `0  scanning 42%${" ".repeat(34)}▲ 9,900,000`,
    );
  });

  it("renders two lines across the width", () => {
    const overview: Overview = { density: null, marks: { ...NO_MARKS, failure: 19 } };
    const { lastFrame } = mount(<Timeline seq={9} total={20} overview={overview} width={21} />);
    expect(lines(lastFrame())).toEqual(["────────────────────✖", "0         ▲ 9      19"]);
  });

  it("has a legend for every glyph it draws", () => {
    const glyphs = LEGEND.map((l) => l.glyph).join("");
    for (const g of ["✖", "!", "◆", "█", "─", "·"]) expect(glyphs).toContain(g === "█" ? "…█" : g);
  });
});

const ev = (seq: number, kindName: string, text: string): EventRow => ({
  seq,
  time: seq * 10,
  cpu: seq % 2,
  tid: 3,
  kind: 1,
  kindName,
  text,
});
const EVENTS = Array.from({ length: 30 }, (_, i) => ev(i, "user", `step ${i}`));

describe("event list", () => {
  it("keeps the cursor in the middle, and the list full at the ends", () => {
    expect(firstShown(15, 30, 7)).toBe(12);
    expect(firstShown(29, 30, 7)).toBe(23);
    expect(firstShown(0, 30, 7)).toBe(-1);
  });

  it("shows seq, cpu, tid, kind and the description, with the cursor and marks", () => {
    const { lastFrame } = mount(
      <EventList
        events={EVENTS}
        seq={15}
        total={30}
        marks={{ watchHits: [14], violation: 16, failure: 17 }}
        height={5}
        width={60}
        focused
      />,
    );
    expect(lines(lastFrame())).toEqual([
      "▶Events  seq 15 of 30",
      "◆ 14 c0  t3   user         step 14",
      "▶ 15 c1  t3   user         step 15",
      "! 16 c0  t3   user         step 16",
      "✖ 17 c1  t3   user         step 17",
    ]);
  });

  it("widens the cpu and tid columns to a real trace's ids", () => {
    const real = EVENTS.map((e, i) => ({ ...e, tid: i === 15 ? 1234567 : 2151, cpu: i === 14 ? 12 : e.cpu }));
    const l = eventLines({ events: real, seq: 15, total: 30, marks: NO_MARKS, width: 60, rows: 3 });
    expect(l.map((x) => x.text.trimEnd())).toEqual([
      " 14 c12 t2151    user         step 14",
      " 15 c1  t1234567 user         step 15",
      " 16 c0  t2151    user         step 16",
    ]);
    // A narrow list keeps room for the text: the ids are cut first.
    const narrow = eventLines({ events: real, seq: 15, total: 30, marks: NO_MARKS, width: 30, rows: 1 });
    expect(narrow[0]!.text).toBe(" 15 c1  t12… user      step …");
  });

  it("shows the initial state as the first row at the start", () => {
    const l = eventLines({ events: EVENTS, seq: -1, total: 30, marks: NO_MARKS, width: 60, rows: 3 });
    expect(l.map((x) => x.pos)).toEqual([-1, 0, 1]);
    expect(l[0]!.text).toMatch(/^ -1 {2}start: the initial state, before event 0 *$/);
    expect(l[0]!.cursor).toBe(true);
  });
});

const LOCKS: Pane = {
  id: "locks",
  title: "Locks",
  columns: ["name", "pid", "own", "lv", "w"],
  widths: [10, 3, 4, 2, 1],
  align: ["left", "right", "right", "right", "right"],
  flex: 0,
  rows: [
    {
      ref: { kind: "lock", id: 13 },
      cells: ["tcmalloc.SlowTLS", "2", "2✗", "1", "1"],
      mark: "bad",
      note: "owner tid 2 does not exist",
    },
    { ref: { kind: "lock", id: 0 }, cells: ["vmar(1)", "k", "-", "0", ""], mark: "dim" },
    { ref: { kind: "lock", id: 1 }, cells: ["a", "1", "1", "1", ""], mark: null },
  ],
};

describe("state panes", () => {
  it("draws a titled table with a count, a ✗ count, and the rows", () => {
    const { lastFrame } = mount(<PaneView pane={LOCKS} width={32} height={5} focused={false} selected={0} />);
    expect(lines(lastFrame())).toEqual([
      " Locks  3 ✗1",
      "name              pid  own lv w",
      "tcmalloc.SlowTLS    2   2✗  1 1",
      "vmar(1)             k    -  0",
      "a                   1    1  1",
    ]);
  });

  it("widens a column to its widest cell shown while the flex column keeps its width", () => {
    const threads: Pane = {
      id: "threads",
      title: "Threads",
      columns: ["tid", "pid", "comm", "state"],
      widths: [3, 3, 6, 7],
      align: ["right", "right", "left", "left"],
      flex: 3,
      rows: [
        { ref: { kind: "thread", id: 2151 }, cells: ["2151", "2108", "python3", "running"], mark: null },
        { ref: { kind: "thread", id: 19203 }, cells: ["19203", "19203", "kworker/1:1", "idle"], mark: null },
      ],
    };
    expect(
      lines(mount(<PaneView pane={threads} width={40} height={4} focused={false} selected={0} />).lastFrame()),
    ).toEqual([
      " Threads  2",
      "  tid   pid comm        state",
      " 2151  2108 python3     running",
      "19203 19203 kworker/1:1 idle",
    ]);
    // No room: the columns keep their widths and cut their cells.
    expect(
      lines(mount(<PaneView pane={threads} width={23} height={4} focused={false} selected={0} />).lastFrame()),
    ).toEqual([" Threads  2", "tid pid comm   state", "21… 21… pytho… running", "19… 19… kwork… idle"]);
  });

  it("scrolls to keep the selected row visible", () => {
    const { lastFrame } = mount(<PaneView pane={LOCKS} width={32} height={3} focused selected={2} />);
    expect(lines(lastFrame())).toEqual([
      "▶Locks  3-3/3 ✗1",
      "name              pid  own lv w",
      "a                   1    1  1",
    ]);
  });
});

describe("footer and help", () => {
  const s = initialViewState({ seq: 3, total: 10, failureSeq: 9 });

  it("lists the keys that matter now, generated from the key map, within the width", () => {
    const { lastFrame } = mount(<Footer state={s} keymap={DEFAULT_KEYMAP} width={80} />);
    const line = lines(lastFrame())[0]!;
    expect(line.length).toBeLessThanOrEqual(80);
    expect(line).toBe(" ← back  → step  c cont  C rev-cont  / search  w watch  e why  ? keys  q quit");
    // Wider: the failure key too.
    expect(footerEntries(s, DEFAULT_KEYMAP, 100).map((e) => e.label)).toContain("failure");
  });

  it("drops the least useful keys first on a narrow terminal, never help and quit", () => {
    const e = footerEntries(s, DEFAULT_KEYMAP, 40).map((x) => x.label);
    expect(e).toEqual(["back", "step", "cont", "keys", "quit"]);
  });

  it("shows the dialog keys in a dialog", () => {
    const d = { ...s, dialog: { kind: "search" as const, text: "", index: 0, items: [], all: [], scope: "" } };
    expect(footerEntries(d, DEFAULT_KEYMAP, 80)).toEqual([
      { keys: "↑/↓", label: "choose" },
      { keys: "Enter", label: "jump" },
      { keys: "Esc", label: "cancel" },
    ]);
  });

  it("generates the help screen from the key map and scrolls it", () => {
    const { lastFrame, rerender } = mount(<Help keymap={DEFAULT_KEYMAP} scroll={0} width={80} height={12} />);
    const first = lines(lastFrame());
    expect(first[0]).toMatch(/^ Keys {3}from the key map \(src\/tui\/keymap.ts\) {2}\(1-11 of \d+, ↑\/↓ scroll\)$/);
    expect(first[1]).toBe("Move");
    expect(first[2]).toBe(`${"  → s".padEnd(19)}Step forward one event`);
    rerender(<Help keymap={DEFAULT_KEYMAP} scroll={100} width={80} height={12} />);
    // The timeline's legend comes last.
    expect(lines(lastFrame()).at(-1)).toBe(`${"  ·".padEnd(19)}${LEGEND.at(-1)!.text}`);
  });
});

describe("layout", () => {
  it("fits an 80x24 terminal", () => {
    const l = layout(80, 24, 2, 2);
    expect(2 + l.banner + 2 + l.middle + 1 + 1).toBe(24);
    expect(l.eventsWidth + l.sideWidth).toBe(80);
    expect(l.bottomWidths.reduce((a, b) => a + b)).toBe(80);
    expect(l.cpusHeight + l.kstacksHeight).toBe(l.top);
    // Without kernel stacks (an imported trace) the CPUs pane takes the side column.
    const i = layout(80, 24, 2, 8, false, false);
    expect([i.cpusHeight, i.kstacksHeight]).toEqual([i.top, 0]);
  });
});

describe("the app", () => {
  async function app(columns = 80, rows = 24) {
    const c = await replayFor("tcmalloc-fork");
    const r = mount(<App store={c} size={{ columns, rows }} />);
    const frame = (want: (f: string[]) => boolean) => waitFor(() => lines(r.lastFrame()), want);
    await frame((f) => f.length > 1);
    return { c, r, frame };
  }

  it("opens post-mortem at the failure: header, banner, timeline, events, panes, footer in 80x24", async () => {
    const { c, frame } = await app();
    const f = await frame((x) => x.length === 24);
    const end = c.engine.cursor.source.outcome!.seq;
    expect(f).toHaveLength(24);
    for (const l of f) expect(l.length).toBeLessThanOrEqual(80);
    expect(f[0]).toBe("ktrace replay tcmalloc-fork.ktrace  tcmalloc-fork  no fix  seed 1  2 cpus");
    expect(f[1]).toMatch(new RegExp(`^ seq ${end} / ${c.info.total} {3}t [0-9.]+ µs {3}outcome hang at seq ${end}$`));
    expect(f[2]).toMatch(new RegExp(`^✖ HANG at seq ${end}: `));
    expect(f[3]).toMatch(/^first violation: lock-owner-alive at seq \d+: /);
    expect(f[4]).toMatch(/^[─▁▂▃▄▅▆▇█!✖◆]+$/);
    expect(f[5]).toMatch(new RegExp(`▲ ${end}$`));
    expect(f.find((l) => l.startsWith(`▶ ${end} `))).toMatch(/hang +hang: /);
    expect(f.some((l) => / tcmalloc\.SlowTLS +2 +2✗ +1 1/.test(l))).toBe(true);
    expect(f[22]).toMatch(/post-mortem: at the hang/);
    expect(f[23]).toBe(" ← back  → step  c cont  C rev-cont  / search  w watch  e why  ? keys  q quit");
  });

  it("steps back with ← and forward with →", async () => {
    const { c, r, frame } = await app();
    const end = c.getState().seq;
    r.stdin.write(KEYS.left);
    let f = await frame((x) => x[1]!.startsWith(` seq ${end - 1} /`));
    expect(f[1]).toMatch(new RegExp(`^ seq ${end - 1} /`));
    expect(f.some((l) => l.startsWith(`▶ ${end - 1} `))).toBe(true);
    r.stdin.write(KEYS.right);
    f = await frame((x) => x[1]!.startsWith(` seq ${end} /`));
    expect(f[1]).toMatch(new RegExp(`^ seq ${end} /`));
  });

  it("shows all keys on ? and closes with Esc", async () => {
    const { r, frame } = await app();
    r.stdin.write("?");
    let f = await frame((x) => x.some((l) => l.startsWith(" Keys")));
    expect(f).toContain(`${"  → s".padEnd(19)}Step forward one event`);
    expect(f).toContain(`${"  ← b".padEnd(19)}Step back one event`);
    r.stdin.write(KEYS.escape);
    f = await frame((x) => !x.some((l) => l.startsWith(" Keys")) && x.some((l) => l.startsWith("▶Events")));
    expect(f.some((l) => l.startsWith("▶Events"))).toBe(true);
  });

  it("searches live and jumps on Enter; n goes to the next match", async () => {
    const { c, r, frame } = await app();
    r.stdin.write("/");
    await frame((x) => x.some((l) => l.startsWith(" Search events")));
    r.stdin.write("fork");
    let f = await frame((x) => x.some((l) => /^\/ fork +\d+ matches in all \d+ events/.test(l)));
    expect(f.find((l) => l.startsWith("▶ "))).toMatch(/fork/);
    r.stdin.write(KEYS.enter);
    f = await frame((x) => x[22]!.includes("for 'fork'"));
    expect(f[22]).toMatch(/match \d+\/\d+ for 'fork' \(n\/N: next\/previous\)/);
    const at = c.engine.cursor.seq;
    r.stdin.write("n");
    await frame(() => c.engine.cursor.seq !== at || c.getState().status?.text.includes("no later") === true);
    expect(c.engine.cursor.seq === at ? c.getState().status?.text : "moved").toMatch(/moved|no later match/);
  });

  it("adds a watchpoint on a lock from the fuzzy picker and reverse-continues to it", async () => {
    const { c, r, frame } = await app();
    r.stdin.write("w");
    await frame((x) => x.some((l) => l.startsWith(" Add a watchpoint")));
    r.stdin.write("SlowTLS pid 2");
    let f = await frame((x) => x.some((l) => l.startsWith("▶ lock tcmalloc.SlowTLS (pid 2)")));
    expect(f.find((l) => l.startsWith("▶ "))).toMatch(/^▶ lock tcmalloc\.SlowTLS \(pid 2\) +spin, id \d+$/);
    r.stdin.write(KEYS.enter);
    f = await frame((x) => x[22]!.includes("watching"));
    expect(f[22]).toMatch(/^ watching lock tcmalloc\.SlowTLS \(pid 2\) \(\d+ hits? in the trace\)/);
    // Reverse-continue walks back through watchpoint hits and invariant breaks.
    for (let i = 0; i < 10 && !(c.getState().status?.text ?? "").startsWith("lock tcmalloc.SlowTLS"); i++) {
      const before = c.engine.cursor.seq;
      r.stdin.write("C");
      await waitFor(
        () => c.engine.cursor.seq,
        (x) => x !== before,
      );
    }
    f = await frame((x) => x[22]!.startsWith(" lock tcmalloc.SlowTLS"));
    expect(f[22]).toMatch(/^ lock tcmalloc\.SlowTLS \(id \d+, pid 2\): .* → tid \d+ at seq \d+/);
    expect(c.getState().status?.tone).toBe("hit");
    expect(f[1]).toMatch(new RegExp(`^ seq ${c.engine.cursor.seq} /`));
  });

  it("moves focus with Tab and explains the selected lock with e", async () => {
    const { r, frame } = await app();
    for (let i = 0; i < 3; i++) r.stdin.write(KEYS.tab);
    await frame((x) => x[22]!.includes("tcmalloc.SlowTLS in pid 2"));
    r.stdin.write("e");
    const f = await frame((x) => x.some((l) => l.startsWith(" Why: lock tcmalloc.SlowTLS")));
    expect(f.some((l) => /owner tid 2 does not exist/.test(l))).toBe(true);
    expect(f.some((l) => /^seq \d+ {2}owner: /.test(l))).toBe(true);
  });

  it("takes keys that arrive in one chunk one by one (a held key, keys sent at once)", async () => {
    const { c, r, frame } = await app();
    const end = c.getState().seq;
    r.stdin.write("bbb");
    await frame((x) => x[1]!.startsWith(` seq ${end - 3} /`));
    expect(c.getState().seq).toBe(end - 3);
    r.stdin.write("\t\t\t");
    await frame((x) => x.some((l) => l.includes("▶Locks")));
    expect(c.getState().focus).toBe("locks");
  });

  it("goes to a typed seq with g", async () => {
    const { c, r, frame } = await app();
    r.stdin.write("g");
    await frame((x) => x[22]!.startsWith("go to seq: "));
    r.stdin.write("12");
    await frame((x) => x[22]!.startsWith("go to seq: 12"));
    r.stdin.write(KEYS.enter);
    const f = await frame((x) => x[1]!.startsWith(" seq 12 /"));
    expect(f[1]).toMatch(/^ seq 12 \//);
    expect(c.engine.cursor.seq).toBe(12);
  });

  it("quits on q", async () => {
    const { c, r } = await app();
    r.stdin.write("q");
    await waitFor(
      () => c.getState().quit,
      (x) => x,
    );
    expect(c.getState().quit).toBe(true);
  });

  it("adapts to the terminal size", async () => {
    const c = await replayFor("tcmalloc-fork");
    const r = mount(<App store={c} size={{ columns: 120, rows: 40 }} />);
    let f = await waitFor(
      () => lines(r.lastFrame()),
      (x) => x.length === 40,
    );
    expect(f).toHaveLength(40);
    for (const l of f) expect(l.length).toBeLessThanOrEqual(120);
    r.rerender(<App store={c} size={{ columns: 80, rows: 24 }} />);
    f = await waitFor(
      () => lines(r.lastFrame()),
      (x) => x.length === 24,
    );
    expect(f).toHaveLength(24);
    for (const l of f) expect(l.length).toBeLessThanOrEqual(80);
    r.rerender(<App store={c} size={{ columns: 50, rows: 10 }} />);
    f = await waitFor(
      () => lines(r.lastFrame()),
      (x) => x.join(" ").includes("50x10"),
    );
    expect(f.join(" ")).toMatch(/the terminal is 50x10; make it at\s+least 60x16/);
  });
});

describe("user text in CJK and emoji (two cells a character)", () => {
  // A user's scenario whose names take two terminal cells per character.
  const scenario = `export default (k) =>
  k.defineScenario({
    name: "银行-死锁🏦",
    description: "两个线程以相反顺序获取两个互斥锁",
    defaults: { seed: 1 },
    build: () => {
      const transfer = (first, second) => [
        k.repeat(3, [k.lock(first), k.user("扣款 debit 💸"), k.lock(second), k.user("入账"), k.unlock(second), k.unlock(first)]),
      ];
      const [a, b] = ["账户.甲🔒", "账户.乙🔐"];
      return { procs: [{ name: "银行进程🏦", main: [k.thread(transfer(a, b)), ...transfer(b, a)] }] };
    },
  });
`;

  it("lays the replay screen out in 80x24 by cells: nothing wider than the terminal, columns aligned", async () => {
    const file = path.join(tmp, "cjk.ts");
    writeFileSync(file, scenario);
    const c = await replayFor(file);
    const r = mount(<App store={c} size={{ columns: 80, rows: 24 }} />);
    const f = await waitFor(
      () => lines(r.lastFrame()),
      (x) => x.length === 24,
    );
    expect(f).toHaveLength(24);
    for (const l of f) expect(cellWidth(l), l).toBeLessThanOrEqual(80);
    expect(f[0]).toContain("银行-死锁🏦");
    expect(f[2]).toMatch(/^✖ HANG at seq \d+: tid 1 \(pid 1\) blocks on 账户\.甲🔒/);
    // The lock pane's rows: the name column is as wide in cells on every row, so the pid column lines up.
    /** The cell where the column after `name` starts, on the line that shows it. */
    const nextColumn = (name: string) => {
      const l = f.slice(f.findIndex((x) => x.includes(" name "))).find((x) => x.includes(` ${name} `))!;
      const end = l.indexOf(` ${name} `) + name.length + 1;
      return cellWidth(l.slice(0, end + l.slice(end).search(/\S/)));
    };
    const cols = ["账户.甲🔒", "账户.乙🔐", "vmar(1)"].map(nextColumn);
    expect(cols[0]).toBeGreaterThan(26);
    expect(new Set(cols).size).toBe(1);
    // The explanation wraps by cells.
    for (let i = 0; i < 3; i++) r.stdin.write(KEYS.tab);
    await waitFor(
      () => c.getState().focus,
      (x) => x === "locks",
    );
    r.stdin.write("e");
    const e = await waitFor(
      () => lines(r.lastFrame()),
      (x) => x.some((l) => l.startsWith(" Why: lock 账户")),
    );
    for (const l of e) expect(cellWidth(l), l).toBeLessThanOrEqual(80);
  });

  it("wraps explanation lines by cells, continuing under their indentation", () => {
    const long = `  seq 15  owner: tid 1 took 账户.乙🔐 then 账户.甲🔒 and ${"很长的说明".repeat(6)} (owner since seq 15)`;
    const w = explainLines([long, "short"], 40);
    expect(w.length).toBeGreaterThan(3);
    for (const l of w) expect(cellWidth(l), l).toBeLessThanOrEqual(40);
    expect(w[0]!.startsWith("  seq 15")).toBe(true);
    for (const l of w.slice(1, -1)) expect(l.startsWith("    ")).toBe(true);
    expect(w.at(-1)).toBe("short");
    expect(w.join("").replace(/ /g, "")).toBe((long + "short").replace(/ /g, ""));
  });
});

describe("search highlighting", () => {
  it("never splits a character made of two UTF-16 units", async () => {
    const { highlightRuns } = await import("../src/tui/search.tsx");
    const runs = highlightRuns("lock 🔒 a", [5, 8]);
    expect(runs.map((r) => r.text).join("")).toBe("lock 🔒 a");
    expect(runs).toEqual([
      { text: "lock ", hit: false },
      { text: "🔒", hit: true },
      { text: " ", hit: false },
      { text: "a", hit: true },
    ]);
  });
});
