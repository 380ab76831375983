// The data-race invariant: its happens-before edges, event by event on
// hand-made logs (so each interleaving is exactly the one meant), then on
// simulated runs, and through every consumer of the invariant registry:
// check, explore, the cursor (continue / reverse-continue, the TUI's v and !
// marks) and report.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { newChecker, runBatch } from "../src/explore/seed.ts";
import * as k from "../src/kernel/index.ts";
import {
  applyEvent,
  ev,
  initState,
  type KEvent,
  type Op,
  simulate,
  type VarDecl,
  type World,
} from "../src/kernel/index.ts";
import { prepare, record } from "../src/record/index.ts";
import { StateUnknownError } from "../src/replay/cursor.ts";
import {
  Checker,
  Cursor,
  DensityScan,
  firstViolation,
  INVARIANTS,
  MemorySource,
  openSource,
  type ReplaySource,
  type Violation,
} from "../src/replay/index.ts";
import { dataRace, MAX_SLOTS, RaceDetector } from "../src/replay/race.ts";
import { DEFAULT_RULES, resolveScenario } from "../src/scenarios/index.ts";
import { FRAME_HEADER, HEADER_FIXED, readU32 } from "../src/trace/format.ts";
import { TraceWriter } from "../src/trace/index.ts";
import { REPO_ROOT, runCli } from "./helpers/run-cli.ts";
import { storeFor } from "./helpers/tui.ts";
import { metaFor } from "./support/trace-util.ts";

const CONFIG = { cpus: 2, ...DEFAULT_RULES };
const example = (name: string) => join(REPO_ROOT, "examples", `${name}.ts`);

/** A hand-made event log: each event by a thread, in the order written (values kept consistent with the fold). */
class Log {
  readonly evs: KEvent[] = [];
  private readonly st = initState(CONFIG);
  by(tid: number, e: KEvent): this {
    const full = { ...e, seq: this.evs.length, time: this.evs.length * 10, cpu: 0, tid };
    this.evs.push(full);
    applyEvent(this.st, full);
    return this;
  }
  /** The seq of the last event written. */
  get last(): number {
    return this.evs.length - 1;
  }
  /** Boot: process 1 with threads 1 and 2 (created by tid 1 when `created`), kernel variable x (0), user variable u (1), lock m (0). */
  static boot(created = false): Log {
    return new Log()
      .by(-1, ev.procNew({ pid: 1, ppid: 0, name: "p" }))
      .by(-1, ev.threadNew({ tid: 1, pid: 1, ident: 1 }))
      .by(created ? 1 : -1, ev.threadNew({ tid: 2, pid: 1, ident: 2 }))
      .by(1, ev.varNew({ var: 0, space: 0, value: 0, decl: "int x" }))
      .by(1, ev.varNew({ var: 1, space: 1, value: 0, decl: "int u" }))
      .by(1, ev.lockNew({ lock: 0, space: 1, type: 1, name: "m" }));
  }
  private val(v: number): number {
    return this.st.vars.get(v)!.value;
  }
  load(tid: number, v = 0): this {
    return this.by(tid, ev.load({ var: v, value: this.val(v), reg: "r" }));
  }
  store(tid: number, v = 0): this {
    return this.by(tid, ev.store({ var: v, old: this.val(v), new: this.val(v) + 1 }));
  }
  aload(tid: number, v = 0): this {
    return this.by(tid, ev.atomicLoad({ var: v, value: this.val(v), reg: "r" }));
  }
  astore(tid: number, v = 0): this {
    return this.by(tid, ev.atomicStore({ var: v, old: this.val(v), new: this.val(v) + 1 }));
  }
  /** An atomic read-modify-write (fetch-add or xchg), or a cas that succeeds (changes the value) or fails. */
  rmw(tid: number, v: number, how: "fetch-add" | "xchg" | "cas" | "failed-cas"): this {
    const old = this.val(v);
    if (how === "fetch-add") return this.by(tid, ev.fetchAdd({ var: v, old, new: old + 1, reg: "o" }));
    if (how === "xchg") return this.by(tid, ev.xchg({ var: v, old, new: old + 1, reg: "o" }));
    return this.by(tid, ev.cas({ var: v, old, new: how === "cas" ? old + 1 : old, reg: "o" }));
  }
  acquire(tid: number): this {
    return this.by(tid, ev.lockAcquire({ lock: 0, level: 1 }));
  }
  release(tid: number): this {
    return this.by(tid, ev.lockRelease({ lock: 0, level: 0 }));
  }
  /** Every data-race finding over the log, in order (not only the first). */
  races(): Violation[] {
    const st = initState(CONFIG);
    const ck = new Checker([dataRace]);
    const out: Violation[] = [];
    for (const e of this.evs) {
      const v = ck.before(st, e);
      applyEvent(st, e);
      if (v) out.push(v);
    }
    return out;
  }
  seqs(): number[] {
    return this.races().map((v) => v.seq);
  }
}

