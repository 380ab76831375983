// atomic-sleep (CONFIG_DEBUG_ATOMIC_SLEEP): a thread holding a kernel or proc
// spinlock that takes a mutex or blocks breaks it at that call, contended or
// not; nested spinlocks, user-space spinlocks, a mutex after the spinlock is
// released and a sleep in user mode do not. The holders the check reads are
// the fold's (spinlocksHeld), equal to what the locks say after every event,
// from the start as from a snapshot.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { atomicLock, spinlocksHeld } from "../src/kernel/apply.ts";
import {
  applyEvent,
  fromPlain,
  initState,
  type KConfig,
  type KEvent,
  KIND,
  type KState,
  toPlain,
} from "../src/kernel/index.ts";
import {
  Checker,
  checkEvent,
  checkRange,
  firstViolation,
  INVARIANTS,
  MemorySource,
  selectInvariants,
} from "../src/replay/index.ts";
import { atomicSleep } from "../src/replay/invariants.ts";
import { resolveScenario } from "../src/scenarios/index.ts";
import { eventList, LINUX_2CPU, memorySource } from "./helpers/replay-sources.ts";
import { REPO_ROOT } from "./helpers/run-cli.ts";
import { replaySeed } from "./helpers/scenario-run.ts";

const EXAMPLE = join(REPO_ROOT, "examples", "atomic-sleep.ts");
const ALL_BUT = INVARIANTS.filter((i) => i.name !== "atomic-sleep").map((i) => i.name);

describe("examples/atomic-sleep.ts", () => {
  it("is found on a seed that does not hang, at the uncontended acquire of the mutex, where nothing else finds anything", async () => {
    const sc = await resolveScenario(EXAMPLE);
    const r = replaySeed(sc, 2);
    expect(r.st.outcome?.kind).toBe("ok");
    const e = r.evs[r.v!.seq]!;
    expect(e.kind).toBe(KIND.lockAcquire);
    const spin = r.evs.find((x) => x.kind === KIND.lockAcquire && x.tid === e.tid)!;
    expect(r.v).toMatchObject({
      invariant: "atomic-sleep",
      message: `BUG: sleeping function called from invalid context: tid ${e.tid} (pid 1) takes mutex dev.mutex while holding spinlock dev.lock (taken at seq ${spin.seq})`,
      causes: [{ seq: spin.seq, why: `tid ${e.tid} took spinlock dev.lock: atomic from here on` }],
    });
    expect(r.st.locks.get(spin.a)?.name).toBe("dev.lock");
    const src = await memorySource(EXAMPLE, { seed: 2 });
    expect(firstViolation(src).violation).toMatchObject({ invariant: "atomic-sleep", seq: e.seq });
    expect(firstViolation(src, ALL_BUT).violation).toBeNull();
  });

  it("a check that starts at a snapshot taken while the spinlock is held finds it there too (nothing stored: the holders come from the locks)", async () => {
    const src = await memorySource(EXAMPLE, { seed: 2 }, { snapshotEvery: 1 });
    const v = firstViolation(src).violation!;
    const taken = v.causes[0]!.seq;
    const last = src.eventCount - 1;
    for (let at = taken; at < v.seq; at++) {
      const snap = src.loadSnapshot(at);
      expect(snap.seq).toBe(at);
      const r = checkRange(src, [atomicSleep], at + 1, last, { state: snap.state });
      expect(r.violation, `from the snapshot at ${at}`).toMatchObject({ seq: v.seq, message: v.message });
    }
  });

  it("keeps lock-acquire a kind the scan checks by its pre-hooks alone (the Checker's quiet code 3)", async () => {
    const src = await memorySource("stress", { maxEvents: 2000 });
    const st = src.loadSnapshot(-1).state;
    // data-race left out, as a scan of a trace without memory accesses does (its monitor sees every acquire)
    const ck = new Checker(INVARIANTS.filter((i) => i.name !== "data-race"));
    const ev = src.readChunk(0)[0]!;
    ck.before(st, ev);
    applyEvent(st, ev);
    ck.after(st, ev);
    expect(ck.quietOn(st)[KIND.lockAcquire]).toBe(3);
  });
});

// ---- hand-made event streams ----------------------------------------------------------

const CONFIG: KConfig = LINUX_2CPU;

/** Locks of the streams, by id: kernel spinlocks, a kernel mutex, pid 1's kernel-struct spinlock, a user spinlock, other sleeping locks. */
const L = { a: 20, b: 21, m: 22, proc: 23, user: 24, errorcheck: 25, recursive: 26 } as const;

