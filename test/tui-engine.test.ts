// The engine over the real replay cursor, through the store: post-mortem
// opening, moves, watchpoints and continue, search, explain, the pane rows
// that mark the four seed bugs, slow work, and the timeline's background scan.

import { describe, expect, it } from "vitest";
import { describedEvents } from "../src/replay/index.ts";
import type { ReplayEngine } from "../src/tui/engine.ts";
import type { Command } from "../src/tui/keymap.ts";
import type { Store } from "../src/tui/store.ts";
import { storeFor } from "./helpers/tui.ts";

type C = Store<ReplayEngine> & { readonly cursor: ReplayEngine["cursor"] };

/** The store, with its engine's cursor at hand (for the assertions on the cursor). */
async function replayFor(...args: Parameters<typeof storeFor>): Promise<C> {
  const s = await storeFor(...args);
  return Object.assign(s, { cursor: s.engine.cursor });
}
const cmd = (c: Store, command: Command) => c.dispatch({ type: "command", command });
const type = (c: Store, text: string) => c.dispatch({ type: "type", text });
const frameOf = (c: Store) => c.getState().frame;
const marksOf = (c: Store) => c.getState().overview.marks;

function paneRow(c: Store, pane: string, first: string) {
  return frameOf(c)
    .panes.find((p) => p.id === pane)!
    .rows.find((r) => r.cells[0] === first);
}

describe("post-mortem opening", () => {
  it("opens a failed run at its failure, with a banner naming it and the first violation", async () => {
    const c = await replayFor("tcmalloc-fork");
    const s = c.getState();
    const outcome = c.cursor.source.outcome!;
    const v = c.cursor.firstViolation()!;
    expect(outcome.kind).toBe("hang");
    expect(s.seq).toBe(outcome.seq);
    expect(c.cursor.seq).toBe(outcome.seq);
    expect(s.failureSeq).toBe(outcome.seq);
    expect(s.violationSeq).toBe(v.seq);
    expect(s.banner).toContain(`HANG at seq ${outcome.seq}`);
    expect(s.banner).toContain(`first violation: ${v.invariant} at seq ${v.seq}`);
    expect(marksOf(c)).toMatchObject({ failure: outcome.seq, violation: v.seq });
    // A small trace has every violation marked: the fork's copy of a held lock, then the deadlock.
    const all = marksOf(c).violations!;
    expect(all[0]).toBe(v.seq);
    expect(all.length).toBeGreaterThan(1);
    expect(all).toEqual([...all].sort((a, b) => a - b));
  });

  it("lets --at override the post-mortem position", async () => {
    const c = await replayFor("tcmalloc-fork", {}, "start");
    expect(c.getState().seq).toBe(-1);
    expect(c.getState().banner).not.toBeNull();
    const v = await replayFor("asterinas-procfs", {}, "violation");
    expect(v.getState().seq).toBe(v.cursor.firstViolation()!.seq);
    const n = await replayFor("tcmalloc-fork", {}, 7);
    expect(n.getState().seq).toBe(7);
  });

  it("opens a run that did not fail at the start, without a banner", async () => {
    const c = await replayFor("tcmalloc-fork", { fix: "atfork-2.17" });
    expect(c.cursor.source.outcome!.kind).toBe("ok");
    // A small trace is scanned at once: no violation.
    expect(c.getState()).toMatchObject({ seq: -1, banner: null, failureSeq: null, violationSeq: null });
  });
});

