// The view-state reducer: every UI rule, pure, no terminal and no trace.

import { describe, expect, it } from 'vitest';
import type { Command } from '../src/tui/keymap.ts';
import {
  initialViewState,
  update,
  type Intent,
  type PerPane,
  type Update,
  type ViewState,
} from '../src/tui/use-replay-state.ts';

const ROWS: PerPane = { events: 100, cpus: 2, threads: 3, locks: 5, kstacks: 2, procs: 2 };

function s0(over: Partial<ViewState> = {}): ViewState {
  return { ...initialViewState({ seq: 10, total: 100, rows: ROWS, failureSeq: 90, violationSeq: 40 }), ...over };
}
const cmd = (command: Command): Intent => ({ type: 'command', command });
const run = (s: ViewState, ...intents: Intent[]): Update => {
  let u: Update = { state: s };
  for (const i of intents) u = update(u.state, i);
  return u;
};
/** What the controller reports after a seek. */
const moved = (seq: number, status?: { text: string; tone: 'info' }): Intent =>
  status ? { type: 'moved', seq, rows: ROWS, status } : { type: 'moved', seq, rows: ROWS };

describe('moving', () => {
  it('steps forward and back by one, telling the engine it is a single step', () => {
    expect(update(s0(), cmd('step')).effect).toEqual({ kind: 'seek', seq: 11, via: 'step' });
    expect(update(s0(), cmd('stepBack')).effect).toEqual({ kind: 'seek', seq: 9, via: 'stepBack' });
  });

  it('stops at the ends with a message instead of an effect', () => {
    const atEnd = update(s0({ seq: 99 }), cmd('step'));
    expect(atEnd.effect).toBeUndefined();
    expect(atEnd.state.status?.text).toBe('at the last event (seq 99)');
    const atStart = update(s0({ seq: -1 }), cmd('stepBack'));
    expect(atStart.effect).toBeUndefined();
    expect(atStart.state.status?.text).toMatch(/at the start/);
  });

  it('goes to the start (-1, the initial state) and the end', () => {
    expect(update(s0(), cmd('start')).effect).toEqual({ kind: 'seek', seq: -1 });
    expect(update(s0(), cmd('end')).effect).toEqual({ kind: 'seek', seq: 99 });
  });

  it('pages by the event list height, clamped to the trace', () => {
    const s = update(s0(), { type: 'page', rows: 8 }).state;
    expect(update(s, cmd('pageDown')).effect).toEqual({ kind: 'seek', seq: 18 });
    expect(update(s, cmd('pageUp')).effect).toEqual({ kind: 'seek', seq: 2 });
    expect(update({ ...s, seq: 3 }, cmd('pageUp')).effect).toEqual({ kind: 'seek', seq: -1 });
  });

  it('asks the engine to continue and reverse-continue', () => {
    expect(update(s0(), cmd('continue')).effect).toEqual({ kind: 'continue', dir: 1 });
    expect(update(s0(), cmd('reverseContinue')).effect).toEqual({ kind: 'continue', dir: -1 });
  });

  it('takes the new position, rows and message from moved', () => {
    const s = run(s0(), cmd('step'), moved(11, { text: 'hi', tone: 'info' })).state;
    expect(s.seq).toBe(11);
    expect(s.status).toEqual({ text: 'hi', tone: 'info' });
    expect(update(s, moved(12)).state.status).toBeNull();
  });
});

describe('failure and violation', () => {
  it('jumps to the failure, or says the run did not fail', () => {
    expect(update(s0(), cmd('failure')).effect).toEqual({ kind: 'seek', seq: 90 });
    const ok = update(s0({ failureSeq: null }), cmd('failure'));
    expect(ok.effect).toBeUndefined();
    expect(ok.state.status?.text).toMatch(/did not fail/);
  });

  it('jumps to a known violation, searches for an unknown one, reports none', () => {
    expect(update(s0(), cmd('violation')).effect).toEqual({ kind: 'seek', seq: 40 });
    expect(update(s0({ violationSeq: undefined }), cmd('violation')).effect).toEqual({ kind: 'find-violation' });
    const none = update(s0({ violationSeq: null }), cmd('violation'));
    expect(none.effect).toBeUndefined();
    expect(none.state.status?.text).toMatch(/no invariant/);
    expect(update(s0({ violationSeq: undefined }), { type: 'violation', seq: 7 }).state.violationSeq).toBe(7);
  });
});

