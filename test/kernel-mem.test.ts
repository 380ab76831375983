// Shared state and control flow as data: variables, registers, atomics,
// branches and loops, checks, objects; their validation; their replay.
import { describe, expect, it } from "vitest";
import * as k from "../src/kernel/index.ts";
import {
  applyEvent,
  initState,
  type KEvent,
  type KState,
  type Op,
  simulate,
  toPlain,
  type VarDecl,
  validateWorld,
  type World,
} from "../src/kernel/index.ts";
import { Cursor, firstViolation, MemorySource, parseWatch, why } from "../src/replay/index.ts";
import { DEFAULT_RULES } from "../src/scenarios/index.ts";

function world(procs: Op[][], vars: Record<string, VarDecl> = {}, locks: World["locks"] = {}): World {
  return {
    config: { cpus: 2, ...DEFAULT_RULES },
    locks,
    vars,
    procs: procs.map((main, i) => ({ name: `p${i}`, main })),
  };
}

function runW(w: World, seed = 1, maxEvents = 20_000): { evs: KEvent[]; st: KState } {
  const bad = validateWorld(w);
  if (bad) throw new Error(bad);
  const evs: KEvent[] = [];
  const st = simulate(w, { seed, maxEvents }, (e) => evs.push(e));
  return { evs, st };
}

const kind = (evs: KEvent[], name: string) => evs.filter((e) => k.EVENT_KINDS[e.kind]!.name === name);
const varValue = (st: KState, name: string) => [...st.vars.values()].find((v) => v.name === name)?.value;

describe("variables and atomics", () => {
  const counter = { counter: { type: "int" } } as const;
  const twoThreads = (inc: Op[]) => {
    const body = [k.repeat(3, inc)];
    return world(
      [
        [
          k.thread(body),
          ...body,
          k.user("wait", 40),
          k.load("c", "counter"),
          k.assert(k.eq(k.r("c"), 6), "counter == 6"),
        ],
      ],
      counter,
    );
  };

  it("a plain read-modify-write is a load and a store another thread can come between: some seeds lose an update", () => {
    const w = twoThreads([k.store("counter", k.add(k.v("counter"), 1))]);
    const finals = new Set<string>();
    for (let seed = 1; seed <= 60; seed++) finals.add(runW(w, seed).st.outcome!.kind);
    expect([...finals].sort()).toEqual(["fatal", "ok"]);
    const { evs, st } = runW(w, 1);
    expect(st.outcome).toMatchObject({ kind: "fatal", message: "Assertion `counter == 6' failed." });
    // Every access is an event naming the thread, the variable, and what it saw.
    const loads = kind(evs, "load").filter((e) => e.s === "$counter");
    const stores = kind(evs, "store");
    expect(loads).toHaveLength(6);
    expect(stores).toHaveLength(6);
    // Each store writes what its own thread loaded, plus one; a lost update is a store whose
    // old value is not what that thread had loaded (another thread wrote in between).
    const seen = new Map<number, number>();
    let lost = 0;
    for (const e of evs) {
      if (e.kind === k.KIND.load) seen.set(e.tid, e.b);
      if (e.kind !== k.KIND.store) continue;
      expect(e.c).toBe(seen.get(e.tid)! + 1);
      if (e.b !== seen.get(e.tid)) lost++;
    }
    expect(lost).toBeGreaterThan(0);
    expect(new Set(stores.map((e) => e.tid)).size).toBe(2);
    expect(kind(evs, "assert-fail")[0]!.s).toBe("Assertion `counter == 6' failed.");
  });
  it("fetch-add, or the store under a mutex, never loses one (seeds 1..200)", () => {
    for (const inc of [
      [k.fetchAdd("counter", 1)],
      [k.lock("m"), k.store("counter", k.add(k.v("counter"), 1)), k.unlock("m")],
    ]) {
      const w = twoThreads(inc);
      for (let seed = 1; seed <= 200; seed++) expect(runW(w, seed).st.outcome!.kind, `seed ${seed}`).toBe("ok");
    }
  });
  it("cas puts the old value in its register; a failed cas leaves the variable as it was", () => {
    const w = world(
      [
        [
          k.cas("x", 0, 5, { reg: "a" }),
          k.cas("x", 0, 7, { reg: "b" }),
          k.xchg("x", 9, { reg: "c" }),
          k.load("d", "x", { atomic: true }),
          k.store("x", k.r("d"), { atomic: true }),
        ],
      ],
      { x: { type: "int" } },
    );
    const { evs, st } = runW(w);
    const cas = kind(evs, "cas");
    expect(cas.map((e) => [e.b, e.c, e.s])).toEqual([
      [0, 5, "a"],
      [5, 5, "b"],
    ]);
    expect(kind(evs, "xchg").map((e) => [e.b, e.c])).toEqual([[5, 9]]);
    expect(kind(evs, "atomic-load").map((e) => [e.b, e.s])).toEqual([[9, "d"]]);
    expect(kind(evs, "atomic-store").map((e) => [e.b, e.c])).toEqual([[9, 9]]);
    expect(varValue(st, "x")).toBe(9);
  });
  it("user variables are copied at fork (the child writes its own copy); kernel variables have one copy", () => {
    const w = world(
      [
        [
          k.store("u", 1),
          k.store("g", 1),
          k.fork([k.store("u", 2), k.fetchAdd("g", 10)]),
          k.waitpid(),
          k.load("a", "u"),
          k.load("b", "g"),
          k.assert(k.and(k.eq(k.r("a"), 1), k.eq(k.r("b"), 11)), "u == 1 && g == 11"),
        ],
      ],
      { u: { type: "int" }, g: { type: "int", scope: "kernel" } },
    );
    const { evs, st } = runW(w);
    expect(st.outcome!.kind).toBe("ok");
    const fork = kind(evs, "fork")[0]!;
    const copies = [...foldTo(w, evs, fork.seq).vars.values()].filter((v) => v.copiedSeq === fork.seq);
    expect(copies.map((v) => [v.name, v.space, v.value])).toEqual([["u", 2, 1]]);
  });
  it("a 'proc' variable is a field of each process's kernel struct, readable in another process by pid (vOf)", () => {
    const w = world(
      [
        [
          k.fork([k.syscall("exit_mm", [k.store("mm", k.none)])], { pid: "child" }),
          k.user("parent works", 20),
          k.syscall("status", [k.unwrap("m", k.vOf("mm", k.r("child")), { at: "process_vm/mod.rs:87" })]),
          k.waitpid(),
        ],
      ],
      { mm: { type: "ptr", init: "new", scope: "proc" } },
    );
    let panicked = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const { st } = runW(w, seed);
      if (st.outcome!.kind === "panic") {
        panicked++;
        expect(st.outcome!.message).toBe("called `Option::unwrap()` on a `None` value at process_vm/mod.rs:87");
      }
    }
    expect(panicked).toBeGreaterThan(0);
  });
});

