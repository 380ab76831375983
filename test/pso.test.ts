// The pso memory model (src/kernel/tso.ts): a buffered store may reach memory
// before an older one to another variable, never before an older one to the
// same variable, nor past a store barrier (fence("store"), smp_wmb); the
// drain questions (one per buffered variable, by age, until a yes); the fold
// follows the header's model (pso commits, the barrier) and refuses a commit
// the rules forbid; the fold's state equals the simulator's; a decision list
// replays a pso run; data-race's release at a store-commit takes the store
// the commit took; check's causes name the store that overtook; whatif and
// pivots on a pso trace; Bun and Deno write the same bytes; tso traces from
// before pso read and re-record exactly as they did.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { calmChooser, DecisionRecorder, ReplayChooser } from "../src/explore/strategies/index.ts";
import * as k from "../src/kernel/index.ts";
import {
  ApplyError,
  applyEvent,
  type Chooser,
  initState,
  type KEvent,
  KIND,
  type KState,
  randomChooser,
  simulate,
  toPlain,
  type World,
} from "../src/kernel/index.ts";
import { prepare, run } from "../src/record/index.ts";
import { violationReport } from "../src/replay/explain.ts";
import { describe as describeEvent, firstViolation, MemorySource, stateText, stateView } from "../src/replay/index.ts";
import { openTrace } from "../src/trace/index.ts";
import { decodeSchedule, encodeSchedule } from "../src/trace/schedule.ts";
import { threadPane } from "../src/tui/rows.ts";
import { allEvents, memorySource } from "./helpers/replay-sources.ts";
import { REPO_ROOT, runCli } from "./helpers/run-cli.ts";
import { foldEqualsSim, runOf, worldOf } from "./helpers/world.ts";
import { type TraceDigest, traceDigest } from "./support/trace-digest.ts";

const VARS = { x: { type: "int" as const }, y: { type: "int" as const }, z: { type: "int" as const } };
const model = (memory: "sc" | "tso" | "pso") => ({ rules: { memory }, vars: VARS });

/**
 * The MP litmus test: a writer stores x then y (an atomic store: WRITE_ONCE);
 * the reader polls y until it reads 1, then reads x. `between`: what sits
 * between the two stores.
 */
function mp(memory: "sc" | "tso" | "pso", between: "none" | "wmb" | "mb" = "none"): World {
  return worldOf(
    [
      [
        k.thread(
          [
            k.store("x", 1),
            ...(between === "wmb" ? [k.fence("store")] : between === "mb" ? [k.fence()] : []),
            k.store("y", 1, { atomic: true }),
            k.user("work", 4),
          ],
          { tid: "w" },
        ),
        k.load("ry", "y", { atomic: true }),
        k.loopWhile(k.eq(k.r("ry"), 0), { max: 40 }, [k.load("ry", "y", { atomic: true })]),
        k.load("rx", "x"),
        k.join(k.r("w")),
      ],
    ],
    model(memory),
  );
}

/** Seeds in 1..n whose MP run read y = 1 and then x = 0. */
function reordered(w: World, n: number): number[] {
  const out: number[] = [];
  for (let seed = 1; seed <= n; seed++) {
    const { evs } = runOf(w, { seed });
    const ry = evs.filter((e) => e.kind === KIND.atomicLoad && e.s === "ry").at(-1)!.b;
    const rx = evs.find((e) => e.kind === KIND.load && e.s === "rx")!.b;
    if (ry === 1 && rx === 0) out.push(seed);
  }
  return out;
}

/** A variable's id from its var-new event. */
const idOf = (evs: readonly KEvent[], name: string): number =>
  evs.find((e) => e.kind === KIND.varNew && e.s.split(" ")[1] === name)!.a;

/** Folds evs from the initial state. */
function fold(w: World, evs: readonly KEvent[]): KState {
  const s = initState(w.config);
  for (const e of evs) applyEvent(s, e);
  return s;
}

/** A chooser that answers the drain questions with `drain` (and records them), else as the random one. */
function drainsBy(seed: number, drain: Chooser["drain"]): Chooser {
  const r = randomChooser(seed);
  return { preempt: r.preempt, jitter: r.jitter, drain };
}

