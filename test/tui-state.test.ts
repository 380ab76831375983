// The view-state reducer: every UI rule, with a fake engine that records what
// it is asked (no terminal, no trace).

import { describe, expect, it } from "vitest";
import type { Command } from "../src/tui/keymap.ts";
import { type Intent, initialViewState, type PerPane, reduce, type ViewState } from "../src/tui/use-replay-state.ts";
import { type Call, type FakeEngine, fakeEngine } from "./helpers/tui.ts";

const ROWS: PerPane = { events: 100, cpus: 2, threads: 3, locks: 5, kstacks: 2, sync: 0, procs: 2 };

function s0(over: Partial<ViewState> = {}): ViewState {
  return { ...initialViewState({ seq: 10, total: 100, rows: ROWS, failureSeq: 90, violationSeq: 40 }), ...over };
}
const cmd = (command: Command): Intent => ({ type: "command", command });

interface Run {
  readonly state: ViewState;
  /** Everything the engine was asked. */
  readonly calls: readonly Call[];
  /** The last thing the engine was asked (undefined: nothing). */
  readonly effect: Call | undefined;
}

/** Reduces the intents in order against one fake engine (made with `opts`, or given). */
function run(s: ViewState, intents: Intent[], e: FakeEngine = fakeEngine({ total: s.total, rows: ROWS })): Run {
  let state = s;
  for (const i of intents) state = reduce(state, i, e);
  return { state, calls: e.calls, effect: e.calls.at(-1) };
}
const update = (s: ViewState, i: Intent, e?: FakeEngine): Run => run(s, [i], e);

describe("moving", () => {
  it("steps forward and back by one, telling the engine it is a single step", () => {
    expect(update(s0(), cmd("step")).effect).toEqual({ kind: "seek", seq: 11, via: "step" });
    expect(update(s0(), cmd("stepBack")).effect).toEqual({ kind: "seek", seq: 9, via: "stepBack" });
  });

  it("stops at the ends with a message instead of asking the engine", () => {
    const atEnd = update(s0({ seq: 99 }), cmd("step"));
    expect(atEnd.effect).toBeUndefined();
    expect(atEnd.state.status?.text).toBe("at the last event (seq 99)");
    const atStart = update(s0({ seq: -1 }), cmd("stepBack"));
    expect(atStart.effect).toBeUndefined();
    expect(atStart.state.status?.text).toMatch(/at the start/);
  });

  it("goes to the start (-1, the initial state) and the end", () => {
    expect(update(s0(), cmd("start")).effect).toEqual({ kind: "seek", seq: -1 });
    expect(update(s0(), cmd("end")).effect).toEqual({ kind: "seek", seq: 99 });
  });

  it("pages by the event list height, clamped to the trace", () => {
    const s = update(s0(), { type: "page", rows: 8 }).state;
    expect(update(s, cmd("pageDown")).effect).toEqual({ kind: "seek", seq: 18 });
    expect(update(s, cmd("pageUp")).effect).toEqual({ kind: "seek", seq: 2 });
    expect(update({ ...s, seq: 3 }, cmd("pageUp")).effect).toEqual({ kind: "seek", seq: -1 });
  });

  it("asks the engine to continue and reverse-continue", () => {
    expect(update(s0(), cmd("continue")).effect).toEqual({ kind: "continue", dir: 1 });
    expect(update(s0(), cmd("reverseContinue")).effect).toEqual({ kind: "continue", dir: -1 });
    expect(update(s0(), cmd("continue")).state.status).toEqual({ text: "stopped", tone: "hit" });
  });

  it("takes the new position, rows and frame from the engine's answer; the message clears", () => {
    const s = update(s0({ status: { text: "hi", tone: "info" } }), cmd("step")).state;
    expect(s.seq).toBe(11);
    expect(s.frame.seq).toBe(11);
    expect(s.rows).toEqual(ROWS);
    expect(s.status).toBeNull();
  });

  it("announces slow work first and does it on resume (the store sends it a frame later)", () => {
    const e = fakeEngine({ total: 100, rows: ROWS, slow: ["continue"] });
    const busy = update(s0(), cmd("continue"), e);
    expect(busy.effect).toBeUndefined();
    expect(busy.state.busy).toBe("continue");
    expect(busy.state.status?.text).toBe("continue…");
    const done = update(busy.state, { type: "resume" }, e);
    expect(done.effect).toEqual({ kind: "continue", dir: 1 });
    expect(done.state.busy).toBeNull();
  });
});