describe("data-race: the rule and its happens-before edges", () => {
  it("two plain writes by different threads with nothing between them race, at the second; the message and causes name both accesses", () => {
    const l = Log.boot().store(1).store(2);
    const [v, ...rest] = l.races();
    expect(rest).toEqual([]);
    expect(v).toMatchObject({ seq: 7, invariant: "data-race" });
    expect(l.evs[7]).toMatchObject({ kind: k.KIND.store, tid: 2 });
    expect(v!.message).toBe(
      "data race on x (the kernel): store (plain write) by tid 2 (pid 1) at seq 7 and store (plain write) by tid 1 (pid 1) at seq 6; no lock, atomic, fork, thread start or reap orders them",
    );
    expect(v!.causes).toEqual([
      { seq: 6, why: "tid 1 (pid 1): store (plain write) of x (the kernel), unordered with the store at seq 7" },
    ]);
  });

  it("the same thread never races with itself; two reads never race; a read after an unordered write does, and a write after an unordered read", () => {
    expect(Log.boot().store(1).load(1).store(1).seqs()).toEqual([]);
    expect(Log.boot().load(1).load(2).load(1).seqs()).toEqual([]);
    expect(Log.boot().store(1).load(2).seqs()).toEqual([7]);
    expect(Log.boot().load(1).store(2).seqs()).toEqual([7]);
    expect(Log.boot().load(2).races()).toEqual([]);
  });

  it("lock release → the next acquire orders the critical sections; without the lock on one side they race", () => {
    const l = Log.boot().acquire(1).load(1).store(1).release(1).acquire(2).load(2).store(2).release(2);
    expect(l.seqs()).toEqual([]);
    const m = Log.boot().acquire(1).store(1).release(1).load(2); // tid 2 reads without taking m
    expect(m.seqs()).toEqual([m.last]);
  });

  it("thread creation orders what the creator did before it, not after", () => {
    // tid 2 was created (seq 2) before tid 1's store: that store is not ordered before tid 2's read.
    expect(Log.boot(true).store(1).load(2).seqs()).toEqual([7]);
    const l = Log.boot()
      .store(1)
      .by(1, ev.threadNew({ tid: 3, pid: 1, ident: 3 }))
      .load(3);
    expect(l.seqs()).toEqual([]);
    l.store(1); // after the creation: unordered with tid 3's read
    expect(l.seqs()).toEqual([l.last]);
    expect(l.races()[0]!.causes[0]!.seq).toBe(l.last - 1);
  });

  it("atomics are release/acquire on their variable: a plain write published by an atomic write is ordered before a reader that then reads it atomically", () => {
    const flag = 2;
    const pub = () =>
      Log.boot()
        .by(1, ev.varNew({ var: flag, space: 1, value: 0, decl: "int flag" }))
        .store(1);
    expect(pub().astore(1, flag).aload(2, flag).load(2).seqs()).toEqual([]);
    // The acquire came before the release: it acquired nothing.
    const early = pub().aload(2, flag).astore(1, flag).load(2);
    expect(early.seqs()).toEqual([early.last]);
    // A cas that failed (left the value) releases nothing; one that succeeded does, as do fetch-add and xchg; each reads (acquires).
    const failed = pub().rmw(1, flag, "failed-cas").aload(2, flag).load(2);
    expect(failed.seqs()).toEqual([failed.last]);
    for (const how of ["cas", "fetch-add", "xchg"] as const)
      expect(pub().rmw(1, flag, how).rmw(2, flag, "failed-cas").load(2).seqs(), how).toEqual([]);
    // An atomic store releases but does not acquire.
    const st = pub().astore(1, flag).astore(2, flag).load(2);
    expect(st.seqs()).toEqual([st.last]);
  });

  it("only a plain write makes a race: atomic against atomic never does, nor a plain read against an atomic write; an atomic access against an unordered plain write does", () => {
    expect(Log.boot().rmw(1, 0, "fetch-add").rmw(2, 0, "xchg").aload(1).astore(2).seqs()).toEqual([]);
    expect(Log.boot().astore(1).load(2).seqs()).toEqual([]);
    expect(Log.boot().store(1).aload(2).seqs()).toEqual([7]);
    expect(Log.boot().aload(1).store(2).seqs()).toEqual([7]);
    expect(Log.boot().astore(1).store(2).races()[0]!.message).toMatch(
      /store \(plain write\) by tid 2 .* and atomic-store \(atomic\) by tid 1/,
    );
  });

  it("concurrent reads share a read vector: a write ordered after one reader but not the other races with the other", () => {
    // tid 2 and tid 3 read x; tid 2 then releases m, tid 1 acquires it and writes: ordered after tid 2's read only.
    const l = Log.boot()
      .by(1, ev.threadNew({ tid: 3, pid: 1, ident: 3 }))
      .load(2)
      .load(3);
    const read3 = l.last;
    l.acquire(2).release(2).acquire(1).store(1);
    const [v, ...more] = l.races();
    expect(more).toEqual([]);
    expect(v!.seq).toBe(l.last);
    expect(v!.causes[0]).toMatchObject({ seq: read3 });
    expect(v!.message).toContain(`load (plain read) by tid 3 (pid 1) at seq ${read3}`);
  });

  it("fork: the child starts after everything its parent did; the parent's later writes race with the child; a copied user variable is the child's own", () => {
    const base = () =>
      Log.boot()
        .store(1)
        .store(1, 1)
        .by(1, ev.fork({ pid: 1, child: 2, childTid: 3 }));
    // The child's copy of u has a new id (2); x (0) is the kernel's, one copy.
    expect(base().load(3).store(3, 2).seqs()).toEqual([]);
    const after = base().store(1).load(3);
    expect(after.seqs()).toEqual([after.last]);
    expect(base().store(1, 1).store(3, 2).seqs()).toEqual([]);
  });

  it("reap: every event of the reaped process's threads happened before the reaper's next one", () => {
    const child = () =>
      Log.boot()
        .by(1, ev.fork({ pid: 1, child: 2, childTid: 3 }))
        .store(3)
        .by(3, ev.threadExit({ tid: 3, code: 0 }))
        .by(3, ev.procExit({ pid: 2, code: 0 }));
    const early = child().load(1);
    expect(early.seqs()).toEqual([early.last]);
    expect(
      child()
        .by(1, ev.reap({ pid: 2 }))
        .load(1)
        .store(1)
        .seqs(),
    ).toEqual([]);
  });

  it("a thread slot is reused only by a thread whose creator knows its last thread's exit: an unreaped child's accesses still race with the next child's", () => {
    const gen = (l: Log, pid: number, tid: number, reap: boolean) => {
      l.by(1, ev.fork({ pid: 1, child: pid, childTid: tid }))
        .store(tid)
        .by(tid, ev.threadExit({ tid, code: 0 }))
        .by(tid, ev.procExit({ pid, code: 0 }));
      return reap ? l.by(1, ev.reap({ pid })) : l;
    };
    let l = Log.boot();
    for (let i = 0; i < 200; i++) l = gen(l, 2 + i, 3 + i, true);
    expect(l.seqs()).toEqual([]);
    // Not reaped: the next child's write is unordered with it.
    const m = gen(Log.boot(), 2, 3, false);
    const first = m.last - 2;
    gen(m, 3, 4, true);
    expect(m.races().map((v) => v.causes[0]!.seq)).toEqual([first]);
    // A sibling thread that never synchronized races with each generation's write, reused slot or not.
    let s = Log.boot();
    for (let i = 0; i < 3; i++) s = gen(s, 2 + i, 3 + i, true).load(2);
    const r = s.races();
    const reads = s.evs.filter((e) => e.tid === 2 && e.kind === k.KIND.load).map((e) => e.seq);
    expect(r.filter((v) => s.evs[v.seq]!.tid === 2).map((v) => v.seq)).toEqual(reads);
    // ... and each later child's write races with tid 2's read before it.
    const writes = r.filter((v) => s.evs[v.seq]!.tid !== 2);
    expect(writes).toHaveLength(2);
    for (const v of writes) expect(s.evs[v.causes[0]!.seq]).toMatchObject({ tid: 2, kind: k.KIND.load });
  });

  it("past MAX_SLOTS threads (a hostile or huge trace) the clocks stop growing; ordered accesses are still clean and a race on distinct slots is still found", () => {
    const l = Log.boot().store(1);
    const n = MAX_SLOTS + 100;
    for (let i = 0; i < n; i++) l.by(1, ev.threadNew({ tid: 10 + i, pid: 1, ident: 10 + i })).load(10 + i);
    expect(l.seqs()).toEqual([]);
    l.store(2); // tid 2 (boot, never synchronized) writes: unordered with tid 1's write and every reader
    expect(l.seqs()).toEqual([l.last]);
    const det = new RaceDetector();
    const st = initState(CONFIG);
    for (const e of l.evs) {
      if (dataRace.kinds!.includes(e.kind)) det.pre(st, e);
      applyEvent(st, e);
    }
    expect(det.slots).toBe(MAX_SLOTS);
  });

  it("a gap in the seqs, or a new run at seq 0, starts the history over (explore reuses one Checker)", () => {
    const ck = new Checker(INVARIANTS);
    const run = (l: Log) => {
      const st = initState(CONFIG);
      let found: Violation | null = null;
      for (const e of l.evs) {
        found ??= ck.before(st, e);
        applyEvent(st, e);
      }
      return found;
    };
    expect(run(Log.boot().store(1))).toBeNull();
    // Were tid 1's store of the last run remembered, this read would race with it.
    expect(run(Log.boot().load(2))).toBeNull();
    expect(run(Log.boot().store(1).store(2))?.invariant).toBe("data-race");
  });
});