/** pid 1 with threads 1 and 2 running; the locks of L; a futex word (var 1) and a pipe (1). */
function stream() {
  const { evs, add } = eventList();
  add(KIND.procNew, { a: 1, b: 0, s: "p" });
  add(KIND.threadNew, { a: 1, b: 1, c: 1 });
  add(KIND.threadNew, { a: 2, b: 1, c: 2 });
  add(KIND.switch, { cpu: 0, a: -1, b: 1 });
  add(KIND.switch, { cpu: 1, a: -1, b: 2 });
  add(KIND.lockNew, { a: L.a, b: 0, c: 0, s: "k.a" });
  add(KIND.lockNew, { a: L.b, b: 0, c: 0, s: "k.b" });
  add(KIND.lockNew, { a: L.m, b: 0, c: 1, s: "k.m" });
  add(KIND.lockNew, { a: L.proc, b: -1, c: 0, s: "p.lock" });
  add(KIND.lockNew, { a: L.user, b: 1, c: 0, s: "u.spin" });
  add(KIND.lockNew, { a: L.errorcheck, b: 0, c: 3, s: "k.ec" });
  add(KIND.lockNew, { a: L.recursive, b: 0, c: 2, s: "k.rec" });
  add(KIND.varNew, { a: 1, b: 1, c: 0, s: "int w futex" });
  add(KIND.pipeNew, { a: 1, b: 64 });
  const take = (tid: number, lock: number) => add(KIND.lockAcquire, { cpu: tid - 1, tid, a: lock, b: 1 });
  const drop = (tid: number, lock: number) => add(KIND.lockRelease, { cpu: tid - 1, tid, a: lock, b: 0 });
  return { evs, add, take, drop };
}

function firstOf(evs: KEvent[], config: KConfig = CONFIG) {
  return firstViolation(MemorySource.fromEvents(config, evs, { snapshotEvery: 3 }), ["atomic-sleep"]).violation;
}