describe("moving", () => {
  it("steps back and forward; the frame follows the cursor", async () => {
    const c = await replayFor("tcmalloc-fork");
    const end = c.getState().seq;
    cmd(c, "stepBack");
    expect(c.getState().seq).toBe(end - 1);
    expect(c.cursor.seq).toBe(end - 1);
    expect(frameOf(c).seq).toBe(end - 1);
    expect(frameOf(c).events.some((e) => e.seq === end - 1)).toBe(true);
    cmd(c, "step");
    expect(c.cursor.seq).toBe(end);
    cmd(c, "start");
    expect(c.cursor.seq).toBe(-1);
    expect(frameOf(c).events[0]!.seq).toBe(0);
    cmd(c, "failure");
    expect(c.cursor.seq).toBe(end);
  });

  it("describes each event row with the state just after it, wherever the cursor is (as ktrace events)", async () => {
    const c = await replayFor("tcmalloc-fork", {}, "start");
    const src = c.cursor.source;
    const want = new Map(describedEvents(src, 0, src.eventCount - 1).map((e) => [e.seq, e.desc]));
    const seen = new Set<number>();
    for (const at of ["start", "failure", "stepBack"] as const) {
      if (at !== "start") cmd(c, at);
      for (const row of frameOf(c).events) {
        expect(row.text, `seq ${row.seq} with the cursor at ${c.cursor.seq}`).toBe(want.get(row.seq));
        seen.add(row.seq);
      }
    }
    // Rows described before their objects existed (at the start) read by name, not by id.
    expect(seen.size).toBeGreaterThan(40);
    expect([...seen].some((q) => /SlowTLS/.test(want.get(q) ?? ""))).toBe(true);
  });

  it("goes to a typed seq", async () => {
    const c = await replayFor("cpython-fork-serenity");
    cmd(c, "goTo");
    type(c, "12");
    cmd(c, "accept");
    expect(c.cursor.seq).toBe(12);
  });

  it("jumps to the first violation (v), or says there is none", async () => {
    const c = await replayFor("tcmalloc-fork", {}, "start");
    const c2 = await replayFor("tcmalloc-fork", { fix: "atfork-2.17" });
    cmd(c, "violation");
    expect(c.cursor.seq).toBe(c.cursor.firstViolation()!.seq);
    cmd(c2, "violation");
    expect(c2.getState().violationSeq).toBeNull();
    expect(c2.getState().status?.text).toMatch(/no invariant is violated/);
  });

  it("searches for the first violation on demand on a big trace", async () => {
    // rcore-kstack's buggy default runs to the end (outcome ok) but breaks kstack-in-use.
    // slowAbove 10: counts as big, so nothing is scanned before it is asked for.
    const c = await replayFor("rcore-kstack", {}, "start", { slowAbove: 10 });
    const cursor = c.cursor;
    expect(cursor.source.outcome!.kind).toBe("ok");
    expect(c.getState().violationSeq).toBeUndefined();
    expect(marksOf(c).violations).toEqual([]);
    cmd(c, "violation");
    const v = cursor.firstViolation()!;
    expect(c.getState().violationSeq).toBe(v.seq);
    expect(c.cursor.seq).toBe(v.seq);
    expect(marksOf(c).violations).toEqual([v.seq]);
  });
});

describe("watchpoints and continue", () => {
  it("watches a lock picked from the fuzzy list and reverse-continues to where its owner changed", async () => {
    const c = await replayFor("tcmalloc-fork");
    cmd(c, "watch");
    type(c, "SlowTLS pid 2");
    const d = c.getState().dialog;
    expect(d?.kind).toBe("watch-pick");
    const items = d?.kind === "watch-pick" ? d.items : [];
    expect(items[0]!.label).toBe("lock tcmalloc.SlowTLS (pid 2)");
    cmd(c, "accept");
    expect(c.getState().watches.map((w) => w.label)).toEqual(["lock tcmalloc.SlowTLS (pid 2)"]);
    expect(c.cursor.watchpoints.length).toBe(1);
    const hits = marksOf(c).watchHits;
    expect(hits.length).toBeGreaterThan(0);
    // Reverse-continue stops at a watchpoint hit or an invariant break, walking back.
    const stops: number[] = [];
    for (let i = 0; i < 20 && c.cursor.seq > -1; i++) {
      cmd(c, "reverseContinue");
      stops.push(c.cursor.seq);
    }
    expect(stops.at(-1)).toBe(-1);
    for (const h of hits) expect(stops).toContain(h);
    expect(stops).toEqual([...stops].sort((a, b) => b - a));
  });

  it("a user's variable: shown in the Vars pane with its last writer, watchable, and reverse-continue stops at its writes", async () => {
    // examples/barrier-reuse.ts seed 1, at the violation: arrived = 1, written by tid 3's next round.
    const c = await replayFor("examples/barrier-reuse.ts", { seed: 1 }, "violation");
    const pane = frameOf(c).panes.find((p) => p.id === "sync")!;
    expect(pane.title).toBe("Vars");
    const row = paneRow(c, "sync", "arrived")!;
    expect(row.cells).toEqual(["arrived", "1", ""]);
    const store = c.cursor.eventAt(55);
    expect([store.tid, store.a, store.c]).toEqual([3, row.ref.id, 1]);
    expect(row.note).toBe("arrived in pid 1 = 1; last written at seq 55 by tid 3");
    cmd(c, "watch");
    type(c, "variable arrived value");
    const d = c.getState().dialog;
    const items = d?.kind === "watch-pick" ? d.items : [];
    expect(items[0]).toMatchObject({ id: `var:${row.ref.id}`, label: "variable arrived (pid 1): its value" });
    cmd(c, "accept");
    cmd(c, "reverseContinue");
    expect(c.cursor.seq).toBe(55);
    expect(c.getState().status?.text).toMatch(/arrived/);
  });

  it("says where a watchpoint hit and removes it from the list", async () => {
    const c = await replayFor("rcore-kstack", { opts: ["stack=flush"] }, "start");
    cmd(c, "watch");
    type(c, "kstack-free");
    cmd(c, "accept");
    cmd(c, "continue");
    const s = c.getState();
    expect(s.status?.tone).toBe("hit");
    expect(s.status?.text).toMatch(/kernel stack \d+/);
    cmd(c, "watchList");
    cmd(c, "removeWatch");
    expect(c.getState().watches).toEqual([]);
    expect(c.cursor.watchpoints).toEqual([]);
  });

  it("continues to the end with a message when nothing is watched or broken after here", async () => {
    const c = await replayFor("tcmalloc-fork", { fix: "atfork-2.17" });
    cmd(c, "continue");
    expect(c.cursor.seq).toBe(c.info.total - 1);
    expect(c.getState().status?.text).toMatch(/no watchpoints \(w adds one\).*at the end/);
  });
});