describe("failure and violation", () => {
  it("jumps to the failure, or says the run did not fail", () => {
    expect(update(s0(), cmd("failure")).effect).toEqual({ kind: "seek", seq: 90 });
    const ok = update(s0({ failureSeq: null }), cmd("failure"));
    expect(ok.effect).toBeUndefined();
    expect(ok.state.status?.text).toMatch(/did not fail/);
  });

  it("jumps to a known violation, searches for an unknown one, reports none", () => {
    expect(update(s0(), cmd("violation")).effect).toEqual({ kind: "seek", seq: 40 });
    const found = update(
      s0({ violationSeq: undefined }),
      cmd("violation"),
      fakeEngine({ total: 100, rows: ROWS, violation: { seq: 7, line: "x at seq 7: y" } }),
    );
    expect(found.calls).toEqual([{ kind: "find-violation" }, { kind: "seek", seq: 7 }]);
    expect(found.state.violationSeq).toBe(7);
    expect(found.state.status).toEqual({ text: "x at seq 7: y", tone: "error" });
    const none = update(s0({ violationSeq: null }), cmd("violation"));
    expect(none.effect).toBeUndefined();
    expect(none.state.status?.text).toMatch(/no invariant/);
    const searched = update(
      s0({ violationSeq: undefined }),
      cmd("violation"),
      fakeEngine({ total: 100, rows: ROWS, violation: null }),
    );
    expect(searched.state.violationSeq).toBeNull();
    expect(searched.state.status?.text).toMatch(/no invariant/);
  });

  it("takes the first violation from the background scan once it is known", () => {
    const e = fakeEngine({ total: 100, rows: ROWS, violation: { seq: 12, line: "v" } });
    expect(update(s0({ violationSeq: undefined }), { type: "scanned" }, e).state.violationSeq).toBe(12);
    expect(update(s0({ violationSeq: undefined }), { type: "scanned" }).state.violationSeq).toBeUndefined();
  });
});

describe("go to", () => {
  it("opens a prompt that takes digits and goes on Enter", () => {
    const u = run(s0(), [cmd("goTo"), { type: "type", text: "4" }, { type: "type", text: "2" }, cmd("accept")]);
    expect(u.effect).toEqual({ kind: "seek", seq: 42 });
    expect(u.state.dialog).toBeNull();
  });

  it("refuses letters and numbers outside the trace, and erases with Backspace", () => {
    let s = run(s0(), [cmd("goTo"), { type: "type", text: "x" }]).state;
    expect(s.dialog).toEqual({ kind: "goto", text: "", error: "digits only: an event number" });
    s = run(s, [{ type: "type", text: "500" }, cmd("accept")]).state;
    expect(s.dialog?.kind === "goto" && s.dialog.error).toBe("no event 500: events are 0..99");
    s = run(s, [cmd("deleteChar"), cmd("deleteChar")]).state;
    expect(s.dialog?.kind === "goto" && s.dialog.text).toBe("5");
    expect(run(s, [cmd("cancel")]).state.dialog).toBeNull();
  });
});