describe("atomic-sleep on hand-made streams", () => {
  it("breaks at a mutex acquire, uncontended, by a thread holding kernel spinlocks (nested: fine); the causes are each spinlock's acquire", () => {
    const { evs, add, take } = stream();
    const a = take(1, L.a);
    const b = take(1, L.b);
    add(KIND.user, { cpu: 0, tid: 1, s: "work" });
    expect(firstOf(evs)).toBeNull(); // nested spinlocks are fine
    const bad = take(1, L.m);
    expect(firstOf(evs)).toEqual(
      expect.objectContaining({
        invariant: "atomic-sleep",
        seq: bad,
        message: `BUG: sleeping function called from invalid context: tid 1 (pid 1) takes mutex k.m while holding spinlocks k.a (taken at seq ${a}) and k.b (taken at seq ${b})`,
        causes: [
          { seq: a, why: "tid 1 took spinlock k.a: atomic from here on" },
          { seq: b, why: "tid 1 took spinlock k.b: atomic from here on" },
        ],
      }),
    );
  });

  it("spinning on another spinlock is not sleeping; blocking on a mutex is", () => {
    const { evs, add, take } = stream();
    take(2, L.m);
    take(2, L.b);
    take(1, L.a);
    add(KIND.lockWait, { cpu: 0, tid: 1, a: L.b, b: 1 });
    expect(firstOf(evs)).toBeNull();
    add(KIND.lockRelease, { cpu: 1, tid: 2, a: L.b, b: 0 });
    take(1, L.b);
    const bad = add(KIND.lockWait, { cpu: 0, tid: 1, a: L.m, b: 0 });
    expect(firstOf(evs)).toMatchObject({ seq: bad });
    expect(firstOf(evs)!.message).toMatch(
      /: tid 1 \(pid 1\) blocks on mutex k\.m while holding spinlocks k\.a .* and k\.b /,
    );
  });

  it("a user-space spinlock does not count; a spinlock of a process's kernel struct does", () => {
    const { evs, add, take, drop } = stream();
    take(1, L.user);
    add(KIND.sleep, { cpu: 0, tid: 1, a: 500 });
    add(KIND.wake, { cpu: 0, a: 1, b: -1, c: 4 });
    take(1, L.m);
    expect(firstOf(evs)).toBeNull();
    drop(1, L.m);
    const p = take(1, L.proc);
    const bad = add(KIND.joinWait, { cpu: 0, tid: 1, a: 2 });
    expect(firstOf(evs)).toMatchObject({
      seq: bad,
      message: `BUG: sleeping function called from invalid context: tid 1 (pid 1) blocks in pthread_join(tid 2) while holding spinlock p.lock (taken at seq ${p})`,
    });
  });

  it("a mutex taken, or a wait, after the spinlock is released is fine; an errorcheck or recursive mutex is a mutex", () => {
    for (const [lock, what] of [
      [L.errorcheck, "errorcheck mutex k.ec"],
      [L.recursive, "recursive mutex k.rec"],
    ] as const) {
      const { evs, add, take, drop } = stream();
      take(1, L.a);
      drop(1, L.a);
      take(1, L.m);
      add(KIND.sleep, { cpu: 0, tid: 1, a: 500 });
      add(KIND.wake, { cpu: 0, a: 1, b: -1, c: 4 });
      expect(firstOf(evs)).toBeNull();
      take(1, L.a);
      const bad = take(1, lock);
      expect(firstOf(evs)).toMatchObject({ seq: bad });
      expect(firstOf(evs)!.message).toContain(`tid 1 (pid 1) takes ${what} while holding spinlock k.a`);
    }
  });

  it("every blocking wait is a sleep: futex, nanosleep, pipe, join, waitpid, pause; and a pipe read or write that does not block", () => {
    const waits: [Partial<KEvent> & { kind: number }, string][] = [
      [{ kind: KIND.futexWait, a: 1, b: 0, c: -1 }, "waits on futex w"],
      [{ kind: KIND.futexWait, a: 1, b: 0, c: 9000 }, "waits on futex w (timed)"],
      [{ kind: KIND.sleep, a: 900 }, "sleeps (nanosleep)"],
      [{ kind: KIND.pipeWait, a: 1, b: 0, c: 0 }, "blocks reading pipe 1"],
      [{ kind: KIND.pipeWait, a: 1, b: 1, c: 8 }, "blocks writing pipe 1"],
      [{ kind: KIND.joinWait, a: 2 }, "blocks in pthread_join(tid 2)"],
      [{ kind: KIND.waitBlock, a: -1 }, "blocks in waitpid(any child)"],
      [{ kind: KIND.pause }, "waits for a signal (pause)"],
      // Not blocking, and a sleep all the same: the pipe's mutex.
      [{ kind: KIND.pipeRead, a: 1, b: 0, c: 0 }, "reads pipe 1 (pipe_read takes the pipe's mutex)"],
      [{ kind: KIND.pipeWrite, a: 1, b: 4, c: 4 }, "writes pipe 1 (pipe_write takes the pipe's mutex)"],
    ];
    for (const [w, what] of waits) {
      const { evs, add, take } = stream();
      const t = take(1, L.a);
      const { kind, ...f } = w;
      const bad = add(kind, { cpu: 0, tid: 1, ...f });
      expect(firstOf(evs), what).toMatchObject({
        seq: bad,
        message: `BUG: sleeping function called from invalid context: tid 1 (pid 1) ${what} while holding spinlock k.a (taken at seq ${t})`,
      });
    }
  });

  it("is not judged on an imported trace (its lock types are guesses)", () => {
    const { evs, take } = stream();
    take(1, L.a);
    const bad = take(1, L.m);
    const s = initState(CONFIG);
    for (const ev of evs.slice(0, bad)) applyEvent(s, ev);
    expect(atomicSleep.pre!(s, evs[bad]!)).not.toBeNull();
    s.config.imported = true;
    expect(atomicSleep.pre!(s, evs[bad]!)).toBeNull();
  });

  it("the holders follow every change of a spinlock's owner and equal what the locks say after each event, folded or rebuilt from a snapshot", () => {
    const { evs, add, take, drop } = stream();
    take(1, L.a);
    take(2, L.b);
    const restamp = add(KIND.lockRestamp, { cpu: 1, tid: 2, a: L.a, b: 2 }); // k.a now tid 2's
    take(1, L.proc);
    drop(2, L.a);
    // pid 2 (thread 3) with a spinlock in its kernel struct, held by tid 1 when pid 2 is reaped: it goes with the struct
    add(KIND.fork, { cpu: 0, tid: 1, a: 1, b: 2, c: 3 });
    add(KIND.lockNew, { a: 30, b: -2, c: 0, s: "p2.lock" });
    take(1, 30);
    add(KIND.threadExit, { cpu: 1, tid: 3, a: 3 });
    add(KIND.procExit, { cpu: 1, tid: 3, a: 2 });
    const reap = add(KIND.reap, { cpu: 0, tid: 1, a: 2 });
    // tid 2 exits holding k.b and is released; a new thread takes tid 2: the locks say it holds k.b
    add(KIND.threadExit, { cpu: 1, tid: 2, a: 2 });
    add(KIND.threadRelease, { a: 2 });
    const again = add(KIND.threadNew, { a: 2, b: 1, c: 2 });
    drop(2, L.b);
    drop(1, L.proc);
    const fromLocks = (s: KState) => {
      const m = new Map<number, number>();
      for (const l of s.locks.values()) if (l.owner >= 0 && atomicLock(l)) m.set(l.owner, (m.get(l.owner) ?? 0) + 1);
      return m;
    };
    const sorted = (m: ReadonlyMap<number, number>) => [...m].sort((x, y) => x[0] - y[0]);
    const s = initState(CONFIG);
    spinlocksHeld(s);
    const seen: [number, number][][] = [];
    for (const ev of evs) {
      applyEvent(s, ev);
      expect(sorted(spinlocksHeld(s)), `after seq ${ev.seq}`).toEqual(sorted(fromLocks(s)));
      expect(sorted(spinlocksHeld(fromPlain(toPlain(s)))), `rebuilt at seq ${ev.seq}`).toEqual(sorted(fromLocks(s)));
      seen.push(sorted(spinlocksHeld(s)));
    }
    // What it went through: the restamp moved k.a to tid 2, the reap dropped p2.lock that tid 1 held, the new tid 2 holds k.b.
    expect(seen[restamp]).toEqual([[2, 2]]);
    expect([seen[reap - 1], seen[reap]]).toEqual([
      [
        [1, 2],
        [2, 1],
      ],
      [
        [1, 1],
        [2, 1],
      ],
    ]);
    expect(seen[again]).toEqual([
      [1, 1],
      [2, 1],
    ]);
    expect(seen.at(-1)).toEqual([]);
  });
});

