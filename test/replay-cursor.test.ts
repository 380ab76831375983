// The replay cursor: seek equals folding from the start, step/stepBack are
// inverses, continue / reverse-continue agree with a forward scan; on
// in-memory sources and on trace files.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyEvent, initState, type KEvent } from "../src/kernel/index.ts";
import {
  Cursor,
  type MemorySource,
  NoSuchPointError,
  openSource,
  parseWatch,
  type ReplaySource,
  SKIP,
  type Watchpoint,
  watchCondition,
  watchValue,
} from "../src/replay/index.ts";
import { allEvents, canon, foldTo, memorySource, traceFile } from "./helpers/replay-sources.ts";

// Small snapshot intervals, chunks and checkpoints so that short runs cross many boundaries.
const SMALL = { snapshotEvery: 64, chunkEvents: 50 };
const cache = new Map<number, Promise<{ src: MemorySource; events: KEvent[]; prefix: string[] }>>();

/** A stress run (seed) with every prefix state precomputed in canonical form. */
function stress(seed: number, maxEvents = 1500) {
  let p = cache.get(seed);
  if (!p) {
    p = (async () => {
      const src = await memorySource("stress", { seed, maxEvents }, SMALL);
      const events = allEvents(src);
      const s = initState(src.meta.config);
      const prefix = [canon(s)];
      for (const e of events) {
        applyEvent(s, e);
        prefix.push(canon(s));
      }
      return { src, events, prefix };
    })();
    cache.set(seed, p);
  }
  return p;
}

/** Every hit of a watchpoint in events lo..hi, by a plain forward fold. */
function forwardHits(src: ReplaySource, events: KEvent[], w: Watchpoint, lo: number, hi: number): number[] {
  const s = initState(src.meta.config);
  const out: number[] = [];
  for (let q = 0; q <= hi; q++) {
    const ev = events[q]!;
    const tok = q >= lo && (w.kinds === null || w.kinds[ev.kind]) ? w.before(s, ev) : SKIP;
    applyEvent(s, ev);
    if (tok !== SKIP && w.after(s, ev, tok)) out.push(q);
  }
  return out;
}

const WATCHES = [
  "lock:a",
  "lock:m",
  "lock:b",
  "kstack-free",
  "thread:3",
  "thread:5",
  "vmar:2",
  "kind:fork,reap",
  "kind:lock-wait",
  "lock:1",
];