describe("pso: stores reorder", () => {
  it("the reader sees y = 1 and then x = 0 on some seeds under pso, on none under tso or sc", () => {
    expect(reordered(mp("pso"), 300).length).toBeGreaterThan(0);
    expect(reordered(mp("tso"), 300)).toEqual([]);
    expect(reordered(mp("sc"), 300)).toEqual([]);
  });

  it("a store barrier (fence('store')) or a full fence between the stores forbids it", () => {
    expect(reordered(mp("pso", "wmb"), 300)).toEqual([]);
    expect(reordered(mp("pso", "mb"), 300)).toEqual([]);
  });

  it("stores to one variable stay in order: its commits come in store order, a reader never sees a newer value then an older one", () => {
    const w = worldOf(
      [
        [
          k.thread([k.store("x", 1), k.store("y", 1), k.store("x", 2), k.store("x", 3), k.user("work", 4)], {
            tid: "w",
          }),
          k.load("a", "x"),
          k.load("b", "x"),
          k.load("c", "x"),
          k.load("d", "x"),
          k.join(k.r("w")),
        ],
      ],
      model("pso"),
    );
    let overtook = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const { evs } = runOf(w, { seed });
      const x = idOf(evs, "x");
      const y = idOf(evs, "y");
      const commits = evs.filter((e) => e.kind === KIND.storeCommit);
      expect(
        commits.filter((e) => e.a === x).map((e) => e.c),
        `seed ${seed}`,
      ).toEqual([1, 2, 3]);
      const reads = ["a", "b", "c", "d"].map((r) => evs.find((e) => e.kind === KIND.load && e.s === r)!.b);
      for (let i = 1; i < reads.length; i++) expect(reads[i]!, `seed ${seed}`).toBeGreaterThanOrEqual(reads[i - 1]!);
      // y's store overtook x = 1 on some seeds: different variables do reorder.
      if (commits.findIndex((e) => e.a === y) < commits.findIndex((e) => e.a === x)) overtook++;
    }
    expect(overtook).toBeGreaterThan(0);
  });

  it("the drain questions: one per buffered variable, by the age of its oldest store, until a yes; none past a store barrier; tso asks one", () => {
    const prog = [k.store("x", 1), k.store("y", 1), k.store("x", 2), k.fence("store"), k.store("z", 1), k.user("u", 3)];
    /** The questions asked before each event (answered no), grouped by that event. */
    const questions = (memory: "tso" | "pso") => {
      const asked: { seq: number; vars: number[] }[] = [];
      let step: number[] = [];
      const evs: KEvent[] = [];
      simulate(
        worldOf([prog], model(memory)),
        {
          seed: 1,
          maxEvents: 1000,
          chooser: drainsBy(1, (_c, _t, v) => {
            step.push(v);
            return false;
          }),
        },
        (e) => {
          evs.push({ ...e });
          if (step.length > 0) asked.push({ seq: e.seq, vars: step });
          step = [];
        },
      );
      return { asked, evs };
    };
    const { asked, evs } = questions("pso");
    const [x, y] = [idOf(evs, "x"), idOf(evs, "y")];
    const seqOf = (kind: number, n = 0) => evs.filter((e) => e.kind === kind)[n]!.seq;
    const askedBefore = (seq: number) => asked.find((q) => q.seq === seq)?.vars;
    // Before y = 1: x alone; before x = 2 and the fence: x, then y (x's oldest store is older).
    expect(askedBefore(seqOf(KIND.store, 1))).toEqual([x]);
    expect(askedBefore(seqOf(KIND.store, 2))).toEqual([x, y]);
    expect(askedBefore(seqOf(KIND.fence))).toEqual([x, y]);
    // After the barrier z waits: the questions stop at it (x = 2 carries the barrier; x was asked already).
    expect(askedBefore(seqOf(KIND.user))).toEqual([x, y]);
    expect(asked.every((q) => q.vars.every((v) => v === x || v === y))).toBe(true);
    expect(evs.find((e) => e.kind === KIND.fence)!.a).toBe(1);
    // Under tso: one question a step, about the oldest store (v -1).
    const tso = questions("tso");
    expect(tso.asked.length).toBeGreaterThan(0);
    for (const q of tso.asked) expect(q.vars).toEqual([-1]);
  });

  it("a store barrier under pso: the stores before it commit first, whichever the chooser would take", () => {
    // A chooser that always takes the newest variable it is asked about first: without the barrier y would overtake x.
    const w = worldOf(
      [[k.store("x", 1), k.fence("store"), k.store("y", 1), k.fence("store"), k.store("z", 1), k.user("u", 3)]],
      model("pso"),
    );
    const { evs } = runOf(w, { chooser: drainsBy(1, () => true) });
    const commits = evs.filter((e) => e.kind === KIND.storeCommit).map((e) => e.a);
    expect(commits).toEqual([idOf(evs, "x"), idOf(evs, "y"), idOf(evs, "z")]);
    // The fold kept the barrier on the buffer: the state before the second fence shows it after x or y.
    const fences = evs.filter((e) => e.kind === KIND.fence);
    expect(fences.map((e) => e.a)).toEqual([1, 1]);
  });
});