describe("search", () => {
  const items = [
    { id: "ev:60", label: "fork fork: pid 1", seq: 60 },
    { id: "ev:20", label: "user fork()", seq: 20 },
  ];
  const searching = () =>
    fakeEngine({ total: 100, rows: ROWS, found: { items, all: [20, 60, 80], scope: "all 100 events" } });

  it("queries as you type and shows the results for the current text", () => {
    const e = searching();
    let u = run(s0(), [cmd("search")], e);
    expect(u.effect).toEqual({ kind: "query", list: "search", text: "" });
    u = run(u.state, [{ type: "type", text: "f" }], e);
    expect(u.effect).toEqual({ kind: "query", list: "search", text: "f" });
    u = run(u.state, [{ type: "type", text: "ork" }], e);
    expect(u.effect).toEqual({ kind: "query", list: "search", text: "fork" });
    expect(u.state.dialog?.kind === "search" && u.state.dialog.items.length).toBe(2);
    expect(u.state.dialog?.kind === "search" && u.state.dialog.scope).toBe("all 100 events");
  });

  it("jumps to the chosen result on Enter and keeps the matches for n / N", () => {
    const e = searching();
    const s = run(s0(), [cmd("search"), { type: "type", text: "fork" }], e).state;
    const u = run(s, [cmd("listDown"), cmd("accept")], e);
    expect(u.effect).toMatchObject({ kind: "seek", seq: 20 });
    expect(u.state.search).toEqual({ query: "fork", matches: [20, 60, 80] });
    expect(u.state.dialog).toBeNull();
    expect(u.state.status?.text).toBe("match 1/3 for 'fork' (n/N: next/previous)");
    // After the jump, n goes to the next match after the cursor, N to the previous one.
    const at20 = u.state;
    const next = update(at20, cmd("nextMatch"));
    expect(next.effect).toMatchObject({ kind: "seek", seq: 60 });
    expect(next.state.status?.text).toBe("match 2/3 for 'fork'");
    expect(update(at20, cmd("prevMatch")).effect).toBeUndefined();
    expect(update(at20, cmd("prevMatch")).state.status?.text).toBe("no earlier match for 'fork' (3 in all)");
    const at80 = { ...at20, seq: 80 };
    expect(update(at80, cmd("nextMatch")).state.status?.text).toMatch(/no later match/);
    expect(update(at80, cmd("prevMatch")).effect).toMatchObject({ seq: 60 });
  });

  it("wraps the list selection and says when nothing matches", () => {
    const s = run(s0(), [cmd("search"), { type: "type", text: "fork" }], searching()).state;
    expect(run(s, [cmd("listUp")]).state.dialog).toMatchObject({ index: 1 });
    const none = run(s0(), [cmd("search"), { type: "type", text: "zzz" }, cmd("accept")]);
    expect(none.effect).toEqual({ kind: "query", list: "search", text: "zzz" });
    expect(none.state.status?.text).toBe("no event matches 'zzz'");
  });

  it("asks to search first when n is pressed before any search", () => {
    expect(update(s0(), cmd("nextMatch")).state.status?.text).toMatch(/press \/ to search/);
  });
});

describe("watchpoints", () => {
  it("adds the chosen watchable by its spec", () => {
    const e = fakeEngine({ total: 100, rows: ROWS, watchables: [{ id: "lock:13", label: "lock tcmalloc.SlowTLS" }] });
    let u = run(s0(), [cmd("watch")], e);
    expect(u.effect).toEqual({ kind: "query", list: "watch-pick", text: "" });
    u = run(u.state, [{ type: "type", text: "slow" }], e);
    expect(u.state.dialog?.kind === "watch-pick" && u.state.dialog.items.map((i) => i.id)).toEqual(["lock:13"]);
    u = run(u.state, [cmd("accept")], e);
    expect(u.effect).toEqual({ kind: "add-watch", id: "lock:13" });
    expect(u.state.dialog).toBeNull();
    expect(u.state.watches).toEqual([{ id: 1, label: "lock:13" }]);
  });

  it("says so when nothing matches the typed text", () => {
    const u = run(s0(), [cmd("watch"), { type: "type", text: "nope" }, cmd("accept")]);
    expect(u.calls.some((c) => c.kind === "add-watch")).toBe(false);
    expect(u.state.status?.text).toMatch(/nothing to watch matches 'nope'/);
  });

  it("lists and removes watchpoints, keeping the selection in range", () => {
    const e = fakeEngine({
      total: 100,
      rows: ROWS,
      watchables: [
        { id: "lock:1", label: "lock a" },
        { id: "thread:3", label: "thread tid 3 state" },
      ],
    });
    let s = run(s0(), [cmd("watch"), cmd("accept"), cmd("watch"), cmd("listDown"), cmd("accept")], e).state;
    expect(s.watches.map((w) => w.id)).toEqual([1, 2]);
    s = run(s, [cmd("watchList"), cmd("listDown"), cmd("listDown")], e).state;
    expect(s.dialog).toEqual({ kind: "watch-list", index: 1 });
    const u = run(s, [cmd("removeWatch")], e);
    expect(u.effect).toEqual({ kind: "remove-watch", id: 2 });
    expect(u.state.dialog).toEqual({ kind: "watch-list", index: 0 });
    expect(u.state.watches.map((w) => w.id)).toEqual([1]);
  });
});

