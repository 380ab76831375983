// A small deterministic generator of plausible kernel event streams, for
// trace tests, fixtures and benchmarks until (and besides) the simulator.
//
// It keeps a KState consistent with the events it emits, in the same way
// applyEvent would for the kinds it uses (procs, threads, locks, kstacks,
// switches, user work, malloc/free), so snapshots look like real ones.

import { Rng } from "../../src/kernel/prng.ts";
import { initState } from "../../src/kernel/state.ts";
import { type KConfig, type KEvent, KIND, type KState } from "../../src/kernel/types.ts";

export const SYNTH_CONFIG: KConfig = {
  cpus: 4,
  tidAfterFork: "inherit",
  kstackFree: "deferred",
  stackCheck: "silent",
  procfsVmar: "check",
};

/** Uniform numbers in [0, 1) from the kernel's seeded PRNG: deterministic, seedable. */
export function prng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.u32() / 4294967296;
}

const LABELS = ["work", "loop", "compute", "parse", "hash"];

export interface SynthOptions {
  threads?: number;
  locks?: number;
  config?: KConfig;
  /** Emit a final `end` event (outcome ok) as the last of `n` events. */
  end?: boolean;
}

/**
 * Yields n events with the state after each. The state object is the same
 * one, mutated in place (like the simulator does).
 */
export function* synth(n: number, seed = 1, opts: SynthOptions = {}): Generator<[KEvent, KState]> {
  const config = opts.config ?? SYNTH_CONFIG;
  const nThreads = opts.threads ?? 12;
  const nLocks = opts.locks ?? 6;
  const rnd = prng(seed);
  const s = initState(config);
  let seq = 0;
  let time = 0;
  const mk = (cpu: number, tid: number, kind: number, a = 0, b = 0, c = 0, str = ""): KEvent => {
    time += 40 + Math.floor(rnd() * rnd() * 900);
    const ev: KEvent = { seq: seq++, time, cpu, tid, kind, a, b, c, s: str };
    s.seq = ev.seq;
    s.time = time;
    return ev;
  };
  const done = () => seq >= n || (opts.end === true && seq >= n - 1);

  // Setup: one process, its threads with kernel stacks, some user locks.
  s.locks.set(s.nextLock, {
    id: s.nextLock,
    name: "vmar(1)",
    space: 0,
    type: "mutex",
    owner: -1,
    ident: 0,
    level: 0,
    since: -1,
    copiedSeq: -1,
  });
  s.procs.set(1, {
    pid: 1,
    ppid: 0,
    name: "stress",
    state: "running",
    threads: [],
    vmar: s.nextVmar++,
    vmarClearedSeq: -1,
    vmarLock: s.nextLock++,
    exitCode: null,
    tcaches: [],
    createdSeq: 0,
  });
  if (!done()) yield [mk(-1, -1, KIND.procNew, 1, 0, 0, "stress"), s];
  for (let i = 0; i < nThreads && !done(); i++) {
    const tid = 100 + i;
    const ident = 0x7f3a_1c00_0000 + i * 0x80_0000;
    s.threads.set(tid, { tid, pid: 1, state: "runnable", ident, kstack: -1, waitLock: -1, waitPid: -2 });
    s.procs.get(1)!.threads.push(tid);
    yield [mk(-1, -1, KIND.threadNew, tid, 1, ident), s];
    if (done()) break;
    s.kstacks.set(i + 1, { id: i + 1, tid, state: "mapped", allocSeq: seq, freeSeq: -1, flushed: false });
    s.threads.get(tid)!.kstack = i + 1;
    yield [mk(-1, -1, KIND.kstackAlloc, i + 1, tid), s];
  }
  const lockIds: number[] = [];
  for (let i = 0; i < nLocks && !done(); i++) {
    const id = s.nextLock++;
    lockIds.push(id);
    s.locks.set(id, {
      id,
      name: `m${i}`,
      space: 1,
      type: i % 3 === 2 ? "recursive" : "mutex",
      owner: -1,
      ident: 0,
      level: 0,
      since: -1,
      copiedSeq: -1,
    });
    yield [mk(-1, 100, KIND.lockNew, id, 1, i % 3 === 2 ? 2 : 1, `m${i}`), s];
  }

  // Steady state: cpus pick threads; threads do user work, take locks, allocate.
  const held = new Map<number, number>(); // tid -> lock
  while (!done()) {
    const cpuId = Math.floor(rnd() * config.cpus);
    const cpu = s.cpus[cpuId]!;
    if (cpu.tid < 0 || rnd() < 0.04) {
      const cands = [...s.threads.values()].filter((t) => t.state === "runnable");
      const to = cands.length ? cands[Math.floor(rnd() * cands.length)]! : undefined;
      const from = cpu.tid;
      if (from >= 0) s.threads.get(from)!.state = "runnable";
      if (to) {
        to.state = "running";
        cpu.tid = to.tid;
        cpu.kstack = to.kstack;
      } else {
        cpu.tid = -1;
        cpu.kstack = -1;
      }
      yield [mk(cpuId, from, KIND.switch, from, to ? to.tid : -1), s];
      continue;
    }
    const t = s.threads.get(cpu.tid)!;
    const r = rnd();
    const mine = held.get(t.tid);
    if (mine !== undefined && r < 0.3) {
      const l = s.locks.get(mine)!;
      l.owner = -1;
      l.ident = 0;
      l.level = 0;
      l.since = seq;
      held.delete(t.tid);
      for (const w of s.threads.values())
        if (w.waitLock === mine && w.state === "blocked") {
          w.state = "runnable";
          w.waitLock = -1;
        }
      yield [mk(cpuId, t.tid, KIND.lockRelease, mine, 0), s];
    } else if (mine === undefined && r < 0.2) {
      const id = lockIds[Math.floor(rnd() * lockIds.length)]!;
      const l = s.locks.get(id)!;
      if (l.owner < 0) {
        l.owner = t.tid;
        l.ident = t.ident;
        l.level = 1;
        l.since = seq;
        held.set(t.tid, id);
        yield [mk(cpuId, t.tid, KIND.lockAcquire, id, 1), s];
      } else {
        t.state = "blocked";
        t.waitLock = id;
        cpu.tid = -1;
        cpu.kstack = -1;
        yield [mk(cpuId, t.tid, KIND.lockWait, id, 0), s];
      }
    } else if (r < 0.5) {
      yield [mk(cpuId, t.tid, KIND.user, 0, 0, 0, LABELS[Math.floor(rnd() * rnd() * LABELS.length)]!), s];
    } else if (r < 0.65) {
      const size = 16 << Math.floor(rnd() * rnd() * 10);
      yield [mk(cpuId, t.tid, KIND.malloc, size, rnd() < 0.9 ? 0 : rnd() < 0.8 ? 1 : 2), s];
    } else if (r < 0.8) {
      yield [mk(cpuId, t.tid, KIND.free, 16 << Math.floor(rnd() * rnd() * 10)), s];
    } else {
      yield [mk(cpuId, t.tid, KIND.kwork, 0, 0, 0, rnd() < 0.5 ? "syscall" : "irq"), s];
    }
  }
  if (opts.end === true && seq === n - 1) {
    s.outcome = { kind: "ok", seq, message: "" };
    s.ended = true;
    yield [mk(-1, -1, KIND.end, 0), s];
  }
}

/** Just the events, as fresh objects. */
export function synthEvents(n: number, seed = 1, opts: SynthOptions = {}): KEvent[] {
  const out: KEvent[] = [];
  for (const [ev] of synth(n, seed, opts)) out.push(ev);
  return out;
}
