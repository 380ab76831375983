// The scan's shortcuts (issue 14) give the answers of the rules they shorten:
// the kinds applyInert folds change nothing but seq and time; an invariant
// with `armed` finds nothing, and stays unarmed, at the events the Checker
// then skips; the Checker (lists by armed set, quiet kinds) finds at every
// event what each invariant's plain predicate finds; and the whole-trace
// scan (checkRange's own loop, quiet events folded without the Checker) stops
// where the plain predicates first find something.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { applyEvent, applyInert, applyInertRun, INERT_KINDS } from "../src/kernel/apply.ts";
import { initState, type KEvent, KIND, type KState, toPlain } from "../src/kernel/index.ts";
import { exitStrandsNone, stuck } from "../src/kernel/wait.ts";
import {
  BUILT_IN,
  Checker,
  checkEvent,
  checkRange,
  firstViolation,
  INVARIANTS,
  type Invariant,
  invariantsOf,
  type MemorySource,
} from "../src/replay/index.ts";
import { checkWhole, finalState } from "../src/replay/scan.ts";
import { openTrace } from "../src/trace/index.ts";
import { allEvents, canon, memorySource } from "./helpers/replay-sources.ts";
import { REPO_ROOT } from "./helpers/run-cli.ts";

/** Runs that reach the shortcuts' cases: the seed bugs and their fixes, every example (buggy, seeds 1..3), stress loads. */
async function sources(): Promise<{ name: string; src: MemorySource }[]> {
  const out: { name: string; src: MemorySource }[] = [];
  for (const f of readdirSync(join(REPO_ROOT, "traces")).filter((x) => x.endsWith(".ktrace"))) {
    const m = openTrace(join(REPO_ROOT, "traces", f)).meta;
    out.push({ name: f, src: await memorySource(m.scenario, { fix: m.fix || undefined, seed: m.seed }) });
  }
  for (const f of readdirSync(join(REPO_ROOT, "examples")).filter((x) => x.endsWith(".ts"))) {
    const target = join(REPO_ROOT, "examples", f);
    for (const seed of [1, 2, 3]) out.push({ name: `${f} seed ${seed}`, src: await memorySource(target, { seed }) });
  }
  out.push({
    name: "priority-inversion.ts (inherit)",
    src: await memorySource(join(REPO_ROOT, "examples", "priority-inversion.ts"), { fix: "inherit" }),
  });
  for (const opt of [[], ["state=vars"], ["state=os"]])
    out.push({ name: `stress ${opt.join(" ")}`, src: await memorySource("stress", { opts: opt, maxEvents: 60_000 }) });
  return out;
}

/** Folds the source's events in two states a step apart: visit(before, ev, after) for each. */
function lockstep(src: MemorySource, visit: (before: KState, ev: KEvent, after: KState) => void): void {
  const before = initState(src.meta.config);
  const after = initState(src.meta.config);
  for (const ev of allEvents(src)) {
    applyEvent(after, ev);
    visit(before, ev, after);
    applyEvent(before, ev);
  }
}

const plain = (s: KState, seq: number, time: number) => JSON.stringify({ ...toPlain(s), seq, time });

/** What the invariants find at ev by their plain predicates: the first pre-finding in order, else the first post one. */
function reference(invs: readonly Invariant[], before: KState, ev: KEvent, after: KState): string | null {
  for (const inv of invs)
    if ((inv.kinds === null || inv.kinds.includes(ev.kind)) && inv.pre?.(before, ev)) return inv.name;
  for (const inv of invs)
    if ((inv.kinds === null || inv.kinds.includes(ev.kind)) && inv.post?.(after, ev)) return inv.name;
  return null;
}

/** Every event's finding by the plain predicates, as "seq invariant" lines. */
function findings(src: MemorySource, invs: readonly Invariant[]): string[] {
  const out: string[] = [];
  lockstep(src, (before, ev, after) => {
    const r = reference(invs, before, ev, after);
    if (r !== null) out.push(`${ev.seq} ${r}`);
  });
  return out;
}