/**
 * The detector over `stress --opt state=STATE` (seed 1): its first finding, the
 * most thread slots its clocks took, and how many events `count` picked.
 */
async function detectOver(
  state: string,
  maxEvents: number,
  count: (e: KEvent) => boolean,
): Promise<{ found: string | null; maxSlots: number; counted: number }> {
  const p = await prepare({ target: "stress", maxEvents, opts: [`state=${state}`] });
  const det = new RaceDetector();
  const out = { found: null as string | null, maxSlots: 0, counted: 0 };
  simulate(
    p.world,
    {
      seed: 1,
      maxEvents: p.maxEvents,
      before: (e, before) => {
        if (count(e)) out.counted++;
        if (!dataRace.kinds!.includes(e.kind)) return;
        const f = det.pre(before, e);
        if (f && out.found === null) out.found = f.message;
        out.maxSlots = Math.max(out.maxSlots, det.slots);
      },
    },
    () => {},
  );
  return out;
}

describe("data-race on simulated runs", () => {
  const world = (procs: Op[][], vars: Record<string, VarDecl>): World => ({
    config: CONFIG,
    locks: {},
    vars,
    procs: procs.map((main, i) => ({ name: `p${i}`, main })),
  });
  const racesOf = (w: World, seed: number) => {
    const src = MemorySource.record(w, { seed, maxEvents: 50_000 }, {});
    return firstViolation(src, [dataRace]).violation;
  };

  it("parent and child writing their own copies of a user variable do not race; a kernel variable does", () => {
    const user = world(
      [
        [
          k.store("u", 1),
          k.fork([k.store("u", 2), k.user("child", 3)]),
          k.store("u", 3),
          k.user("parent", 3),
          k.waitpid("child"),
        ],
      ],
      { u: { type: "int" } },
    );
    const kernel = world(
      [
        [
          k.store("g", 1),
          k.fork([k.store("g", 2), k.user("child", 3)]),
          k.store("g", 3),
          k.user("parent", 3),
          k.waitpid("child"),
        ],
      ],
      { g: { type: "int", scope: "kernel" } },
    );
    for (let seed = 1; seed <= 30; seed++) {
      expect(racesOf(user, seed), `seed ${seed}`).toBeNull();
      expect(racesOf(kernel, seed)?.message, `seed ${seed}`).toMatch(/^data race on g \(the kernel\)/);
    }
  });

  it("stress --opt state=vars (every access ordered by a lock, an atomic or a fork) has no data race, and its clocks stay as short as its live threads", async () => {
    const { found, maxSlots, counted } = await detectOver("vars", 300_000, (e) => e.kind === k.KIND.fork);
    expect(found).toBeNull();
    expect(counted).toBeGreaterThan(300);
    expect(maxSlots).toBeLessThanOrEqual(16);
  });
});