function foldTo(w: World, evs: KEvent[], seq: number): KState {
  const s = initState(w.config);
  for (const e of evs) {
    applyEvent(s, e);
    if (e.seq === seq) break;
  }
  return s;
}

describe("control flow", () => {
  it("if takes a branch on registers and variables; while runs at most max times", () => {
    const w = world(
      [
        [
          k.store("n", 3),
          k.loopWhile(k.gt(k.v("n"), 0), { max: 10 }, [k.fetchAdd("n", -1), k.fetchAdd("iters", 1)]),
          k.loopWhile(k.eq(k.v("n"), 0), { max: 4 }, [k.fetchAdd("capped", 1)]),
          k.when(k.eq(k.v("capped"), 4), [k.store("flag", 1)], [k.store("flag", 2)]),
          k.set("r1", k.mul(k.v("iters"), 7)),
        ],
      ],
      { n: { type: "int" }, iters: { type: "int" }, capped: { type: "int" }, flag: { type: "int" } },
    );
    const { evs, st } = runW(w);
    expect(st.outcome!.kind).toBe("ok");
    expect([varValue(st, "iters"), varValue(st, "capped"), varValue(st, "flag")]).toEqual([3, 4, 1]);
    expect(kind(evs, "reg-set").at(-1)).toMatchObject({ a: 21, s: "r1" });
  });
  it("a while loop re-reads its condition's variables each time (a spin-wait sees another thread's store)", () => {
    const w = world(
      [
        [
          k.thread([k.user("producer works", 5), k.store("ready", 1, { atomic: true })]),
          k.loopWhile(k.eq(k.v("ready"), 0), { max: Infinity }, []),
          k.progress("saw ready"),
        ],
      ],
      { ready: { type: "int" } },
    );
    for (let seed = 1; seed <= 20; seed++) {
      const { evs, st } = runW(w, seed);
      expect(st.outcome!.kind).toBe("ok");
      expect(kind(evs, "progress")).toHaveLength(1);
    }
  });
  it("the checks fail as the real systems do: assert, BUG_ON, unwrap, NULL deref, divide by zero, in user and kernel mode", () => {
    const cases: [Op[], string, string][] = [
      [[k.assert(k.eq(1, 2), "one is two")], "fatal", "Assertion `one is two' failed."],
      [[k.syscall("sys_x", [k.assert(k.eq(1, 2), "one is two")])], "panic", "assertion failed: one is two"],
      [[k.syscall("sys_x", [k.bugOn(k.eq(1, 1), "mm/slub.c:123")])], "panic", "kernel BUG at mm/slub.c:123!"],
      [[k.unwrap("p", k.none)], "fatal", "called `Option::unwrap()` on a `None` value"],
      [[k.use(k.none, "p->field")], "fatal", "Segmentation fault: NULL pointer dereference (p->field)"],
      [[k.syscall("sys_x", [k.use(k.none, "task->mm")])], "panic", "BUG: kernel NULL pointer dereference (task->mm)"],
      [[k.set("z", 0), k.set("q", k.div(1, k.r("z")))], "fatal", "attempt to divide by zero"],
    ];
    for (const [main, outcome, message] of cases) {
      const { evs, st } = runW(world([main]));
      expect(st.outcome, message).toMatchObject({ kind: outcome, message });
      expect(kind(evs, "assert-fail")).toHaveLength(1);
    }
    const sig = (main: Op[]) => kind(runW(world([main])).evs, "fatal")[0]!.b;
    expect(sig([k.use(k.none, "x")])).toBe(11);
    expect(sig([k.assert(k.eq(1, 2), "x")])).toBe(6);
  });
  it("objects: a double free aborts; a use after free is silent but breaks use-after-free", () => {
    const dbl = runW(world([[k.alloc("p", "buf"), k.dealloc(k.r("p")), k.dealloc(k.r("p"))]]));
    expect(dbl.st.outcome).toMatchObject({ kind: "fatal", message: "free(): double free detected in tcache 2" });
    const uaf = world([[k.alloc("p", "buf"), k.dealloc(k.r("p")), k.use(k.r("p"), "buf->len"), k.user("goes on")]]);
    const r = runW(uaf);
    expect(r.st.outcome!.kind).toBe("ok");
    const v = firstViolation(MemorySource.fromEvents(uaf.config, r.evs)).violation!;
    expect(v.invariant).toBe("use-after-free");
    expect(v.message).toMatch(/^tid 1 \(pid 1\) dereferences \(buf->len\) buf#1, freed at seq \d+: a use after free$/);
    expect(v.causes.map((c) => c.why)).toEqual(["buf#1 allocated", "buf#1 freed"]);
  });
});

describe("validation: a malformed program is refused with the op's path and source line", () => {
  const line = (fn: () => Op) => {
    const op = fn();
    return k.sourceOf(op);
  };
  it("names the file and line of the builder call", () => {
    expect(line(() => k.store("x", 1))).toMatch(/^kernel-mem\.test\.ts:\d+$/);
  });
  const refuse = (main: Op[], vars: Record<string, VarDecl> = {}) => validateWorld(world([main], vars));
  it("unknown variable, type mismatch, unbounded loop, unassigned register, register of two types", () => {
    expect(
      refuse([k.user("a"), k.when(k.eq(k.v("cnt"), 1), [k.store("counter", 1)])], { counter: { type: "int" } }),
    ).toMatch(
      /^procs\[0\]\.main\[1\]\.cond\.l \(if\) at kernel-mem\.test\.ts:\d+: unknown variable 'cnt' \(declared: counter\)$/,
    );
    expect(refuse([k.store("p", 1)], { p: { type: "ptr" } })).toMatch(
      /^procs\[0\]\.main\[0\]\.value \(store\) at kernel-mem\.test\.ts:\d+: type mismatch: 1 is an int, a ptr is needed$/,
    );
    expect(refuse([{ op: "while", cond: k.eq(k.v("x"), 0), body: [] } as unknown as Op], { x: { type: "int" } })).toBe(
      "procs[0].main[0] (while): a loop needs a bound: loopWhile(cond, { max: N }, body) (Infinity for none)",
    );
    expect(refuse([k.set("a", k.r("b"))])).toMatch(/register 'b' is never assigned/);
    expect(refuse([k.set("a", 1), k.unwrap("a", k.none)])).toMatch(
      /^procs\[0\]\.main\[1\] \(unwrap\) at .*: register 'a' gets a ptr here but a int at procs\[0\]\.main\[0\]$/,
    );
    expect(refuse([k.loopWhile(k.eq(k.r("a"), 0), { max: Infinity }, [])])).toMatch(/loops without a step/);
    expect(refuse([k.fetchAdd("p", 1)], { p: { type: "ptr" } })).toMatch(/fetch-add needs an int variable/);
    expect(refuse([k.load("a", "x", { of: 2 })], { x: { type: "int" } })).toMatch(/'x' is not a "proc" variable/);
  });
  it("bad declarations and hostile shapes are refused, bounded", () => {
    expect(validateWorld({ ...world([[k.user("a")]]), vars: { "9x": { type: "int" } } })).toMatch(
      /vars\.9x: a variable name/,
    );
    expect(validateWorld({ ...world([[k.user("a")]]), vars: { x: { type: "float" as "int" } } })).toMatch(
      /type must be "int" or "ptr"/,
    );
    let deep: Op = k.user("leaf");
    for (let i = 0; i < 100; i++) deep = k.call("f", [deep]);
    expect(validateWorld(world([[deep]]))).toMatch(/nested deeper than 64/);
    expect(validateWorld({ ...world([[k.user("a")]]), config: { ...world([]).config, cpus: 0 } })).toMatch(
      /config\.cpus must be/,
    );
  });
});

describe("replay of shared state", () => {
  const w = world(
    [
      [
        k.thread([k.repeat(2, [k.store("x", k.add(k.v("x"), 1))])]),
        k.repeat(2, [k.store("x", k.add(k.v("x"), 10))]),
        k.user("wait", 30),
      ],
    ],
    { x: { type: "int" } },
  );
  it("folding the events reproduces the simulator's state, registers included", () => {
    const { evs, st } = runW(w, 3);
    expect(toPlain(foldTo(w, evs, Infinity))).toEqual(toPlain(st));
  });
  it("watchpoints on a variable stop at each write forward and backward, and why names the last writer", () => {
    const { evs } = runW(w, 3);
    const src = MemorySource.fromEvents(w.config, evs, { snapshotEvery: 8 });
    // Watchpoints alone: the two threads' accesses race, and continue would stop at each data-race too.
    const c = new Cursor(src, { invariants: [] });
    c.watchpoints.push(parseWatch("var:x"));
    const fwd: number[] = [];
    for (let stop = c.continue(); stop.reason === "hit"; stop = c.continue()) fwd.push(stop.seq);
    const writes = evs.filter((e) => e.kind === k.KIND.store || e.kind === k.KIND.varNew).map((e) => e.seq);
    expect(fwd).toEqual(writes);
    const back: number[] = [];
    for (let stop = c.reverseContinue(); stop.reason === "hit"; stop = c.reverseContinue()) back.push(stop.seq);
    expect(back).toEqual([...writes].reverse());
    c.seek(src.eventCount - 1);
    const last = evs.filter((e) => e.kind === k.KIND.store).at(-1)!;
    const w1 = why(c.state, "var:x", src);
    expect(w1.at(-1)).toMatchObject({ seq: last.seq, role: "written" });
    expect(w1.at(-1)!.explanation).toMatch(
      new RegExp(`^tid ${last.tid} last wrote x \\(${last.b} → ${last.c}, a plain store\\); it holds ${last.c}$`),
    );
    // access: reads too
    c.seek(-1);
    c.watchpoints.length = 0;
    c.watchpoints.push(parseWatch("access:x"));
    let n = 0;
    while (c.continue().reason === "hit") n++;
    expect(n).toBe(evs.filter((e) => e.kind === k.KIND.store || e.kind === k.KIND.load).length);
  });
});

describe("livelock", () => {
  const spin = (setIt: boolean) =>
    world(
      [
        [
          k.thread([
            k.user("producer works", 3),
            ...(setIt ? [k.store("ready", 1, { atomic: true })] : [k.user("producer forgets")]),
          ]),
          k.loopWhile(k.eq(k.v("ready"), 0), { max: Infinity }, [k.user("backoff")]),
          k.progress("consumed"),
        ],
      ],
      { ready: { type: "int" } },
    );
  it("a run cut by the budget while its threads only spin, with no progress in the window, ends in livelock and breaks no-livelock", () => {
    const w = { ...spin(false), progressWindow: 500 };
    const { evs, st } = runW(w, 1, 3000);
    expect(st.outcome!.kind).toBe("livelock");
    expect(st.outcome!.message).toMatch(
      /^livelock: no progress in the whole run \(\d+ events\); tid 1 \(pid 1\) keeps running$/,
    );
    expect(evs).toHaveLength(3000);
    const v = firstViolation(MemorySource.fromEvents(w.config, evs)).violation!;
    expect(v).toMatchObject({ invariant: "no-livelock", seq: 2999 });
  });
  it("the same program that makes progress ends ok; a program without progress marks ends on the budget as before", () => {
    expect(runW(spin(true), 1, 3000).st.outcome!.kind).toBe("ok");
    const noMarks = world([[k.repeat(Infinity, [k.user("work")])]]);
    expect(runW(noMarks, 1, 3000).st.outcome!.kind).toBe("budget");
    // progress in the window: a long run, not a livelock
    const busy = world([[k.repeat(Infinity, [k.user("work", 5), k.progress("step")])]]);
    expect(runW(busy, 1, 3000).st.outcome!.kind).toBe("budget");
  });
  it("explore counts a livelock as failing", async () => {
    const { isFailure } = await import("../src/explore/seed.ts");
    expect(isFailure({ outcome: { kind: "livelock", seq: 1, message: "" }, violation: null })).toBe(true);
    expect(isFailure({ outcome: { kind: "budget", seq: 1, message: "" }, violation: null })).toBe(false);
  });
});