describe("the scan's shortcuts", async () => {
  const all = await sources();
  const predicates = INVARIANTS.filter((i) => i.monitor === undefined);

  it("the INERT kinds change nothing but the state's seq and time", () => {
    let seen = 0;
    for (const { name, src } of all) {
      let here = 0;
      lockstep(src, (before, ev, after) => {
        // Every one in the small runs, the first 3,000 of a stress run (comparing whole states is slow).
        if (INERT_KINDS[ev.kind] !== 1 || here++ >= 3000) return;
        seen++;
        expect(plain(after, 0, 0), `${name}, event ${ev.seq}`).toBe(plain(before, 0, 0));
        expect([after.seq, after.time]).toEqual([ev.seq, ev.time]);
      });
    }
    expect(seen).toBeGreaterThan(5_000);
  });

  it("an invariant with `armed` finds nothing and stays unarmed at the events its Checker skips", () => {
    const guarded = INVARIANTS.filter((i) => i.armed !== undefined);
    expect(guarded.map((i) => i.name).sort()).toEqual([
      "kstack-in-use",
      "priority-inversion",
      "recursive-mutex-owner",
      "wakeup-inversion",
    ]);
    const armedAt = new Map<string, number>();
    let byKinds = 0;
    for (const { name, src } of all) {
      lockstep(src, (before, ev, after) => {
        for (const inv of guarded) {
          const a = inv.armed!;
          if (a.test(before)) {
            armedAt.set(inv.name, (armedAt.get(inv.name) ?? 0) + 1);
            continue;
          }
          if (a.by.includes(ev.kind)) {
            // At a kind of `by`: since() is test(), and outside `at` the hooks find nothing.
            if (a.since) expect(a.since(after, ev), `${inv.name}.since at ${name} event ${ev.seq}`).toBe(a.test(after));
            if (a.at && !a.at.includes(ev.kind))
              expect(checkEvent(inv, before, ev, after), `${inv.name} at ${name} event ${ev.seq}`).toBeNull();
            byKinds++;
            continue;
          }
          expect(checkEvent(inv, before, ev, after), `${inv.name} at ${name} event ${ev.seq}`).toBeNull();
          expect(a.test(after), `${inv.name} armed by ${name} event ${ev.seq} (kind ${ev.kind})`).toBe(false);
        }
      });
    }
    // Both were armed somewhere (the rcore-kstack run on its freed stack, the fifo threads of priority-inversion).
    expect(armedAt.get("kstack-in-use")).toBeGreaterThan(0);
    expect(armedAt.get("priority-inversion")).toBeGreaterThan(0);
    expect(armedAt.get("wakeup-inversion")).toBeGreaterThan(0);
    // And the recursive mutex of the CPython runs (recursive-mutex-owner).
    expect(armedAt.get("recursive-mutex-owner")).toBeGreaterThan(0);
    expect(byKinds).toBeGreaterThan(1000);
  });

  it("kstack-in-use's since() at a switch onto a freed stack, and the Checker there (a hand-made run)", () => {
    const K = KIND;
    let seq = 0;
    const e = (kind: number, cpu: number, tid: number, a = 0, b = 0, c = 0, str = ""): KEvent => ({
      seq: seq++,
      time: seq * 10,
      cpu,
      tid,
      kind,
      a,
      b,
      c,
      s: str,
    });
    const evs = [
      e(K.procNew, -1, -1, 1, 0, 0, "init"),
      e(K.threadNew, -1, -1, 1, 1, 1),
      e(K.threadNew, -1, 1, 2, 1, 2),
      e(K.kstackAlloc, 0, 1, 7, 1),
      e(K.kstackAlloc, 0, 1, 8, 2),
      e(K.switch, 0, -1, -1, 1, 0),
      e(K.user, 0, 1),
      e(K.kstackFree, 0, 1, 8),
      e(K.switch, 1, -1, -1, 2, 0), // cpu 1 now runs tid 2 on its freed stack 8
      e(K.user, 1, 2),
      e(K.user, 0, 1),
      e(K.kstackAlloc, 0, 1, 8, 1), // stack 8 reallocated for tid 1: tid 2's cpu is on another's stack
      e(K.user, 1, 2),
    ];
    const inv = INVARIANTS.find((i) => i.name === "kstack-in-use")!;
    const before = initState({ cpus: 2 } as KState["config"]);
    const after = initState({ cpus: 2 } as KState["config"]);
    const st = initState({ cpus: 2 } as KState["config"]);
    const ck = new Checker(predicates);
    const got: string[] = [];
    const want: string[] = [];
    for (const ev of evs) {
      applyEvent(after, ev);
      if (!inv.armed!.test(before) && inv.armed!.by.includes(ev.kind))
        expect(inv.armed!.since!(after, ev), `since at ${ev.seq}`).toBe(inv.armed!.test(after));
      const r = reference(predicates, before, ev, after);
      if (r !== null) want.push(`${ev.seq} ${r}`);
      applyEvent(before, ev);
      let v = ck.before(st, ev);
      applyEvent(st, ev);
      if (v === null) v = ck.after(st, ev);
      if (v !== null) got.push(`${ev.seq} ${v.invariant}`);
    }
    expect(want).toEqual(["9 kstack-in-use", "12 kstack-in-use"]);
    expect(got).toEqual(want);
  });

  it("a thread exit that exitStrandsNone clears leaves no thread newly stuck (no-deadlock skips its stuck sets there)", () => {
    let cleared = 0;
    let exits = 0;
    for (const { name, src } of all) {
      lockstep(src, (before, ev, after) => {
        if (ev.kind !== KIND.threadExit) return;
        exits++;
        if (!exitStrandsNone(before, ev.a)) return;
        cleared++;
        const was = stuck(before);
        const fresh = [...stuck(after)].filter((t) => !was.has(t));
        expect(fresh, `${name}, event ${ev.seq}`).toEqual([]);
      });
    }
    expect(cleared).toBeGreaterThan(exits / 2);
  });

  it("the Checker finds at every event what the plain predicates find, also after a violation", () => {
    let found = 0;
    for (const { name, src } of all) {
      const ck = new Checker(predicates);
      const got: string[] = [];
      const want = findings(src, predicates);
      const st = initState(src.meta.config);
      for (const ev of allEvents(src)) {
        let v = ck.before(st, ev);
        applyEvent(st, ev);
        if (v === null) v = ck.after(st, ev);
        if (v !== null) got.push(`${ev.seq} ${v.invariant}`);
      }
      expect(got, name).toEqual(want);
      found += got.length;
    }
    expect(found).toBeGreaterThan(10);
  });

  it("a Checker not asked at the kinds it marks quiet (folded by applyInert or applyInertRun, 1, or by applyEvent, 2; 3: its pre-hooks by preOnly, then applyEvent) finds what the plain predicates find", () => {
    let skipped = 0;
    let silent = 0;
    let preOnly = 0;
    let preOnlyFound = 0;
    let runs = 0;
    for (const { name, src } of all) {
      const ck = new Checker(predicates);
      const got: string[] = [];
      const want = findings(src, predicates);
      const st = initState(src.meta.config);
      const evs = allEvents(src);
      for (let i = 0; i < evs.length; i++) {
        const ev = evs[i]!;
        const quiet = ck.quietOn(st);
        const q = quiet[ev.kind];
        if (q === 1) {
          // Every other run of them as one (applyInertRun), the others one by one.
          let j = i + 1;
          while (j < evs.length && quiet[evs[j]!.kind] === 1) j++;
          const last = evs[j - 1]!;
          const ok =
            runs++ % 2 === 0
              ? applyInertRun(st, ev.seq, last.seq, last.time)
              : evs.slice(i, j).every((e) => applyInert(st, e.seq, e.time));
          expect(ok, `${name} event ${ev.seq}`).toBe(true);
          ck.folded += j - i;
          skipped += j - i;
          i = j - 1;
          continue;
        }
        if (q === 2) {
          applyEvent(st, ev);
          ck.folded++;
          silent++;
          continue;
        }
        if (q === 3) {
          const v = ck.preOnly(st, ev);
          applyEvent(st, ev);
          ck.folded++;
          preOnly++;
          if (v !== null) {
            got.push(`${ev.seq} ${v.invariant}`);
            preOnlyFound++;
          }
          continue;
        }
        let v = ck.before(st, ev);
        applyEvent(st, ev);
        if (v === null) v = ck.after(st, ev);
        if (v !== null) got.push(`${ev.seq} ${v.invariant}`);
      }
      expect(got, name).toEqual(want);
      const plainEnd = initState(src.meta.config);
      for (const ev of evs) applyEvent(plainEnd, ev);
      expect(canon(st), name).toEqual(canon(plainEnd));
    }
    expect(skipped).toBeGreaterThan(50_000);
    expect(silent).toBeGreaterThan(1_000);
    expect(preOnly).toBeGreaterThan(1_000);
    expect(preOnlyFound).toBeGreaterThan(0);
  });

  it("the whole-trace scan, data-race left out until the first memory access, gives the scan with every invariant from the start", () => {
    let races = 0;
    for (const { name, src } of all) {
      const r = firstViolation(src);
      // The trace's default set: zombie-leak.ts opts in to zombie-leak.
      const full = checkRange(src, invariantsOf(src), 0, src.eventCount - 1);
      expect({ v: r.violation, n: r.scanned, u: r.unchecked, s: canon(r.state) }, name).toEqual({
        v: full.violation,
        n: full.scanned,
        u: full.unchecked,
        s: canon(finalState(src, full.last)),
      });
      if (r.violation?.invariant === "data-race") races++;
    }
    expect(races).toBeGreaterThan(0);
  });

  it("with two monitors (lock-order, data-race), each is left out until the first event it can report at; the answer is the scan with every invariant from the start", () => {
    // no-starvation keeps its history from the first event (no `reports`: any event before its first report
    // kind may be in its window), so a scan with it runs every monitor from the start: left out here.
    const withOrder = [...BUILT_IN.filter((i) => i.name !== "zombie-leak" && i.name !== "no-starvation")];
    let orders = 0;
    for (const { name, src } of all) {
      const r = firstViolation(src, withOrder);
      const full = checkRange(src, withOrder, 0, src.eventCount - 1);
      expect({ v: r.violation, n: r.scanned, s: canon(r.state) }, name).toEqual({
        v: full.violation,
        n: full.scanned,
        s: canon(finalState(src, full.last)),
      });
      if (r.violation?.invariant === "lock-order") orders++;
    }
    expect(orders).toBeGreaterThan(0);
    // stress has lock events and no memory access: data-race never runs; lock-order joins at the first lock event.
    const stress = all.find((x) => x.name.startsWith("stress"))!.src;
    const passes: string[][] = [];
    checkWhole(withOrder, (some, opts) => {
      passes.push(some.filter((i) => i.monitor !== undefined).map((i) => i.name));
      return checkRange(stress, some, 0, stress.eventCount - 1, opts);
    });
    expect(passes).toEqual([[], ["lock-order"]]);
  });

  it("a Checker asked after() first (no before() for the event) judges with every invariant", () => {
    for (const { name, src } of all.slice(0, 12)) {
      const st = initState(src.meta.config);
      const evs = allEvents(src);
      // after() alone at every event: what the post-hooks find on the state after it.
      const ck = new Checker(predicates);
      for (const ev of evs) {
        applyEvent(st, ev);
        const want = predicates.find(
          (inv) => (inv.kinds === null || inv.kinds.includes(ev.kind)) && inv.post?.(st, ev),
        );
        expect(ck.after(st, ev)?.invariant ?? null, `${name} event ${ev.seq}`).toBe(want?.name ?? null);
      }
    }
  });

  it("the whole-trace scan stops where the plain predicates first find something, with every invariant", () => {
    for (const { name, src } of all) {
      let want: { seq: number; inv: string } | null = null;
      let n = 0;
      lockstep(src, (before, ev, after) => {
        if (want !== null) return;
        n++;
        const r = reference(predicates, before, ev, after);
        if (r !== null) want = { seq: ev.seq, inv: r };
      });
      const r = firstViolation(src, predicates);
      const w = want as { seq: number; inv: string } | null;
      expect(r.violation ? { seq: r.violation.seq, inv: r.violation.invariant } : null, name).toEqual(w);
      expect(r.scanned, name).toBe(n);
    }
  });
});