describe("cursor on stress runs (property)", () => {
  it("seek(n) from any starting point equals folding from 0 to n", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.integer({ min: -1, max: 1499 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 64 }),
        async (seed, targets, every) => {
          const { src, prefix } = await stress(seed);
          const c = new Cursor(src, { checkpointEvery: every, maxCheckpoints: 8 });
          for (const t0 of targets) {
            const t = Math.min(t0, c.end);
            expect(c.seek(t)).toBe(t);
            expect(c.seq).toBe(t);
            expect(canon(c.state)).toBe(prefix[t + 1]);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("step then stepBack is the identity, and stepBack then step", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: -1, max: 1499 }),
        fc.array(fc.boolean(), { maxLength: 40 }),
        async (seed, at, moves) => {
          const { src, prefix } = await stress(seed);
          const c = new Cursor(src, { checkpointEvery: 16, maxCheckpoints: 4 });
          c.seek(Math.min(at, c.end));
          for (const fwd of moves) {
            const here = c.seq;
            const before = canon(c.state);
            if (fwd) {
              if (c.step() === null) expect(c.seq).toBe(c.end);
              else {
                expect(c.seq).toBe(here + 1);
                expect(c.event?.seq).toBe(here + 1);
                expect(c.stepBack()).toBe(true);
              }
            } else if (c.stepBack()) {
              expect(c.seq).toBe(here - 1);
              expect(canon(c.state)).toBe(prefix[here]);
              c.step();
            } else expect(here).toBe(-1);
            expect(c.seq).toBe(here);
            expect(canon(c.state)).toBe(before);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("reverse-continue lands on the last hit a forward scan finds before the start point; continue on the next one", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 1499 }),
        fc.constantFrom(...WATCHES),
        async (seed, at, spec) => {
          const { src, events, prefix } = await stress(seed);
          const start = Math.min(at, src.eventCount - 1);
          const all = forwardHits(src, events, parseWatch(spec), 0, src.eventCount - 1);
          const c = new Cursor(src, { invariants: [], checkpointEvery: 32 });
          c.watchpoints.push(parseWatch(spec));
          c.seek(start);
          const before = all.filter((q) => q < start);
          const back = c.reverseContinue();
          if (before.length === 0) {
            expect(back.reason).toBe("start");
            expect(c.seq).toBe(-1);
          } else {
            expect(back.reason).toBe("hit");
            expect(back.seq).toBe(before[before.length - 1]);
            expect(c.seq).toBe(back.seq);
            expect(canon(c.state)).toBe(prefix[back.seq + 1]);
            expect(back.hits[0]!.seq).toBe(back.seq);
            expect(back.hits[0]!.watch).toBe(spec);
          }
          // Forward from the landing point: the next hit after it.
          const landed = c.seq;
          const fwd = c.continue();
          const next = all.find((q) => q > landed);
          if (next === undefined) expect(fwd.reason).toBe("end");
          else {
            expect(fwd.seq).toBe(next);
            expect(canon(c.state)).toBe(prefix[next + 1]);
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it("repeated reverse-continue walks back through every hit", async () => {
    const { src, events } = await stress(2);
    const w = parseWatch("lock:a");
    const all = forwardHits(src, events, w, 0, src.eventCount - 1);
    expect(all.length).toBeGreaterThan(10);
    const c = new Cursor(src, { invariants: [] });
    c.watchpoints.push(w);
    c.seek("end");
    const seen: number[] = [];
    for (;;) {
      const s = c.reverseContinue();
      if (s.reason !== "hit") break;
      seen.push(s.seq);
    }
    expect(seen.reverse()).toEqual(all.filter((q) => q < src.eventCount - 1));
  });
});

describe("cursor basics", () => {
  it("named points: start, end, panic, violation", async () => {
    const src = await memorySource("asterinas-procfs");
    const c = new Cursor(src);
    expect(c.seek("end")).toBe(src.eventCount - 1);
    expect(c.state.ended).toBe(true);
    expect(c.seek("start")).toBe(-1);
    expect(c.event).toBeNull();
    const panic = c.seek("panic");
    expect(c.event?.kind).toBe(31);
    expect(src.outcome?.seq).toBe(panic);
    const v = c.seek("violation");
    expect(v).toBeLessThan(panic);
    expect(c.firstViolation()?.invariant).toBe("vmar-live");
  });

  it("a clean run has no panic and no violation: NoSuchPointError (exit code 2)", async () => {
    const src = await memorySource("asterinas-procfs", { fix: "none-check" });
    const c = new Cursor(src);
    expect(() => c.seek("panic")).toThrow(NoSuchPointError);
    expect(() => c.seek("violation")).toThrow(/no invariant violation/);
    expect(() => c.seek(src.eventCount)).toThrow(/outside the trace/);
    expect(() => c.seek(-2)).toThrow(NoSuchPointError);
    try {
      c.seek("panic");
    } catch (e) {
      expect((e as NoSuchPointError).exitCode).toBe(2);
    }
  });

  it("continue stops at the first violation; stepping past it and continuing finds later ones", async () => {
    const src = await memorySource("rcore-kstack");
    const c = new Cursor(src);
    const s = c.continue();
    expect(s.reason).toBe("hit");
    expect(s.violation?.invariant).toBe("kstack-in-use");
    expect(c.event?.kind).toBe(25); // kstack-free
    const again = c.continue();
    // The CPU keeps running on the freed stack: the next event on it is a use after free.
    expect(again.violation?.message).toMatch(/freed at seq/);
  });

  it("condition and value watchpoints", async () => {
    const src = await memorySource("tcmalloc-fork");
    const c = new Cursor(src, { invariants: [] });
    c.watchpoints.push(watchCondition("two processes", (s) => s.procs.size === 2));
    const s = c.continue();
    expect(s.reason).toBe("hit");
    expect(c.event?.kind).toBe(5); // fork
    expect(s.hits[0]).toMatchObject({ old: false, new: true });
    expect(c.continue().reason).toBe("end"); // stays true: no second edge
    c.watchpoints.length = 0;
    c.watchpoints.push(watchValue("process count", (s) => s.procs.size));
    c.seek("start");
    const v = c.continue();
    expect(v.hits[0]).toMatchObject({ old: 0, new: 1 });
  });

  it("a trace file replays exactly as the simulation held in memory", async () => {
    const mem = await memorySource(
      "stress",
      { seed: 3, maxEvents: 20_000 },
      { snapshotEvery: 1000, chunkEvents: 1000 },
    );
    const file = await traceFile("stress", { seed: 3, maxEvents: 20_000 }, 1000);
    const src = openSource(file);
    try {
      expect(src.eventCount).toBe(mem.eventCount);
      const a = new Cursor(mem);
      const b = new Cursor(src);
      for (const t of [19_999, 0, 7_777, 7_776, 12_345, 1000, 999, -1, 4_096]) {
        a.seek(t);
        b.seek(t);
        expect(canon(b.state)).toBe(canon(a.state));
        expect(b.event).toEqual(a.event);
      }
      const events = allEvents(mem);
      expect(canon(b.state)).toBe(canon(foldTo(mem.meta.config, events, 4_096)));
    } finally {
      src.close();
    }
  });
});
