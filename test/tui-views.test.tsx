// The views, through ink-testing-library: write keys to stdin, compare
// lastFrame(). Components are checked line by line; the whole App is driven
// through a post-mortem session on the tcmalloc-fork hang.

import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { App, layout } from '../src/tui/app.tsx';
import { EventList, eventLines, firstShown } from '../src/tui/event-list.tsx';
import { Footer, footerEntries } from '../src/tui/footer.tsx';
import type { EventRow, Marks } from '../src/tui/frame.ts';
import { Help } from '../src/tui/help.tsx';
import { DEFAULT_KEYMAP } from '../src/tui/keymap.ts';
import type { Pane } from '../src/tui/rows.ts';
import { PaneView } from '../src/tui/state-panes.tsx';
import { Timeline, columnOf, timelineCells, timelineLabels } from '../src/tui/timeline.tsx';
import { initialViewState } from '../src/tui/use-replay-state.ts';
import { controllerFor, KEYS, waitFor } from './helpers/tui.ts';

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
  return (frame ?? '').split('\n').map((l) => l.replace(/\s+$/, ''));
}

const NO_MARKS: Marks = { watchHits: [], violation: undefined, failure: null };

describe('timeline', () => {
  it('maps positions -1..total-1 across the width', () => {
    expect(columnOf(-1, 100, 50)).toBe(0);
    expect(columnOf(99, 100, 50)).toBe(49);
    expect(columnOf(49, 100, 50)).toBe(24);
  });

  it('draws snapshots, watch hits, the violation and the failure, highest first', () => {
    const cells = timelineCells({ seq: 0, total: 20, snapshotSeqs: [-1, 4, 9], marks: { watchHits: [9, 14], violation: 14, violations: [14, 16], failure: 19 }, width: 21 });
    expect(cells.map((c) => c.ch).join('')).toBe('─────┴────◆────!─!──✖');
    expect(cells.findIndex((c) => c.cursor)).toBe(1);
  });

  it('labels the start, the cursor and the last seq', () => {
    expect(timelineLabels(9, 20, 21)).toBe('0         ▲ 9      19');
    expect(timelineLabels(19, 20, 21)).toBe('0                ▲ 19');
    expect(timelineLabels(-1, 20, 21)).toBe(`${'▲ start'.padEnd(19)}19`);
  });

  it('renders two lines across the width', () => {
    const { lastFrame } = mount(<Timeline seq={9} total={20} snapshotSeqs={[-1, 4]} marks={{ ...NO_MARKS, failure: 19 }} width={21} />);
    expect(lines(lastFrame())).toEqual(['─────┴──────────────✖', '0         ▲ 9      19']);
  });
});

const ev = (seq: number, kindName: string, text: string): EventRow => ({ seq, time: seq * 10, cpu: seq % 2, tid: 3, kind: 1, kindName, text });
const EVENTS = Array.from({ length: 30 }, (_, i) => ev(i, 'user', `step ${i}`));

describe('event list', () => {
  it('keeps the cursor in the middle, and the list full at the ends', () => {
    expect(firstShown(15, 30, 7)).toBe(12);
    expect(firstShown(29, 30, 7)).toBe(23);
    expect(firstShown(0, 30, 7)).toBe(-1);
  });

  it('shows seq, cpu, tid, kind and the description, with the cursor and marks', () => {
    const { lastFrame } = mount(
      <EventList events={EVENTS} seq={15} total={30} marks={{ watchHits: [14], violation: 16, failure: 17 }} height={5} width={60} focused />,
    );
    expect(lines(lastFrame())).toEqual([
      ' Events  seq 15 of 30',
      '◆ 14 c0  t3   user         step 14',
      '▶ 15 c1  t3   user         step 15',
      '! 16 c0  t3   user         step 16',
      '✖ 17 c1  t3   user         step 17',
    ]);
  });

  it('shows the initial state as the first row at the start', () => {
    const l = eventLines({ events: EVENTS, seq: -1, total: 30, marks: NO_MARKS, width: 60, rows: 3 });
    expect(l.map((x) => x.pos)).toEqual([-1, 0, 1]);
    expect(l[0]!.text).toMatch(/^ -1  start: the initial state, before event 0 *$/);
    expect(l[0]!.cursor).toBe(true);
  });
});