describe('go to', () => {
  it('opens a prompt that takes digits and goes on Enter', () => {
    const u = run(s0(), cmd('goTo'), { type: 'type', text: '4' }, { type: 'type', text: '2' }, cmd('accept'));
    expect(u.effect).toEqual({ kind: 'seek', seq: 42 });
    expect(u.state.dialog).toBeNull();
  });

  it('refuses letters and numbers outside the trace, and erases with Backspace', () => {
    let s = run(s0(), cmd('goTo'), { type: 'type', text: 'x' }).state;
    expect(s.dialog).toEqual({ kind: 'goto', text: '', error: 'digits only: an event number' });
    s = run(s, { type: 'type', text: '500' }, cmd('accept')).state;
    expect(s.dialog?.kind === 'goto' && s.dialog.error).toBe('no event 500: events are 0..99');
    s = run(s, cmd('deleteChar'), cmd('deleteChar')).state;
    expect(s.dialog?.kind === 'goto' && s.dialog.text).toBe('5');
    expect(run(s, cmd('cancel')).state.dialog).toBeNull();
  });
});

describe('search', () => {
  const items = [
    { id: 'ev:60', label: 'fork fork: pid 1', seq: 60 },
    { id: 'ev:20', label: 'user fork()', seq: 20 },
  ];
  const found: Intent = { type: 'items', list: 'search', text: 'fork', items, all: [20, 60, 80], scope: 'all 100 events' };

  it('queries as you type and shows the results for the current text only', () => {
    let u = run(s0(), cmd('search'));
    expect(u.effect).toEqual({ kind: 'query', list: 'search', text: '' });
    u = run(u.state, { type: 'type', text: 'f' });
    expect(u.effect).toEqual({ kind: 'query', list: 'search', text: 'f' });
    u = run(u.state, { type: 'type', text: 'ork' });
    expect(u.effect).toEqual({ kind: 'query', list: 'search', text: 'fork' });
    // A late answer for an older text is dropped.
    const stale = update(u.state, { type: 'items', list: 'search', text: 'f', items, all: [1] }).state;
    expect(stale.dialog?.kind === 'search' && stale.dialog.items).toEqual([]);
    const s = update(u.state, found).state;
    expect(s.dialog?.kind === 'search' && s.dialog.items.length).toBe(2);
  });

  it('jumps to the chosen result on Enter and keeps the matches for n / N', () => {
    const s = run(s0(), cmd('search'), { type: 'type', text: 'fork' }, found).state;
    const down = update(s, cmd('listDown'));
    const u = update(down.state, cmd('accept'));
    expect(u.effect).toMatchObject({ kind: 'seek', seq: 20 });
    expect(u.state.search).toEqual({ query: 'fork', matches: [20, 60, 80] });
    expect(u.state.dialog).toBeNull();
    // After the jump, n goes to the next match after the cursor, N to the previous one.
    const at20 = update(u.state, moved(20)).state;
    expect(update(at20, cmd('nextMatch')).effect).toMatchObject({ kind: 'seek', seq: 60, note: { text: "match 2/3 for 'fork'" } });
    expect(update(at20, cmd('prevMatch')).effect).toBeUndefined();
    expect(update(at20, cmd('prevMatch')).state.status?.text).toBe("no earlier match for 'fork' (3 in all)");
    const at80 = update(at20, moved(80)).state;
    expect(update(at80, cmd('nextMatch')).state.status?.text).toMatch(/no later match/);
    expect(update(at80, cmd('prevMatch')).effect).toMatchObject({ seq: 60 });
  });

  it('wraps the list selection and says when nothing matches', () => {
    const s = run(s0(), cmd('search'), { type: 'type', text: 'fork' }, found).state;
    expect(run(s, cmd('listUp')).state.dialog).toMatchObject({ index: 1 });
    const none = run(s0(), cmd('search'), { type: 'type', text: 'zzz' }, cmd('accept'));
    expect(none.effect).toBeUndefined();
    expect(none.state.status?.text).toBe("no event matches 'zzz'");
  });

  it('asks to search first when n is pressed before any search', () => {
    expect(update(s0(), cmd('nextMatch')).state.status?.text).toMatch(/press \/ to search/);
  });
});