describe("pso: the fold", () => {
  it("the fold's state equals the simulator's at every event of pso runs (MP, a store barrier, stress state=vars)", async () => {
    const FIVE = [1, 2, 3, 4, 5];
    for (const [w, seeds] of [
      [mp("pso"), reordered(mp("pso"), 100).slice(0, 3)],
      [mp("pso", "wmb"), FIVE],
    ] as const) {
      expect(seeds.length).toBeGreaterThan(0);
      for (const seed of seeds) {
        const evs = foldEqualsSim(w, seed);
        expect(evs.some((e) => e.kind === KIND.storeCommit)).toBe(true);
        // On a reordered seed a commit overtook an older store of its thread (the fold took it from the middle).
        if (seeds !== FIVE) {
          const s = initState(w.config);
          let overtook = 0;
          for (const e of evs) {
            if (e.kind === KIND.storeCommit && s.threads.get(e.tid)!.stores![0]!.var !== e.a) overtook++;
            applyEvent(s, e);
          }
          expect(overtook, `seed ${seed}`).toBe(1);
        }
      }
    }
    const p = await prepare({ target: "stress", opts: ["state=vars", "memory=pso"], maxEvents: 20_000 });
    expect(p.world.config.memory).toBe("pso");
    const evs: KEvent[] = [];
    const final = run(p, (e) => evs.push({ ...e }));
    expect(toPlain(fold(p.world, evs))).toEqual(toPlain(final));
  });

  it("follows the header's model: pso commits out of order, tso refuses them; a commit past a barrier or of a variable with nothing buffered is refused", () => {
    // A run whose stores all stay buffered until the exit drains them, oldest first.
    const prog = (wmb: boolean) => [
      k.store("x", 1),
      ...(wmb ? [k.fence("store")] : []),
      k.store("y", 1),
      k.store("x", 2),
      k.user("u", 2),
    ];
    const never = drainsBy(1, () => false);
    const swapped = (w: World): KEvent[] => {
      const { evs } = runOf(w, { chooser: never, cpus: 1 });
      const i = evs.findIndex((e) => e.kind === KIND.storeCommit);
      const out = evs.map((e) => ({ ...e }));
      // Swap the fields of the first two commits (x = 1, then y = 1): y's first.
      const [a, b] = [out[i]!, out[i + 1]!];
      expect([a.kind, b.kind]).toEqual([KIND.storeCommit, KIND.storeCommit]);
      [a.a, a.b, a.c, b.a, b.b, b.c] = [b.a, b.b, b.c, a.a, a.b, a.c];
      return out;
    };
    const pso = worldOf([prog(false)], model("pso"));
    expect(() => fold(pso, swapped(pso))).not.toThrow();
    const tso = worldOf([prog(false)], model("tso"));
    expect(() => fold(tso, swapped(tso))).toThrow(ApplyError);
    const barrier = worldOf([prog(true)], model("pso"));
    expect(() => fold(barrier, swapped(barrier))).toThrow(/has no buffered store of 1 to variable \d+ to commit first/);
    // x = 2 before x = 1: the variable's oldest is 1.
    const { evs } = runOf(pso, { chooser: never, cpus: 1 });
    const commits = evs.filter((e) => e.kind === KIND.storeCommit);
    const x2 = evs.map((e) => ({ ...e }));
    const first = x2.find((e) => e.kind === KIND.storeCommit)!;
    first.c = 2;
    expect(() => fold(pso, x2)).toThrow(ApplyError);
    // A variable with nothing buffered.
    const z = evs.map((e) => ({ ...e }));
    z.find((e) => e.kind === KIND.storeCommit)!.a = 999;
    expect(() => fold(pso, z)).toThrow(ApplyError);
    expect(commits.length).toBe(3);
  });
});