const LOCKS: Pane = {
  id: 'locks',
  title: 'Locks',
  columns: ['name', 'pid', 'own', 'lv', 'w'],
  widths: [10, 3, 4, 2, 1],
  flex: 0,
  rows: [
    { ref: { kind: 'lock', id: 13 }, cells: ['tcmalloc.SlowTLS', '2', '2✗', '1', '1'], mark: 'bad', note: 'owner tid 2 does not exist' },
    { ref: { kind: 'lock', id: 0 }, cells: ['vmar(1)', 'k', '-', '0', ''], mark: 'dim' },
    { ref: { kind: 'lock', id: 1 }, cells: ['a', '1', '1', '1', ''], mark: null },
  ],
};

describe('state panes', () => {
  it('draws a titled table with a count, a ✗ count, and the rows', () => {
    const { lastFrame } = mount(<PaneView pane={LOCKS} width={32} height={5} focused={false} selected={0} />);
    expect(lines(lastFrame())).toEqual([
      ' Locks  3 ✗1',
      'name              pid own  lv w',
      'tcmalloc.SlowTLS    2   2✗  1 1',
      'vmar(1)           k   -     0',
      'a                   1    1  1',
    ]);
  });

  it('scrolls to keep the selected row visible', () => {
    const { lastFrame } = mount(<PaneView pane={LOCKS} width={32} height={3} focused selected={2} />);
    expect(lines(lastFrame())).toEqual([' Locks  3-3/3 ✗1', 'name              pid own  lv w', 'a                   1    1  1']);
  });
});

describe('footer and help', () => {
  const s = initialViewState({ seq: 3, total: 10, failureSeq: 9 });

  it('lists the keys that matter now, generated from the key map, within the width', () => {
    const { lastFrame } = mount(<Footer state={s} keymap={DEFAULT_KEYMAP} width={80} />);
    const line = lines(lastFrame())[0]!;
    expect(line.length).toBeLessThanOrEqual(80);
    expect(line).toBe(' ← back  → step  c cont  C rev-cont  / search  w watch  e why  ? keys  q quit');
    // Wider: the failure key too.
    expect(footerEntries(s, DEFAULT_KEYMAP, 100).map((e) => e.label)).toContain('failure');
  });

  it('drops the least useful keys first on a narrow terminal, never help and quit', () => {
    const e = footerEntries(s, DEFAULT_KEYMAP, 40).map((x) => x.label);
    expect(e).toEqual(['back', 'step', 'cont', 'keys', 'quit']);
  });

  it('shows the dialog keys in a dialog', () => {
    const d = { ...s, dialog: { kind: 'search' as const, text: '', index: 0, items: [], all: [], scope: '' } };
    expect(footerEntries(d, DEFAULT_KEYMAP, 80)).toEqual([
      { keys: '↑/↓', label: 'choose' },
      { keys: 'Enter', label: 'jump' },
      { keys: 'Esc', label: 'cancel' },
    ]);
  });

  it('generates the help screen from the key map and scrolls it', () => {
    const { lastFrame, rerender } = mount(<Help keymap={DEFAULT_KEYMAP} scroll={0} width={80} height={12} />);
    const first = lines(lastFrame());
    expect(first[0]).toMatch(/^ Keys {3}from the key map \(src\/tui\/keymap.ts\) {2}\(1-11 of \d+, ↑\/↓ scroll\)$/);
    expect(first[1]).toBe('Move');
    expect(first[2]).toBe(`${'  → s'.padEnd(19)}Step forward one event`);
    rerender(<Help keymap={DEFAULT_KEYMAP} scroll={100} width={80} height={12} />);
    expect(lines(lastFrame()).at(-1)).toBe(`${'  d Del Backspace'.padEnd(19)}Remove the selected watchpoint`);
  });
});