describe("search", () => {
  it("searches event descriptions live, jumps on Enter, and walks matches with n / N", async () => {
    const c = await replayFor("tcmalloc-fork", {}, "start");
    cmd(c, "search");
    type(c, "fork");
    const d = c.getState().dialog;
    if (d?.kind !== "search") throw new Error("no search dialog");
    expect(d.scope).toBe(`all ${c.info.total} events`);
    expect(d.items.length).toBeGreaterThan(1);
    expect(d.all).toEqual([...d.all].sort((a, b) => a - b));
    for (const it of d.items) expect(it.label.toLowerCase()).toMatch(/f.*o.*r.*k/);
    cmd(c, "accept");
    const first = c.cursor.seq;
    expect(first).toBe(d.items[0]!.seq);
    const later = d.all.find((x) => x > first);
    cmd(c, "nextMatch");
    expect(c.cursor.seq).toBe(later ?? first);
    cmd(c, "prevMatch");
    expect(c.cursor.seq).toBe(d.all.filter((x) => x < (later ?? first)).at(-1) ?? first);
  });
});

describe("explain", () => {
  it("explains a lock: who last set its owner, and Enter jumps there", async () => {
    const c = await replayFor("tcmalloc-fork");
    const locks = frameOf(c).panes.find((p) => p.id === "locks")!;
    const row = locks.rows.findIndex((r) => r.mark === "bad");
    expect(row).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < 3; i++) cmd(c, "focusNext");
    expect(c.getState().focus).toBe("locks");
    for (let i = 0; i < row; i++) cmd(c, "selectDown");
    cmd(c, "explain");
    const d = c.getState().dialog;
    if (d?.kind !== "explain") throw new Error(`no explanation: ${JSON.stringify(c.getState().status)}`);
    expect(d.title).toMatch(/lock tcmalloc.SlowTLS/);
    expect(d.lines.join("\n")).toMatch(/owner/);
    expect(d.lines[0]).toMatch(/✗ owner tid \d+ does not exist/);
    expect(d.seq).not.toBeNull();
    cmd(c, "accept");
    expect(c.cursor.seq).toBe(d.seq);
  });

  it("explains the event at the cursor", async () => {
    const c = await replayFor("rcore-kstack", { opts: ["stack=flush"] });
    cmd(c, "explain");
    const d = c.getState().dialog;
    expect(d?.kind === "explain" && d.title).toBe(`event ${c.cursor.seq}`);
    expect(d?.kind === "explain" && d.lines.join("\n")).toMatch(/freed/);
  });
});

describe("explaining the end of the run", () => {
  it("says how the run ended in words, and Enter goes where it was decided", async () => {
    const c = await replayFor("tcmalloc-fork", {}, "end");
    const hang = c.cursor.source.outcome!.seq;
    cmd(c, "explain");
    const d = c.getState().dialog;
    if (d?.kind !== "explain") throw new Error("no explanation");
    expect(d.title).toBe(`event ${c.info.total - 1}: end of the run`);
    expect(d.lines[0]).toBe("The run hung: no thread could ever run again.");
    expect(d.lines.join("\n")).toContain(`It was decided at seq ${hang} (hang); Enter goes there.`);
    expect(d.lines.join("\n")).not.toMatch(/OUTCOME_KINDS|cpu -1|tid -1/);
    expect(d.seq).toBe(hang);
    cmd(c, "accept");
    expect(c.cursor.seq).toBe(hang);
    // The hang itself: its description, not "hang on cpu -1, tid -1".
    cmd(c, "explain");
    const h = c.getState().dialog;
    expect(h?.kind === "explain" && h.lines[0]).toMatch(/^hang: tid 1 \(pid 1\) blocks in waitpid/);
  });

  it("says a clean run finished", async () => {
    const c = await replayFor("tcmalloc-fork", { fix: "atfork-2.17" }, "end");
    cmd(c, "explain");
    const d = c.getState().dialog;
    expect(d?.kind === "explain" && d.lines[0]).toBe("The run finished: every thread ran to its end.");
    expect(d?.kind === "explain" && d.seq).toBeNull();
  });
});