describe("atomic-sleep in scenario files", () => {
  it("a spinlock a syscall released does not make its thread's user-mode sleep or a user spinlock's holder's sleep a bug; a sleep inside the syscall holding it is", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ktrace-atomic-"));
    const file = join(dir, "modes.ts");
    writeFileSync(
      file,
      `export default (k) => k.defineScenario({
  name: "modes", description: "sleeps with and without a spinlock", fixes: { bug: "sleep inside the syscall, holding the spinlock" }, defaults: { seed: 1 },
  build: ({ fix }) => ({
    locks: { "k.lock": { type: "spin", scope: "kernel" }, "u.spin": { type: "spin" } },
    procs: [{ name: "p", main: [
      k.syscall("ioctl", [k.lock("k.lock"), k.user("poke"), k.unlock("k.lock")]),
      k.sleep(100),
      k.lock("u.spin"), k.sleep(100), k.lock("m"), k.unlock("m"), k.unlock("u.spin"),
      k.syscall("ioctl", [k.lock("k.lock"), ...(fix === "bug" ? [k.sleep(100)] : [k.user("poke")]), k.unlock("k.lock")]),
    ] }],
  }),
});
`,
    );
    const ok = await memorySource(file);
    expect(ok.outcome?.kind).toBe("ok");
    expect(firstViolation(ok, ["atomic-sleep"]).violation).toBeNull();
    const bad = await memorySource(file, { fix: "bug" });
    const v = firstViolation(bad, ["atomic-sleep"]).violation!;
    expect(v.event.kind).toBe(KIND.sleep);
    expect(v.message).toMatch(
      /: tid 1 \(pid 1\) sleeps \(nanosleep\) while holding spinlock k\.lock \(taken at seq \d+\)$/,
    );
  });

  it("checkEvent and the Checker agree on it (a pure predicate over the state before the event)", () => {
    const { evs, take } = stream();
    take(1, L.a);
    take(1, L.m);
    const s = initState(CONFIG);
    const ck = new Checker(selectInvariants(["atomic-sleep"]));
    let found = 0;
    for (const ev of evs) {
      const before = fromPlain(toPlain(s));
      applyEvent(s, ev);
      const pure = checkEvent(atomicSleep, before, ev, s);
      const hooked = ck.before(before, ev);
      expect(pure?.message ?? null).toBe(hooked?.message ?? null);
      if (pure) found++;
    }
    expect(found).toBe(1);
  });
});