describe("panes, focus, explain", () => {
  it("cycles focus with Tab and Shift+Tab", () => {
    expect(update(s0(), cmd("focusNext")).state.focus).toBe("cpus");
    expect(update(s0(), cmd("focusPrev")).state.focus).toBe("procs");
    expect(
      run(
        s0(),
        Array.from({ length: 6 }, () => cmd("focusNext")),
      ).state.focus,
    ).toBe("events");
  });

  it("skips the kernel stacks pane on an imported trace, which shows none", () => {
    const e = fakeEngine({ total: 100, rows: ROWS });
    const imported = { ...e, info: { ...e.info, imported: "perf" } } as FakeEngine;
    const order = (eng: FakeEngine) => {
      const seen: string[] = [];
      let s = s0();
      for (let i = 0; i < 7; i++) {
        s = run(s, [cmd("focusNext")], eng).state;
        seen.push(s.focus);
      }
      return seen;
    };
    expect(order(e)).toContain("kstacks");
    expect(order(imported)).not.toContain("kstacks");
    expect(order(imported)).toContain("cpus");
  });

  it("moves the selection in a state pane, clamped to its rows", () => {
    const s = run(s0(), [
      cmd("focusNext"),
      cmd("focusNext"),
      cmd("selectDown"),
      cmd("selectDown"),
      cmd("selectDown"),
    ]).state;
    expect(s.focus).toBe("threads");
    expect(s.selected.threads).toBe(2);
    // Fewer rows after a move: the selection follows.
    const fewer = update(s, cmd("end"), fakeEngine({ total: 100, rows: { ...ROWS, threads: 1 } })).state;
    expect(fewer.selected.threads).toBe(0);
  });

  it("steps with ↑/↓ when the event list has the focus", () => {
    expect(update(s0(), cmd("selectDown")).effect).toMatchObject({ seq: 11 });
    expect(update(s0(), cmd("selectUp")).effect).toMatchObject({ seq: 9 });
  });

  it("explains the selected row, or the event at the cursor", () => {
    expect(update(s0(), cmd("explain")).effect).toEqual({ kind: "explain", pane: "events", row: 10 });
    const locks = run(s0({ focus: "locks" }), [cmd("selectDown")]).state;
    expect(update(locks, cmd("explain")).effect).toEqual({ kind: "explain", pane: "locks", row: 1 });
    const empty = update(s0({ focus: "kstacks", rows: { ...ROWS, kstacks: 0 } }), cmd("explain"));
    expect(empty.effect).toBeUndefined();
    expect(empty.state.status?.text).toMatch(/empty/);
  });

  it("shows an explanation, scrolls it, and jumps to its event on Enter", () => {
    let s = s0({ dialog: { kind: "explain", title: "lock x", lines: ["a", "b"], seq: 33, scroll: 0 } });
    expect(update(s0(), cmd("explain")).state.dialog).toMatchObject({ kind: "explain", title: "events 10", scroll: 0 });
    s = update(s, cmd("listDown")).state;
    expect(s.dialog).toMatchObject({ scroll: 1 });
    const u = update(s, cmd("accept"));
    expect(u.effect).toEqual({ kind: "seek", seq: 33 });
    expect(u.state.dialog).toBeNull();
  });
});

describe("help, dismiss, quit", () => {
  it("opens help with ? and closes it with ?, q or Esc", () => {
    const s = update(s0(), cmd("help")).state;
    expect(s.dialog).toEqual({ kind: "help", scroll: 0 });
    for (const c of ["close", "cancel"] as const) expect(update(s, cmd(c)).state.dialog).toBeNull();
  });

  it("hides the message, then the banner, with Esc", () => {
    let s = s0({ banner: "HANG", status: { text: "x", tone: "info" } });
    s = update(s, cmd("dismiss")).state;
    expect([s.status, s.banner]).toEqual([null, "HANG"]);
    s = update(s, cmd("dismiss")).state;
    expect(s.banner).toBeNull();
  });

  it("quits with q, and with Ctrl+C from inside a dialog", () => {
    const u = update(s0(), cmd("quit"));
    expect(u.effect).toBeUndefined();
    expect(u.state.quit).toBe(true);
    const d = run(s0(), [cmd("search"), cmd("interrupt")]);
    expect(d.state.quit).toBe(true);
  });

  it("ignores main-screen commands while a dialog is open", () => {
    const s = update(s0(), cmd("help")).state;
    const u = update(s, cmd("step"));
    expect(u.state).toBe(s);
    expect(u.effect).toBeUndefined();
  });
});