describe("data-race through every consumer of the registry", () => {
  const dir = mkdtempSync(join(tmpdir(), "ktrace-race-"));

  it("check and report name it; explore counts it; the cursor's v, continue and reverse-continue stop at the same events as the timeline's ! marks, with check's message", async () => {
    const trace = join(dir, "mp.ktrace");
    expect((await runCli(["record", example("message-passing"), "--seed", "1", "-o", trace])).code).toBe(0);
    const chk = await runCli(["check", trace, "--json"]);
    expect(chk.code).toBe(1);
    const v = JSON.parse(chk.stdout).violation;
    expect(v).toMatchObject({ invariant: "data-race" });
    expect(v.message).toMatch(/^data race on ready: /);
    expect((await runCli(["check", trace, "--invariant", "data-race"])).stdout).toMatch(
      new RegExp(`^VIOLATION data-race at seq ${v.seq} `),
    );
    const rep = await runCli(["report", trace]);
    expect(rep.stdout).toContain("## First violation: `data-race`");
    expect(rep.stdout).toContain(v.message);

    const sc = await resolveScenario(example("message-passing"));
    const b = runBatch(sc, {}, 1, 1, newChecker());
    expect(b.failing[0]!.violation).toEqual({ seq: v.seq, invariant: "data-race", message: v.message });

    // The cursor over a source with small snapshots and chunks, moved around before it scans.
    const p = await prepare({ target: example("message-passing"), seed: 1 });
    const src = MemorySource.record(p.world, { seed: 1, maxEvents: p.maxEvents }, { snapshotEvery: 4, chunkEvents: 8 });
    const density = new DensityScan(src, { invariants: INVARIANTS });
    density.run();
    const marks = density.violationSeqs;
    expect(marks[0]).toBe(v.seq);
    expect(marks.length).toBeGreaterThan(1); // every poll of `ready` after the producer's store races too
    const c = new Cursor(src);
    expect(c.firstViolation()).toMatchObject({ seq: v.seq, invariant: "data-race", message: v.message });
    c.seek(src.eventCount - 1);
    c.seek(3);
    const fwd: number[] = [];
    for (let s = c.continue(); s.reason === "hit"; s = c.continue()) {
      fwd.push(s.seq);
      if (s.seq === v.seq) expect(s.violation!.message).toBe(v.message);
    }
    expect(fwd).toEqual(marks.filter((q) => q > 3));
    const back: number[] = [];
    for (let s = c.reverseContinue(); s.reason === "hit"; s = c.reverseContinue()) back.push(s.seq);
    expect(back).toEqual([...marks].reverse());
  });

  it("the TUI: v goes to the race, the timeline marks it, continue stops at it with its message", async () => {
    const c = await storeFor(example("message-passing"), { seed: 1 }, "start");
    c.dispatch({ type: "command", command: "violation" });
    const s = c.getState();
    const v = c.engine.cursor.firstViolation()!;
    expect(v.invariant).toBe("data-race");
    expect(s.violationSeq).toBe(v.seq);
    expect(s.seq).toBe(v.seq);
    expect(s.overview.marks.violation).toBe(v.seq);
    expect(s.overview.marks.violations![0]).toBe(v.seq);
    const c2 = await storeFor(example("message-passing"), { seed: 1 }, "start");
    c2.dispatch({ type: "command", command: "continue" });
    expect(c2.getState().seq).toBe(v.seq);
    expect(c2.getState().status?.text).toContain(`violation: data-race at seq ${v.seq}: data race on ready`);
  });

  it("a long trace: the cursor's history index reaches past its first stretch and agrees with check", async () => {
    const p = await prepare({ target: "stress", maxEvents: 150_000, opts: ["state=vars"] });
    const path = join(dir, "stress.ktrace");
    record(p, path);
    // No race in stress: the cursor scans the whole history (several index stretches) and finds none.
    const src = openSource(path);
    const c = new Cursor(src, { invariants: [dataRace] });
    c.seek(100_000);
    expect(c.continue().reason).toBe("end");
    expect(c.reverseContinue().reason).toBe("start");
    src.close();
  });

  it("a damaged trace: check, the timeline and the cursor step over the gap alike, start the history afresh after it, and report nothing the whole trace does not", () => {
    const body = [k.repeat(40, [k.store("g", k.add(k.v("g"), 1)), k.user("work")])];
    const w: World = {
      config: CONFIG,
      locks: {},
      vars: { g: { type: "int", scope: "kernel" } },
      procs: [{ name: "p", main: [k.thread(body), ...body, k.user("wait", 60)] }],
    };
    const path = join(dir, "racy.ktrace");
    const wr = TraceWriter.create(path, metaFor(0, 16, { config: CONFIG, scenario: "racy" }), initState(CONFIG), {
      snapshotEvery: 16,
      chunkEvents: 16,
    });
    simulate(w, { seed: 3, maxEvents: 5000 }, (e, st) => wr.append(e, st));
    wr.finish({ outcome: null });
    const flagged = (src: ReplaySource) => {
      const d = new DensityScan(src, { invariants: [dataRace] });
      d.run();
      return d.violationSeqs;
    };
    const whole = openSource(path);
    const all = flagged(whole);
    expect(all.length).toBeGreaterThan(20);
    // Flip a byte in an event chunk in the middle: its events become a gap.
    const bytes = new Uint8Array(readFileSync(path));
    const chunks: number[] = [];
    for (
      let off = HEADER_FIXED + readU32(bytes, 12) + 4;
      off < bytes.length - 32;
      off += FRAME_HEADER + readU32(bytes, off + 4)
    )
      if (bytes[off] === 1) chunks.push(off);
    const bad = chunks[Math.floor(chunks.length / 2)]!;
    bytes[bad + FRAME_HEADER + 6]! ^= 0x40;
    const damaged = join(dir, "racy-damaged.ktrace");
    writeFileSync(damaged, bytes);
    const src = openSource(damaged);
    const got = flagged(src);
    const gap = src.gaps[0]!;
    expect(gap).toBeDefined();
    expect(got.filter((q) => q < gap.fromSeq)).toEqual(all.filter((q) => q < gap.fromSeq));
    expect(got.some((q) => q >= gap.fromSeq && q <= gap.toSeq)).toBe(false);
    expect(got.some((q) => q > gap.toSeq)).toBe(true);
    for (const q of got) expect(all).toContain(q);
    const check = firstViolation(src, [dataRace]);
    expect(check.violation?.seq).toBe(got[0]);
    // The cursor's continue stops at each up to the gap, refuses to cross it (the state there is unknown),
    // and from the snapshot after it stops at the same ones as the timeline.
    const c = new Cursor(src, { invariants: [dataRace] });
    const stops: number[] = [];
    let crossed: unknown = null;
    try {
      for (let st = c.continue(); st.reason === "hit"; st = c.continue()) stops.push(st.seq);
    } catch (e) {
      crossed = e;
    }
    expect(crossed).toBeInstanceOf(StateUnknownError);
    const after = (crossed as StateUnknownError).unfolded.knownAfter!;
    c.seek(after);
    for (let st = c.continue(); st.reason === "hit"; st = c.continue()) stops.push(st.seq);
    expect(stops).toEqual(got.filter((q) => q < gap.fromSeq || q > after));
  });
});

