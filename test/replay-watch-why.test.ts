// Watchpoints (string syntax, old/new values), why-queries, event
// descriptions and the state view.
import { expect, it, describe as suite } from "vitest";
import { EVENT_KINDS, IMPORTED_KINDS, KIND } from "../src/kernel/index.ts";
import {
  Cursor,
  describe,
  eventJson,
  kindMask,
  PatternError,
  parseRef,
  parseWatch,
  RefError,
  stateText,
  stateView,
  WatchSpecError,
  why,
} from "../src/replay/index.ts";
import { allEvents, memorySource } from "./helpers/replay-sources.ts";

suite("watchpoint syntax", () => {
  it("parses every form", () => {
    expect(parseWatch("lock:import_lock").spec).toBe("lock:import_lock");
    expect(parseWatch("lock:tcmalloc.SlowTLS@2").spec).toBe("lock:tcmalloc.SlowTLS@2");
    expect(parseWatch("lock:13").kinds).not.toBeNull();
    expect(parseWatch("kstack-free").spec).toBe("kstack-free");
    expect(parseWatch("kstack-free:1").spec).toBe("kstack-free:1");
    expect(parseWatch("thread:45").kinds).toBeNull();
    expect(parseWatch("vmar:2").spec).toBe("vmar:2");
    expect(parseWatch("kind:lock-*,fork").kinds![KIND.fork]).toBe(1);
  });
  it("refuses bad ones with exit code 2 and the syntax as hint", () => {
    for (const bad of ["lock", "lock:", "thread:x", "vmar:", "kstack-free:a", "owner:1", "kind:nope"]) {
      let err: unknown;
      try {
        parseWatch(bad);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(Error);
      expect((err as { exitCode: number }).exitCode).toBe(2);
    }
    expect(() => parseWatch("owner:1")).toThrow(WatchSpecError);
    expect(() => parseWatch("kind:nope")).toThrow(PatternError);
  });
});

suite("watchpoint hits report the event and the old and new value", () => {
  it("tcmalloc: the child's copy of SlowTLS comes into existence held by tid 2 at the fork", async () => {
    const src = await memorySource("tcmalloc-fork");
    const fork = allEvents(src).find((e) => e.kind === KIND.fork)!;
    const c = new Cursor(src, { invariants: [] });
    c.watchpoints.push(parseWatch("lock:tcmalloc.SlowTLS@2"));
    c.seek("end");
    const s = c.reverseContinue();
    expect(s.seq).toBe(fork.seq);
    expect(s.hits[0]).toMatchObject({
      watch: "lock:tcmalloc.SlowTLS@2",
      old: null,
      new: { owner: 2, ident: 2, type: "spin" },
    });
    expect(s.hits[0]!.message).toBe(`lock tcmalloc.SlowTLS (id 13, pid 2): (none) → tid 2 at seq ${fork.seq} (fork)`);
    expect(c.reverseContinue().reason).toBe("start");
  });

  it("cpython reinit-lock: the re-stamp changes the import lock's owner ident 44 → 45", async () => {
    const src = await memorySource("cpython-fork-serenity", { fix: "reinit-lock" });
    const c = new Cursor(src, { invariants: [] });
    c.watchpoints.push(parseWatch("lock:import_lock@2"));
    const hits: string[] = [];
    for (let s = c.continue(); s.reason === "hit"; s = c.continue())
      hits.push(`${EVENT_KINDS[s.hits[0]!.event.kind]!.name}: ${s.hits[0]!.message.split(": ")[1]}`);
    expect(hits).toEqual([
      expect.stringMatching(/^fork: \(none\) → tid 45 \(ident 44\) at seq \d+/),
      expect.stringMatching(/^lock-restamp: tid 45 \(ident 44\) → tid 45 \(ident 45\)/),
      expect.stringMatching(/^lock-release: tid 45 \(ident 45\) → free/),
      expect.stringMatching(/^reap: free → \(none\)/),
    ]);
  });

  it("rcore: kstack-free of one thread, and the VMAR cleared", async () => {
    const src = await memorySource("rcore-kstack");
    const c = new Cursor(src, { invariants: [] });
    c.watchpoints.push(parseWatch("kstack-free:1"));
    const s = c.continue();
    expect(s.hits[0]).toMatchObject({ old: "mapped", new: "freed", what: "kernel stack 1 of tid 1" });
    expect(s.hits[0]!.message).toMatch(/cpu 0 still runs on it/);
    expect(c.continue().reason).toBe("end"); // tid 0's stack is not watched
    c.watchpoints.length = 0;
    c.watchpoints.push(parseWatch("vmar:2"));
    c.seek("end");
    const back = c.reverseContinue();
    expect(back.hits[0]).toMatchObject({ old: "cleared", new: null }); // the reap
    const clear = c.reverseContinue();
    expect(clear.hits[0]).toMatchObject({ old: 2, new: "cleared" });
    expect(c.event?.kind).toBe(KIND.vmarClear);
  });

  it("thread state changes", async () => {
    const src = await memorySource("cpython-fork-serenity");
    const c = new Cursor(src, { invariants: [] });
    c.watchpoints.push(parseWatch("thread:45"));
    const seen: unknown[] = [];
    for (let s = c.continue(); s.reason === "hit"; s = c.continue()) seen.push(s.hits[0]!.new);
    expect(seen).toEqual(["runnable", "running", "exited", null]);
  });
});

suite("why", () => {
  it("a lock: the acquire that set its owner and the fork that copied it", async () => {
    const src = await memorySource("tcmalloc-fork");
    const c = new Cursor(src);
    c.seek("violation");
    const v = allEvents(src).find((e) => e.kind === KIND.fork)!.seq;
    const w = c.why("lock:tcmalloc.SlowTLS@2");
    expect(w.map((e) => e.role)).toEqual(["owner", "copied"]);
    expect(w[1]!.seq).toBe(v);
    expect(w[0]!.event?.kind).toBe(KIND.lockAcquire);
    expect(w[1]!.explanation).toBe(
      "fork copied tcmalloc.SlowTLS into pid 2, held by tid 2, which does not exist in pid 2",
    );
    expect(stateView(c.state).locks.find((l) => l.id === 13)).toMatchObject({
      owner: 2,
      ownerSince: w[0]!.seq,
      ownerAlive: false,
      copiedSeq: v,
    });
  });

  it("a kernel stack: allocated and freed; a VMAR: cleared; by ObjectRef too", async () => {
    const rc = await memorySource("rcore-kstack");
    const c = new Cursor(rc);
    c.seek("violation");
    const k = why(c.state, { kind: "kstack", id: 1 }, rc);
    expect(k.map((e) => [e.role, e.event?.kind])).toEqual([
      ["allocated", KIND.kstackAlloc],
      ["freed", KIND.kstackFree],
    ]);
    expect(k[1]!.explanation).toMatch(/cpu 0 still runs on it/);
    expect(why(c.state, { kind: "cpu", id: 0 }).map((e) => e.role)).toEqual(["allocated", "freed"]);
    const as = await memorySource("asterinas-procfs");
    const d = new Cursor(as);
    d.seek("violation");
    const vm = d.why("vmar:2");
    expect(vm.map((e) => e.role)).toEqual(["created", "cleared"]);
    expect(vm[1]!.desc).toBe("pid 2's root VMAR cleared (set to None)");
  });

  it("refs that name nothing are refused", async () => {
    const src = await memorySource("rcore-kstack");
    const c = new Cursor(src);
    expect(() => c.why("lock:nope")).toThrow(RefError);
    expect(() => c.why("kstack:9")).toThrow(/no kernel stack 9/);
    expect(() => parseRef("frob:1", c.state)).toThrow(/unknown object/);
  });
});

suite("describe", () => {
  it("every kind the scenarios produce gets a description in kernel terms", async () => {
    const seen = new Set<number>();
    const runs = [
      await memorySource("cpython-fork-serenity"),
      await memorySource("cpython-fork-serenity", { fix: "reinit-lock" }),
      await memorySource("tcmalloc-fork"),
      await memorySource("tcmalloc-fork", { fix: "posix-spawn" }),
      await memorySource("tcmalloc-fork", { fix: "atfork-2.17" }),
      await memorySource("rcore-kstack", { opts: ["stack=flush"] }),
      await memorySource("asterinas-procfs"),
      await memorySource("stress", { maxEvents: 30_000 }),
      await memorySource("stress", { maxEvents: 30_000, opts: ["state=vars"] }),
      await memorySource("stress", { maxEvents: 30_000, opts: ["state=os"] }),
      await memorySource("fixtures/scenarios/flag.ts", { seed: 2 }),
      await memorySource("fixtures/scenarios/handoff.ts"),
      // The tso memory model: buffered stores, store-commits, fences.
      await memorySource("examples/store-buffering.ts", { fix: "fence" }),
      await memorySource("stress", { maxEvents: 30_000, opts: ["state=vars", "memory=tso"] }),
      // lock-robust (owner-died, EOWNERDEAD, not recoverable) and sigwait (waited for, taken)
      await memorySource("examples/robust-mutex.ts", { seed: 3 }),
      await memorySource("examples/sigwait-unblocked.ts", { seed: 1 }),
    ];
    for (const src of runs) {
      const c = new Cursor(src, { invariants: [] });
      for (let ev = c.step(); ev; ev = c.step()) {
        seen.add(ev.kind);
        const d = describe(ev, c.state);
        expect(d).not.toMatch(/ a=|undefined(?! behaviour)|NaN|\[object/);
      }
    }
    // Kinds only imported traces have are described in test/import-trace.test.ts.
    expect(seen.size).toBeGreaterThanOrEqual(EVENT_KINDS.length - 2 - IMPORTED_KINDS.length);
  });

  it("examples", async () => {
    const src = await memorySource("cpython-fork-serenity");
    const c = new Cursor(src);
    const v = c.seek("violation");
    expect(describe(c.event!, c.state)).toBe("tid 45 unlocks import_lock (recursive): owner ident 44 ≠ 45");
    const fork = allEvents(src).find((e) => e.kind === KIND.fork)!;
    c.seek(fork.seq);
    expect(describe(fork, c.state)).toBe("fork: pid 1 → child pid 2 (tid 45), 1 lock copied");
    const j = eventJson(c.eventAt(v), c.state);
    expect(j).toMatchObject({ seq: v, kind: "unlock-not-owner", args: { lock: 4, owner: 44, ident: 45 } });
  });

  it("kind patterns: globs and comma lists", () => {
    const names = (p: string) => EVENT_KINDS.filter((_, i) => kindMask(p)[i]).map((k) => k.name);
    expect(names("lock-*")).toEqual([
      "lock-new",
      "lock-acquire",
      "lock-wait",
      "lock-release",
      "lock-restamp",
      "lock-misuse",
      "lock-wait-end",
      "lock-robust",
    ]);
    expect(names("lock.*")).toEqual(names("lock-*"));
    expect(names("fork, exec")).toEqual(["fork", "exec"]);
    expect(names("*exit*")).toEqual(["thread-exit", "proc-exit", "exit-group"]);
    expect(() => kindMask("forks")).toThrow(/matches no event kind/);
    expect(() => kindMask(",")).toThrow(PatternError);
  });
});

suite("state view", () => {
  it("has the contract's fields and renders aligned tables", async () => {
    const src = await memorySource("rcore-kstack");
    const c = new Cursor(src);
    c.seek("violation");
    const v = stateView(c.state);
    expect(Object.keys(v)).toEqual(
      expect.arrayContaining(["seq", "cpus", "processes", "threads", "locks", "kstacks", "vmars"]),
    );
    expect(v.kstacks.find((k) => k.id === 1)).toMatchObject({ tid: 1, state: "freed", runningOn: 0, freeSeq: v.seq });
    expect(v.processes.find((p) => p.pid === 2)).toMatchObject({ ppid: 1, state: "zombie", vmar: null });
    expect(v.threads[0]).toEqual(expect.objectContaining({ tid: 0, pid: 1, state: expect.any(String), ident: 0 }));
    expect(v.locks[0]).toEqual(expect.objectContaining({ name: "vmar(1)", owner: -1, level: 0 }));
    const text = stateText(v);
    expect(text[0]).toBe(`state after event ${v.seq} (time ${v.time} ns)`);
    expect(text).toContain("kstacks (2)");
    expect(text.find((l) => l.includes("IN USE"))).toMatch(/^\s+1\s+1\s+freed IN USE\s+\d+\s+\d+\s+0$/);
  });
});