describe("pso: replay and the views", () => {
  it("a recorded decision list replays a pso run event for event, through its bytes", async () => {
    const p = await prepare({ target: "stress", opts: ["state=vars", "memory=pso"], maxEvents: 5_000 });
    const rec = new DecisionRecorder(randomChooser(11), p.world.config.cpus);
    const a: KEvent[] = [];
    simulate(p.world, { seed: 11, maxEvents: 5_000, chooser: rec }, (e) => a.push({ ...e }));
    const sched = rec.schedule();
    expect(sched.drains?.asked).toBeGreaterThan(100);
    const back = decodeSchedule(encodeSchedule(sched), 64);
    expect(back).toEqual(sched);
    const plain: KEvent[] = [];
    simulate(p.world, { seed: 11, maxEvents: 5_000 }, (e) => plain.push({ ...e }));
    expect(plain).toEqual(a);
    const replay = new ReplayChooser(back, calmChooser());
    const b: KEvent[] = [];
    simulate(p.world, { seed: 999, maxEvents: 5_000, chooser: replay }, (e) => b.push({ ...e }));
    expect(replay.mismatch).toBeNull();
    expect(replay.exhausted).toBe(true);
    expect(b).toEqual(a);
  });

  it("data-race: an atomic store that overtook an older plain one releases at its own commit", () => {
    // t stores data (plain) then flag (atomic); main polls flag and then writes data. Under pso flag may reach
    // memory first: main's write after reading 1 is still ordered after t's (the release at flag's commit).
    const w = worldOf(
      [
        [
          k.thread([k.store("data", 1), k.store("flag", 1, { atomic: true }), k.user("work", 6)], { tid: "t" }),
          k.load("f", "flag", { atomic: true }),
          k.loopWhile(k.eq(k.r("f"), 0), { max: 60 }, [k.load("f", "flag", { atomic: true })]),
          k.store("data", 2),
          k.join(k.r("t")),
        ],
      ],
      { rules: { memory: "pso" }, vars: { data: { type: "int" }, flag: { type: "int" } } },
    );
    let overtaken = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const r = runOf(w, { seed });
      const flag = idOf(r.evs, "flag");
      const data = idOf(r.evs, "data");
      const commits = r.evs.filter((e) => e.kind === KIND.storeCommit && e.tid !== 1);
      const f = r.evs.filter((e) => e.kind === KIND.atomicLoad && e.a === flag).at(-1)!;
      if (f.b !== 1) continue;
      if (commits.findIndex((e) => e.a === flag) > commits.findIndex((e) => e.a === data && e.c === 1)) continue;
      overtaken++;
      const v = firstViolation(MemorySource.fromEvents(w.config, r.evs), ["data-race"]).violation;
      expect(v, `seed ${seed}`).toBeNull();
    }
    expect(overtaken).toBeGreaterThan(0);
  });

  it("check's causes name the later store that reached memory first, and the stale load (message-passing-pso)", async () => {
    const src = await memorySource("examples/message-passing-pso.ts", { seed: 5 });
    const res = firstViolation(src);
    expect(res.violation?.invariant).toBe("assertions");
    const rep = violationReport(src, res.violation!, res.state ?? undefined);
    const whys = rep.causes.map((c) => c.why);
    expect(whys).toContain("tid 2 stored data = 42 into its store buffer (pso)");
    expect(
      whys.some((w) => /^tid 2's later store to ready \(seq \d+\) reached memory before its store of data/.test(w)),
    ).toBe(true);
    const root = rep.causes.find((c) => c.root && /read data = 0/.test(c.why))!;
    expect(root.why).toMatch(
      /after its later store to ready had reached memory: it read the old value \(a store barrier/,
    );
  });

  it("describe, the state view and the TUI show a store barrier in the buffer", async () => {
    const src = await memorySource("examples/message-passing-pso.ts", { seed: 5, fix: "wmb" });
    const evs = allEvents(src);
    const fence = evs.find((e) => e.kind === KIND.fence)!;
    expect(fence.a).toBe(1);
    const s = initState(src.meta.config);
    let at: KState | null = null;
    for (const e of evs) {
      applyEvent(s, e);
      // The store of ready, buffered behind data's barrier.
      if (e.seq > fence.seq && e.kind === KIND.atomicStore && s.threads.get(e.tid)?.stores?.length === 2)
        at = structuredClone(s);
    }
    expect(at).not.toBeNull();
    const t = stateView(at!).threads.find((x) => x.stores !== undefined)!;
    expect(t.stores!.map((x) => [x.name, x.value, x.wmb ?? false])).toEqual([
      ["data", 42, true],
      ["ready", 1, false],
    ]);
    expect(stateText(stateView(at!)).join("\n")).toMatch(/data=42 \(seq \d+\) \| smp_wmb, ready=1 \(seq \d+\)/);
    expect(threadPane(at!).rows.find((r) => r.ref.id === t.tid)!.note).toMatch(
      /store buffer data=42 \(seq \d+\) \| smp_wmb, ready=1/,
    );
    expect(describeEvent(fence, at!)).toBe(
      `tid ${fence.tid}: store barrier (smp_wmb): the stores it buffered so far reach memory before any it buffers after`,
    );
    const tso = initState({ ...at!.config, memory: "tso" });
    expect(describeEvent(fence, tso)).toBe(`tid ${fence.tid}: store barrier (smp_wmb)`);
  });
});

describe("pso: the scenario API and the command line", () => {
  it("rules.memory pso and --opt memory=pso are accepted; another model or a fence kind other than store is refused", async () => {
    const p = await prepare({ target: "examples/store-buffering.ts", opts: ["memory=pso"] });
    expect(p.world.config.memory).toBe("pso");
    const w = mp("pso");
    expect(k.validateWorld(w)).toBeNull();
    expect(k.validateWorld({ ...w, config: { ...w.config, memory: "arm" as never } })).toMatch(
      /memory must be one of sc, tso, pso/,
    );
    const bad = worldOf([[{ op: "fence", kind: "load" } as never]], model("pso"));
    expect(k.validateWorld(bad)).toMatch(/kind must be "store"/);
    await expect(prepare({ target: "stress", opts: ["memory=arm"] })).rejects.toThrow(
      /--opt memory expects one of sc, tso, pso/,
    );
    const list = await runCli(["scenarios"]);
    expect(list.stdout).toContain("--opt memory=sc|tso|pso");
  });

  const dir = mkdtempSync(join(tmpdir(), "ktrace-pso-"));

  it("a pso trace: Bun and Deno write the same bytes; check exits 1 naming the stale load; info names the model", async () => {
    for (const args of [
      ["examples/message-passing-pso.ts", "--seed", "5"],
      ["examples/message-passing-pso.ts", "--seed", "5", "--fix", "wmb"],
    ]) {
      const a = join(dir, "bun.ktrace");
      const b = join(dir, "deno.ktrace");
      expect((await runCli(["record", ...args, "-o", a], { runtime: "bun" })).code).toBe(0);
      expect((await runCli(["record", ...args, "-o", b], { runtime: "deno" })).code).toBe(0);
      expect(Buffer.compare(readFileSync(a), readFileSync(b)), args.join(" ")).toBe(0);
    }
    const t = join(dir, "mp5.ktrace");
    expect((await runCli(["record", "examples/message-passing-pso.ts", "--seed", "5", "-o", t])).code).toBe(0);
    const c = await runCli(["check", t]);
    expect(c.code).toBe(1);
    expect(c.stdout).toMatch(/tid 1 read data = 0 while tid 2's store of 42 \(seq \d+\) was still in its store buffer/);
    expect((await runCli(["info", t])).stdout).toContain("memory pso");
  });

  it("whatif --drain / --no-drain and pivots on a pso trace: the commit of ready, held back, and data's instead, both pass", async () => {
    const t = join(dir, "mp5w.ktrace");
    expect((await runCli(["record", "examples/message-passing-pso.ts", "--seed", "5", "-o", t])).code).toBe(0);
    const pj = JSON.parse((await runCli(["pivots", t, "--json"])).stdout);
    expect(pj.failure.invariant).toBe("assertions");
    const drains = pj.pivots.filter((p: { decision: { kind: string } }) => p.decision.kind === "drain");
    expect(drains.length).toBeGreaterThan(0);
    // Under pso a drain decision names the variable its question was about.
    for (const p of drains) {
      expect(typeof p.decision.var).toBe("number");
      expect(["ready", "data"]).toContain(p.decision.varName);
    }
    // The commit of ready that overtook data: the yes at that seq.
    const ev = (await runCli(["events", t, "--json"])).stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const commit = ev.find((e: { kind: string; args?: { var?: string } }) => e.kind === "store-commit")!;
    const seq = String(commit.seq);
    const no = await runCli(["whatif", t, "--at", seq, "--no-drain", "--json", "-o", join(dir, "w1.ktrace")]);
    expect(no.code, no.stderr).toBe(0);
    expect(JSON.parse(no.stdout).change).toMatch(
      /oldest buffered store to ready \(variable \d+\) stays buffered at seq/,
    );
    const yes = await runCli(["whatif", t, "--at", seq, "--drain", "--json", "-o", join(dir, "w2.ktrace")]);
    expect(yes.code, yes.stderr).toBe(0);
    expect(JSON.parse(yes.stdout).change).toMatch(
      /oldest buffered store to data \(variable \d+\) reaches memory at seq .* \(it stayed buffered\)/,
    );
  });
});

describe("tso traces from before pso (fixtures/traces/tso-3.0)", () => {
  const DIR = join(REPO_ROOT, "fixtures", "traces", "tso-3.0");
  const expected = JSON.parse(readFileSync(join(DIR, "EXPECTED.json"), "utf8")) as Record<
    string,
    TraceDigest & { scheduleSha: string }
  >;
  const ARGS: Record<string, string[]> = {
    "store-buffering-s24.ktrace": ["examples/store-buffering.ts", "--seed", "24"],
    "waitqueue-active-s9.ktrace": ["examples/waitqueue-active.ts", "--seed", "9"],
    "waitqueue-active--smp-mb-s3.ktrace": ["examples/waitqueue-active.ts", "--fix", "smp-mb", "--seed", "3"],
    "stress-vars-tso-s7.ktrace": [
      "stress",
      "--max-events",
      "5000",
      "--opt",
      "state=vars",
      "--opt",
      "memory=tso",
      "--seed",
      "7",
    ],
  };
  const sha = (b: Uint8Array | null) => (b === null ? null : createHash("sha256").update(b).digest("hex"));
  const dir = mkdtempSync(join(tmpdir(), "ktrace-tso-old-"));

  it("are all there", () => expect(Object.keys(expected).sort()).toEqual(Object.keys(ARGS).sort()));
  for (const [file, want] of Object.entries(expected)) {
    it(`${file} reads as it did, and recording it again gives the same events, states and schedule bytes`, async () => {
      const { scheduleSha, ...digest } = want;
      const path = join(DIR, file);
      expect(traceDigest(path, true)).toEqual(digest);
      expect(sha(openTrace(path).scheduleBytes())).toBe(scheduleSha);
      const again = join(dir, file);
      expect((await runCli(["record", ...ARGS[file]!, "-o", again])).code).toBe(0);
      expect(traceDigest(again, true)).toEqual(digest);
      expect(sha(openTrace(again).scheduleBytes())).toBe(scheduleSha);
    });
  }
});