// Issue 11's primitives. Each handoff is run over seeds 1..SEEDS: done right, no
// seed reports a race (some may hang: a lost wake is not a race); done wrong, the
// same accesses race on some seed. The edges themselves, one event at a time,
// are the hand-made logs after these.
describe("data-race: issue 11's synchronization (a correct handoff is clean, an unsynchronized one races)", () => {
  const SEEDS = 30;
  const world = (main: Op[], vars: Record<string, VarDecl>): World => ({
    config: CONFIG,
    locks: {},
    vars,
    procs: [{ name: "p", main }],
  });
  /** The seeds in 1..SEEDS whose run has a data race. */
  const racing = (w: World): number[] => {
    const out: number[] = [];
    for (let seed = 1; seed <= SEEDS; seed++) {
      const v = firstViolation(MemorySource.record(w, { seed, maxEvents: 20_000 }, {}), [dataRace]).violation;
      if (v) out.push(seed);
    }
    return out;
  };
  /** Two threads a and b of main's process, joined; `d` is the data handed over. */
  const pair = (a: Op[], b: Op[], vars: Record<string, VarDecl> = {}, before: Op[] = []): World =>
    world([...before, k.thread(a, { tid: "a" }), k.thread(b, { tid: "b" }), k.join(k.r("a")), k.join(k.r("b"))], {
      d: { type: "int" },
      ...vars,
    });
  const handoff = (name: string, good: World, bad: World) => {
    it(`${name}: handed over, clean on every seed; unsynchronized, a race`, () => {
      expect(racing(good)).toEqual([]);
      expect(racing(bad).length).toBeGreaterThan(0);
    });
  };

  // futex_wake → the waiter it wakes (the wake event); a wake that comes first is lost and the waiter hangs, no race.
  handoff(
    "futex wake",
    pair([k.store("d", 1), k.futexWake("w", 1)], [k.futexWait("w", 0), k.load("x", "d")], { w: k.futexWord(0) }),
    pair([k.store("d", 1), k.futexWake("w", 1)], [k.load("x", "d")], { w: k.futexWord(0) }),
  );
  // pthread_cond_signal → the waiter's return (the mutex it re-takes, the wake); the predicate in a loop.
  const cvWaiter = [
    k.lock("m"),
    k.loopWhile(k.eq(k.v("ready"), 0), { max: Infinity }, [k.cvWait("cv", "m")]),
    k.unlock("m"),
    k.load("x", "d"),
  ];
  handoff(
    "condvar signal",
    pair([k.store("d", 1), k.lock("m"), k.store("ready", 1), k.cvSignal("cv"), k.unlock("m")], cvWaiter, {
      cv: k.condvar(),
      ready: { type: "int" },
    }),
    // The data written after the signal, outside the mutex.
    pair([k.lock("m"), k.store("ready", 1), k.cvSignal("cv"), k.unlock("m"), k.store("d", 1)], cvWaiter, {
      cv: k.condvar(),
      ready: { type: "int" },
    }),
  );
  // sem_post → the sem_wait that takes its count (fetch-add releases, the wait's cas acquires; or the wake).
  handoff(
    "semaphore post",
    pair([k.store("d", 1), k.semPost("s")], [k.semWait("s"), k.load("x", "d")], { s: k.semaphore(0) }),
    // Posted before the data is written.
    pair([k.semPost("s"), k.store("d", 1)], [k.semWait("s"), k.load("x", "d")], { s: k.semaphore(0) }),
  );
  // rwlock unlock → the next lock (its cas); two readers never race.
  handoff(
    "rwlock",
    pair(
      [k.wrlock("rw"), k.store("d", 1), k.rwUnlock("rw")],
      [k.rdlock("rw"), k.load("x", "d"), k.rwUnlock("rw")],
      { rw: k.rwlock() },
      [k.thread([k.rdlock("rw"), k.load("y", "d"), k.rwUnlock("rw")])],
    ),
    pair([k.wrlock("rw"), k.store("d", 1), k.rwUnlock("rw")], [k.load("x", "d")], { rw: k.rwlock() }),
  );
  // A trylock that succeeds is an acquire (lock-acquire); one that fails takes nothing.
  const retry = (body: Op[]) => [
    k.set("r", 1),
    k.loopWhile(k.ne(k.r("r"), 0), { max: Infinity }, [k.trylock("m", { ret: "r" })]),
    ...body,
    k.unlock("m"),
  ];
  handoff(
    "trylock",
    pair(retry([k.store("d", 1)]), retry([k.store("d", 2)])),
    // Goes on whether it got the lock or not.
    pair(
      [k.trylock("m", { ret: "r" }), k.store("d", 1), k.when(k.eq(k.r("r"), 0), [k.unlock("m")])],
      [k.trylock("m", { ret: "r" }), k.store("d", 2), k.when(k.eq(k.r("r"), 0), [k.unlock("m")])],
    ),
  );
  // waitpid(handle), blocking or WNOHANG in a loop → everything the child did (the reap); g is kernel memory, shared.
  const g = { g: { type: "int", scope: "kernel" } } as Record<string, VarDecl>;
  const child = k.fork([k.store("g", 1), k.user("child", 2)], { pid: "c" });
  handoff(
    "waitpid by handle",
    world([child, k.waitpid(k.r("c")), k.load("x", "g")], g),
    world([child, k.load("x", "g"), k.waitpid(k.r("c"))], g),
  );
  handoff(
    "waitpid WNOHANG",
    world(
      [
        child,
        k.set("got", 0),
        k.loopWhile(k.ne(k.r("got"), k.r("c")), { max: Infinity }, [k.waitpid(k.r("c"), { nohang: true, ret: "got" })]),
        k.load("x", "g"),
      ],
      g,
    ),
    world([child, k.waitpid(k.r("c"), { nohang: true, ret: "got" }), k.load("x", "g"), k.waitpid(k.r("c"))], g),
  );
  // kill → the handler it runs (signal → signal-deliver); the handler is inherited over fork.
  const withHandler = (parent: Op[]) =>
    world(
      [
        k.sigaction("SIGUSR1", [k.load("x", "g")], { name: "on_usr1" }),
        k.fork([k.user("child", 6)], { pid: "c" }),
        ...parent,
        k.waitpid(k.r("c")),
      ],
      g,
    );
  handoff(
    "kill → handler",
    withHandler([k.store("g", 1), k.kill(k.r("c"), "SIGUSR1")]),
    withHandler([k.kill(k.r("c"), "SIGUSR1"), k.store("g", 1)]),
  );
  // pthread_join → everything the joined thread did.
  handoff(
    "join",
    world([k.thread([k.store("d", 1)], { tid: "a" }), k.join(k.r("a")), k.load("x", "d")], { d: { type: "int" } }),
    world([k.thread([k.store("d", 1)], { tid: "a" }), k.load("x", "d"), k.join(k.r("a"))], { d: { type: "int" } }),
  );
  // A pipe's write → the read that gets its bytes; the close of the last write end → the read that sees EOF.
  const piped = (a: Op[], b: Op[]) => pair(a, b, {}, [k.pipe({ read: "rd", write: "wr" })]);
  handoff(
    "pipe write → read",
    piped([k.store("d", 1), k.write(k.r("wr"), 1)], [k.read(k.r("rd"), 1), k.load("x", "d")]),
    piped([k.store("d", 1), k.write(k.r("wr"), 1)], [k.load("x", "d"), k.read(k.r("rd"), 1)]),
  );
  handoff(
    "pipe close → EOF",
    piped([k.store("d", 1), k.close(k.r("wr"))], [k.read(k.r("rd"), 1, { ret: "n" }), k.load("x", "d")]),
    piped([k.close(k.r("wr")), k.store("d", 1)], [k.read(k.r("rd"), 1, { ret: "n" }), k.load("x", "d")]),
  );

  // Descriptor numbers (as ThreadSanitizer): open and close write one, a read or write through it (or EBADF) reads it.
  const logPipe = [k.pipe({ read: "rd", write: "wr" })];
  const logger = [k.repeat(2, [k.user("format"), k.write(k.r("wr"), 8, { ret: "n" })])];
  handoff(
    "descriptor close → another thread's use",
    world([...logPipe, k.thread(logger, { tid: "a" }), k.join(k.r("a")), k.close(k.r("wr"))], {}),
    world([...logPipe, k.thread(logger, { tid: "a" }), k.close(k.r("wr")), k.join(k.r("a"))], {}),
  );
  const reopen = [k.close(k.r("wr")), k.close(k.r("rd")), k.pipe({ read: "rd2", write: "wr2" })];
  handoff(
    "descriptor number reused by pipe()",
    world([...logPipe, k.thread(logger, { tid: "a" }), k.join(k.r("a")), ...reopen, k.write(k.r("wr2"), 4)], {}),
    world([...logPipe, k.thread(logger, { tid: "a" }), ...reopen, k.write(k.r("wr2"), 4), k.join(k.r("a"))], {}),
  );

  it("descriptors: the stale write, EBADF, the message; the kernel's closes at exit and exec, and a pipe end held twice, are not accesses", () => {
    const stale = world([...logPipe, k.thread(logger, { tid: "a" }), ...reopen, k.join(k.r("a"))], {});
    const msgs = new Set<string>();
    for (let seed = 1; seed <= SEEDS; seed++) {
      const v = firstViolation(MemorySource.record(stale, { seed, maxEvents: 20_000 }, {}), [dataRace]).violation;
      if (v) msgs.add(v.message.replace(/seq \d+/g, "seq N"));
    }
    expect([...msgs].sort()).toEqual([
      "data race on fd 4 of pid 1: pipe-write (written through) by tid 2 (pid 1) at seq N and fd-open (opened) by tid 1 (pid 1) at seq N; nothing orders them: tid 2 (pid 1) may be using a number that was closed and given to another file under it",
      "data race on fd 4 of pid 1: write(4, 8) failing with EBADF by tid 2 (pid 1) at seq N and fd-close (closed) by tid 1 (pid 1) at seq N; nothing orders them: tid 2 (pid 1) may be using a descriptor another thread closed",
    ]);
    // The process exits while the logger writes: the last thread's teardown closes the descriptors, after the others are gone.
    expect(racing(world([...logPipe, k.thread(logger, { tid: "a" }), k.user("main", 3), k.exit(0)], {}))).toEqual([]);
    // An exec closes the close-on-exec descriptors a thread of the old image was writing through.
    const execs = [k.pipe({ read: "rd", write: "wr", cloexec: true }), k.thread(logger), k.user("setup", 2)];
    expect(
      racing(world([k.fork([...execs, k.exec("tool", [k.user("tool")])], { pid: "c" }), k.waitpid(k.r("c"))], {})),
    ).toEqual([]);
    // One thread closes its descriptors while another opens a pipe (which may get the numbers): no race, the kernel
    // hands a number out whole (as ThreadSanitizer's open). A double close is one, at the second close, against the
    // other thread's open of the number in between.
    const closer = [
      ...logPipe,
      k.thread([k.user("w", 2), k.pipe({ read: "br", write: "bw" }), k.write(k.r("bw"), 4)], { tid: "b" }),
    ];
    expect(racing(world([...closer, k.close(k.r("rd")), k.close(k.r("wr")), k.join(k.r("b"))], {}))).toEqual([]);
    const twice = [
      ...closer,
      k.close(k.r("rd")),
      k.close(k.r("wr")),
      k.user("error path"),
      k.close(k.r("rd"), { ret: "c2" }),
    ];
    const doubled = new Set<string>();
    for (let seed = 1; seed <= SEEDS; seed++) {
      const w = world([...twice, k.join(k.r("b"))], {});
      const v = firstViolation(MemorySource.record(w, { seed, maxEvents: 20_000 }, {}), [dataRace]).violation;
      if (v) doubled.add(v.message.replace(/seq \d+/g, "seq N"));
    }
    expect([...doubled]).toContain(
      "data race on fd 3 of pid 1: fd-close (closed) by tid 1 (pid 1) at seq N and fd-open (opened) by tid 2 (pid 1) at seq N; nothing orders them: a descriptor closed while tid 2 (pid 1) may still be using it",
    );
    // The write end under two numbers: which one a write used is not known, so the close of the other is not judged.
    expect(
      racing(
        world(
          [...logPipe, k.dup(k.r("wr"), "wr2"), k.thread(logger, { tid: "a" }), k.close(k.r("wr2")), k.join(k.r("a"))],
          {},
        ),
      ),
    ).toEqual([]);
  });

  // SIGCHLD, which the kernel sends for the exiting child → the parent's handler: the child's past is before it.
  const onChld = (child: Op[]) =>
    world(
      [
        k.sigaction("SIGCHLD", [k.load("x", "g")], { name: "on_chld" }),
        k.fork(child, { pid: "c" }),
        k.user("parent", 8),
        k.waitpid(k.r("c")),
      ],
      g,
    );
  handoff(
    "SIGCHLD → handler",
    onChld([k.store("g", 1)]),
    world(
      [
        k.sigaction("SIGCHLD", [k.user("on_chld")], { name: "on_chld" }),
        k.fork([k.store("g", 1)], { pid: "c" }),
        k.load("x", "g"),
        k.waitpid(k.r("c")),
      ],
      g,
    ),
  );

  it("what a thread does after its exit (its joiner's wake) takes no clock slot: stress --opt state=os has no race and short clocks", async () => {
    const { found, maxSlots, counted } = await detectOver(
      "os",
      100_000,
      (e) => e.kind === k.KIND.wake && e.c === k.HOW.join,
    );
    expect(found).toBeNull();
    expect(counted).toBeGreaterThan(50);
    expect(maxSlots).toBeLessThanOrEqual(32); // 165 when each joiner's wake took a slot for the dead thread
  });

  it("sleep and timed waits order nothing: a read after a long sleep, or after a wait that timed out, still races", () => {
    expect(racing(pair([k.store("d", 1)], [k.sleep(50_000), k.load("x", "d")])).length).toBe(SEEDS);
    expect(
      racing(
        pair([k.store("d", 1)], [k.futexWait("w", 0, { timeout: 50_000 }), k.load("x", "d")], { w: k.futexWord(0) }),
      ).length,
    ).toBe(SEEDS);
  });
});