describe('watchpoints', () => {
  it('adds the chosen watchable by its spec', () => {
    let u = run(s0(), cmd('watch'));
    expect(u.effect).toEqual({ kind: 'query', list: 'watch-pick', text: '' });
    u = run(u.state, { type: 'type', text: 'slow' });
    u = run(u.state, { type: 'items', list: 'watch-pick', text: 'slow', items: [{ id: 'lock:13', label: 'lock tcmalloc.SlowTLS' }] });
    u = run(u.state, cmd('accept'));
    expect(u.effect).toEqual({ kind: 'add-watch', id: 'lock:13' });
    expect(u.state.dialog).toBeNull();
  });

  it('says so when nothing matches the typed text', () => {
    const u = run(s0(), cmd('watch'), { type: 'type', text: 'nope' }, { type: 'items', list: 'watch-pick', text: 'nope', items: [] }, cmd('accept'));
    expect(u.effect).toBeUndefined();
    expect(u.state.status?.text).toMatch(/nothing to watch matches 'nope'/);
  });

  it('lists and removes watchpoints, keeping the selection in range', () => {
    const watches = [{ id: 1, label: 'lock a' }, { id: 2, label: 'thread tid 3 state' }];
    let s = update(s0(), { type: 'watches', watches }).state;
    s = run(s, cmd('watchList'), cmd('listDown'), cmd('listDown')).state;
    expect(s.dialog).toEqual({ kind: 'watch-list', index: 1 });
    const u = update(s, cmd('removeWatch'));
    expect(u.effect).toEqual({ kind: 'remove-watch', id: 2 });
    s = update(u.state, { type: 'watches', watches: [watches[0]!] }).state;
    expect(s.dialog).toEqual({ kind: 'watch-list', index: 0 });
  });
});

describe('panes, focus, explain', () => {
  it('cycles focus with Tab and Shift+Tab', () => {
    expect(update(s0(), cmd('focusNext')).state.focus).toBe('cpus');
    expect(update(s0(), cmd('focusPrev')).state.focus).toBe('procs');
    expect(run(s0(), ...Array.from({ length: 6 }, () => cmd('focusNext'))).state.focus).toBe('events');
  });

  it('moves the selection in a state pane, clamped to its rows', () => {
    const s = run(s0(), cmd('focusNext'), cmd('focusNext'), cmd('selectDown'), cmd('selectDown'), cmd('selectDown')).state;
    expect(s.focus).toBe('threads');
    expect(s.selected.threads).toBe(2);
    // Fewer rows after a move: the selection follows.
    const fewer = update(s, { type: 'moved', seq: 11, rows: { ...ROWS, threads: 1 } }).state;
    expect(fewer.selected.threads).toBe(0);
  });

  it('steps with ↑/↓ when the event list has the focus', () => {
    expect(update(s0(), cmd('selectDown')).effect).toMatchObject({ seq: 11 });
    expect(update(s0(), cmd('selectUp')).effect).toMatchObject({ seq: 9 });
  });

  it('explains the selected row, or the event at the cursor', () => {
    expect(update(s0(), cmd('explain')).effect).toEqual({ kind: 'explain', pane: 'events', row: 10 });
    const locks = run(s0({ focus: 'locks' }), cmd('selectDown')).state;
    expect(update(locks, cmd('explain')).effect).toEqual({ kind: 'explain', pane: 'locks', row: 1 });
    const empty = update(s0({ focus: 'kstacks', rows: { ...ROWS, kstacks: 0 } }), cmd('explain'));
    expect(empty.effect).toBeUndefined();
    expect(empty.state.status?.text).toMatch(/empty/);
  });

  it('shows an explanation, scrolls it, and jumps to its event on Enter', () => {
    let s = update(s0(), { type: 'explained', title: 'lock x', lines: ['a', 'b'], seq: 33 }).state;
    expect(s.dialog).toMatchObject({ kind: 'explain', seq: 33, scroll: 0 });
    s = update(s, cmd('listDown')).state;
    expect(s.dialog).toMatchObject({ scroll: 1 });
    const u = update(s, cmd('accept'));
    expect(u.effect).toEqual({ kind: 'seek', seq: 33 });
    expect(u.state.dialog).toBeNull();
  });
});

describe('help, dismiss, quit', () => {
  it('opens help with ? and closes it with ?, q or Esc', () => {
    const s = update(s0(), cmd('help')).state;
    expect(s.dialog).toEqual({ kind: 'help', scroll: 0 });
    for (const c of ['close', 'cancel'] as const) expect(update(s, cmd(c)).state.dialog).toBeNull();
  });

  it('hides the message, then the banner, with Esc', () => {
    let s = s0({ banner: 'HANG', status: { text: 'x', tone: 'info' } });
    s = update(s, cmd('dismiss')).state;
    expect([s.status, s.banner]).toEqual([null, 'HANG']);
    s = update(s, cmd('dismiss')).state;
    expect(s.banner).toBeNull();
  });

  it('quits with q, and with Ctrl+C from inside a dialog', () => {
    const u = update(s0(), cmd('quit'));
    expect(u.effect).toEqual({ kind: 'quit' });
    expect(u.state.quit).toBe(true);
    const d = run(s0(), cmd('search'), cmd('interrupt'));
    expect(d.state.quit).toBe(true);
  });

  it('ignores main-screen commands while a dialog is open', () => {
    const s = update(s0(), cmd('help')).state;
    expect(update(s, cmd('step'))).toEqual({ state: s });
  });
});