describe('layout', () => {
  it('fits an 80x24 terminal', () => {
    const l = layout(80, 24, 2, 2);
    expect(2 + l.banner + 2 + l.middle + 1 + 1).toBe(24);
    expect(l.eventsWidth + l.sideWidth).toBe(80);
    expect(l.bottomWidths.reduce((a, b) => a + b)).toBe(80);
    expect(l.cpusHeight + l.kstacksHeight).toBe(l.top);
  });
});

describe('the app', () => {
  async function app(columns = 80, rows = 24) {
    const c = await controllerFor('tcmalloc-fork');
    const r = mount(<App store={c} size={{ columns, rows }} />);
    const frame = (want: (f: string[]) => boolean) => waitFor(() => lines(r.lastFrame()), want);
    await frame((f) => f.length > 1);
    return { c, r, frame };
  }

  it('opens post-mortem at the failure: header, banner, timeline, events, panes, footer in 80x24', async () => {
    const { c, frame } = await app();
    const f = await frame((x) => x.length === 24);
    const end = c.cursor.source.outcome!.seq;
    expect(f).toHaveLength(24);
    for (const l of f) expect(l.length).toBeLessThanOrEqual(80);
    expect(f[0]).toBe('ktrace replay tcmalloc-fork.ktrace  tcmalloc-fork  no fix  seed 1  2 cpus');
    expect(f[1]).toMatch(new RegExp(`^ seq ${end} / ${c.info.total} {3}t [0-9.]+ µs {3}outcome hang at seq ${end}$`));
    expect(f[2]).toMatch(new RegExp(`^✖ HANG at seq ${end}: `));
    expect(f[3]).toMatch(/^first violation: lock-owner-alive at seq \d+: /);
    expect(f[4]).toMatch(/^[─┴!✖◆]+$/);
    expect(f[5]).toMatch(new RegExp(`▲ ${end}$`));
    expect(f.find((l) => l.startsWith(`▶ ${end} `))).toMatch(/hang +hang: /);
    expect(f.some((l) => / tcmalloc\.SlowTLS +2 +2✗ +1 1/.test(l))).toBe(true);
    expect(f[22]).toMatch(/post-mortem: at the hang/);
    expect(f[23]).toBe(' ← back  → step  c cont  C rev-cont  / search  w watch  e why  ? keys  q quit');
  });

  it('steps back with ← and forward with →', async () => {
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

  it('shows all keys on ? and closes with Esc', async () => {
    const { r, frame } = await app();
    r.stdin.write('?');
    let f = await frame((x) => x.some((l) => l.startsWith(' Keys')));
    expect(f).toContain(`${'  → s'.padEnd(19)}Step forward one event`);
    expect(f).toContain(`${'  ← b'.padEnd(19)}Step back one event`);
    r.stdin.write(KEYS.escape);
    f = await frame((x) => !x.some((l) => l.startsWith(' Keys')));
    expect(f.some((l) => l.startsWith(' Events'))).toBe(true);
  });

  it('searches live and jumps on Enter; n goes to the next match', async () => {
    const { c, r, frame } = await app();
    r.stdin.write('/');
    await frame((x) => x.some((l) => l.startsWith(' Search events')));
    r.stdin.write('fork');
    let f = await frame((x) => x.some((l) => /^\/ fork +\d+ matches in all \d+ events/.test(l)));
    expect(f.find((l) => l.startsWith('▶ '))).toMatch(/fork/);
    r.stdin.write(KEYS.enter);
    f = await frame((x) => x[22]!.includes("for 'fork'"));
    expect(f[22]).toMatch(/match \d+\/\d+ for 'fork' \(n\/N: next\/previous\)/);
    const at = c.cursor.seq;
    r.stdin.write('n');
    await frame(() => c.cursor.seq !== at || c.getState().status?.text.includes('no later') === true);
    expect(c.cursor.seq === at ? c.getState().status?.text : 'moved').toMatch(/moved|no later match/);
  });

  it('adds a watchpoint on a lock from the fuzzy picker and reverse-continues to it', async () => {
    const { c, r, frame } = await app();
    r.stdin.write('w');
    await frame((x) => x.some((l) => l.startsWith(' Add a watchpoint')));
    r.stdin.write('SlowTLS pid 2');
    let f = await frame((x) => x.some((l) => l.startsWith('▶ lock tcmalloc.SlowTLS (pid 2)')));
    expect(f.find((l) => l.startsWith('▶ '))).toMatch(/^▶ lock tcmalloc\.SlowTLS \(pid 2\) +spin, id \d+$/);
    r.stdin.write(KEYS.enter);
    f = await frame((x) => x[22]!.includes('watching'));
    expect(f[22]).toMatch(/^ watching lock tcmalloc\.SlowTLS \(pid 2\) \(\d+ hits? in the trace\)/);
    // Reverse-continue walks back through watchpoint hits and invariant breaks.
    for (let i = 0; i < 10 && !(c.getState().status?.text ?? '').startsWith('lock tcmalloc.SlowTLS'); i++) {
      const before = c.cursor.seq;
      r.stdin.write('C');
      await waitFor(() => c.cursor.seq, (x) => x !== before);
    }
    f = await frame((x) => x[22]!.startsWith(' lock tcmalloc.SlowTLS'));
    expect(f[22]).toMatch(/^ lock tcmalloc\.SlowTLS \(id \d+, pid 2\): .* → tid \d+ at seq \d+/);
    expect(c.getState().status?.tone).toBe('hit');
    expect(f[1]).toMatch(new RegExp(`^ seq ${c.cursor.seq} /`));
  });

  it('moves focus with Tab and explains the selected lock with e', async () => {
    const { r, frame } = await app();
    for (let i = 0; i < 3; i++) r.stdin.write(KEYS.tab);
    await frame((x) => x[22]!.includes('tcmalloc.SlowTLS in pid 2'));
    r.stdin.write('e');
    const f = await frame((x) => x.some((l) => l.startsWith(' Why: lock tcmalloc.SlowTLS')));
    expect(f.some((l) => /owner tid 2 does not exist/.test(l))).toBe(true);
    expect(f.some((l) => /^seq \d+ {2}owner: /.test(l))).toBe(true);
  });

  it('goes to a typed seq with g', async () => {
    const { c, r, frame } = await app();
    r.stdin.write('g');
    await frame((x) => x[22]!.startsWith('go to seq: '));
    r.stdin.write('12');
    await frame((x) => x[22]!.startsWith('go to seq: 12'));
    r.stdin.write(KEYS.enter);
    const f = await frame((x) => x[1]!.startsWith(' seq 12 /'));
    expect(f[1]).toMatch(/^ seq 12 \//);
    expect(c.cursor.seq).toBe(12);
  });

  it('quits on q', async () => {
    const { c, r } = await app();
    r.stdin.write('q');
    await waitFor(() => c.getState().quit, (x) => x);
    expect(c.getState().quit).toBe(true);
  });

  it('adapts to the terminal size', async () => {
    const c = await controllerFor('tcmalloc-fork');
    const r = mount(<App store={c} size={{ columns: 120, rows: 40 }} />);
    let f = await waitFor(() => lines(r.lastFrame()), (x) => x.length === 40);
    expect(f).toHaveLength(40);
    for (const l of f) expect(l.length).toBeLessThanOrEqual(120);
    r.rerender(<App store={c} size={{ columns: 80, rows: 24 }} />);
    f = await waitFor(() => lines(r.lastFrame()), (x) => x.length === 24);
    expect(f).toHaveLength(24);
    for (const l of f) expect(l.length).toBeLessThanOrEqual(80);
    r.rerender(<App store={c} size={{ columns: 50, rows: 10 }} />);
    f = await waitFor(() => lines(r.lastFrame()), (x) => x.join(' ').includes('50x10'));
    expect(f.join(' ')).toMatch(/the terminal is 50x10; make it at\s+least 60x16/);
  });
});