describe("data-race: issue 11's edges on hand-made logs", () => {
  /** Boot (threads 1 and 2 not created by each other), then tid 1 stores x and `edge` runs; tid 2 loads x last. */
  const racesWith = (edge: (l: Log) => Log) => edge(Log.boot().store(1)).load(2).seqs();

  it("a wake by a thread orders the waker's past before the woken thread; a wake by the kernel (a timer, an interrupt) orders nothing", () => {
    expect(
      racesWith((l) =>
        l
          .by(1, ev.futexWake({ var: 0, n: 1, woken: 1 }))
          .by(1, ev.wake({ tid: 2, by: 1, how: k.HOW.futex, context: "x" })),
      ),
    ).toEqual([]);
    expect(
      racesWith((l) => l.by(-1, ev.wake({ tid: 2, by: -1, how: k.HOW.timer, context: "irq:timer" }))),
    ).toHaveLength(1);
    // Imported wakeups (waking, wakeup) by a task order the same way.
    expect(racesWith((l) => l.by(1, ev.wake({ tid: 2, by: 1, how: k.HOW.waking, context: "" })))).toEqual([]);
  });

  it("a signal sent by a thread orders its past before the delivery; one the kernel sends on nobody's behalf (tid -1) orders nothing", () => {
    const usr1 = k.SIG.SIGUSR1!;
    expect(
      racesWith((l) =>
        l
          .by(1, ev.sigaction({ sig: usr1, action: 2, handler: "h" }))
          .by(1, ev.signal({ pid: 1, sig: usr1, tid: 2 }))
          .by(2, ev.signalDeliver({ sig: usr1, action: 2, sent: l.last + 1 })),
      ),
    ).toEqual([]);
    expect(
      racesWith((l) =>
        l
          .by(1, ev.sigaction({ sig: usr1, action: 2, handler: "h" }))
          .by(-1, ev.signal({ pid: 1, sig: usr1, tid: 2 }))
          .by(2, ev.signalDeliver({ sig: usr1, action: 2, sent: l.last + 1 })),
      ),
    ).toHaveLength(1);
  });
});