describe("pane rows mark the seed bugs", () => {
  it("tcmalloc-fork: the lock whose owner is not in its address space", async () => {
    const c = await replayFor("tcmalloc-fork");
    const r = paneRow(c, "locks", "tcmalloc.SlowTLS")!;
    expect(r.mark).toBe("bad");
    expect(r.cells[2]).toMatch(/✗$/);
    expect(r.note).toMatch(/does not exist/);
  });

  it("rcore-kstack: the cpu running on a freed kernel stack", async () => {
    const c = await replayFor("rcore-kstack", { opts: ["stack=flush"] });
    const cpus = frameOf(c).panes.find((p) => p.id === "cpus")!;
    expect(cpus.rows.some((r) => r.mark === "bad" && /freed kernel stack/.test(r.note ?? ""))).toBe(true);
    const ks = frameOf(c).panes.find((p) => p.id === "kstacks")!;
    expect(ks.rows.some((r) => r.cells[2] === "freed✗")).toBe(true);
  });

  it("asterinas-procfs: the zombie whose VMAR is None", async () => {
    const c = await replayFor("asterinas-procfs");
    const procs = frameOf(c).panes.find((p) => p.id === "procs")!;
    expect(procs.rows.some((r) => r.cells[3] === "None" && r.cells[2] === "zomb")).toBe(true);
  });

  it("cpython-fork-serenity: the recursive mutex whose recorded owner ident is not its owner", async () => {
    const c = await replayFor("cpython-fork-serenity");
    const locks = frameOf(c).panes.find((p) => p.id === "locks")!;
    const r = locks.rows.find((x) => x.cells[0] === "import_lock" && x.mark === "warn")!;
    expect(r.note).toMatch(/recorded owner ident \d+ ≠ pthread_self \d+/);
  });
});

describe("slow work on big traces", () => {
  it("says what it is doing before a whole-trace scan, and queues keys meanwhile", async () => {
    const later: (() => void)[] = [];
    // slowAbove 10: this small trace counts as big.
    const c = await replayFor("tcmalloc-fork", { fix: "atfork-2.17" }, undefined, {
      defer: (w) => later.push(w),
      slowAbove: 10,
    });
    let renders = 0;
    c.subscribe(() => renders++);
    cmd(c, "continue");
    expect(c.isBusy()).toBe(true);
    expect(c.getState().status?.text).toMatch(
      /^continuing: checking watchpoints and invariants \(up to \d+ events\)…$/,
    );
    expect(renders).toBe(1);
    expect(c.cursor.seq).toBe(-1);
    cmd(c, "stepBack"); // queued until the scan is done
    expect(c.cursor.seq).toBe(-1);
    expect(later).toHaveLength(1);
    later.shift()!();
    expect(c.isBusy()).toBe(false);
    expect(c.cursor.seq).toBe(c.info.total - 2);
    // Steps are quick: never deferred.
    cmd(c, "step");
    expect(later).toHaveLength(0);
    expect(c.cursor.seq).toBe(c.info.total - 1);
  });
});

describe("a recovered trace (cut short, outcome unknown)", () => {
  it("still opens post-mortem at the panic it contains", async () => {
    const fs = await import("node:fs");
    const os = await import("node:os");
    const path = await import("node:path");
    const { prepare, record } = await import("../src/record/index.ts");
    const { openCursor } = await import("../src/tui/engine.ts");
    const { openReplay } = await import("../src/tui/store.ts");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ktrace-tui-"));
    try {
      const full = path.join(dir, "full.ktrace");
      record(await prepare({ target: "asterinas-procfs" }), full);
      const whole = openCursor(full);
      const total = whole.info.total;
      const panic = whole.info.outcome!;
      whole.cursor.source.close();
      expect(panic.kind).toBe("panic");
      const bytes = fs.readFileSync(full);
      const cut = path.join(dir, "cut.ktrace");
      // The longest prefix that loses the index but keeps every event.
      let opened: ReturnType<typeof openCursor> | undefined;
      for (let n = bytes.length - 1; n > 0 && opened === undefined; n--) {
        fs.writeFileSync(cut, bytes.subarray(0, n));
        const o = openCursor(cut);
        if (o.info.recovery !== null && o.info.outcome === null && o.info.total === total) opened = o;
        else o.cursor.source.close();
      }
      if (opened === undefined) throw new Error("no prefix recovers every event");
      const c = openReplay(opened.cursor, opened.info);
      expect(c.getState().failureSeq).toBe(panic.seq);
      expect(c.getState().seq).toBe(panic.seq);
      expect(c.getState().banner).toContain(`✖ PANIC at seq ${panic.seq}: ${panic.message}`);
      expect(marksOf(c).failure).toBe(panic.seq);
      opened.cursor.source.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
