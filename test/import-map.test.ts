// ktrace import, phase 1: the mapping layer (records → abstract kernel operations).

import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CPU_END } from "../src/import/cpu-end.ts";
import {
  IDLE,
  importSummary,
  MAPPED_EVENTS,
  Mapper,
  type Op,
  type TraceRecord,
  taskState,
} from "../src/import/index.ts";

const FIX = path.resolve(__dirname, "../fixtures/import");

async function opsOf(rel: string): Promise<{ ops: Op[]; summary: Awaited<ReturnType<typeof importSummary>> }> {
  const ops: Op[] = [];
  const summary = await importSummary(path.join(FIX, rel), {}, (b) => ops.push(...b));
  return { ops, summary };
}

/** An op without its position, for comparing formats. */
function body(o: Op): Record<string, unknown> {
  const { line: _l, ts: _t, ...rest } = o;
  return rest;
}

/** The ops every ftrace/perf rendering of the scenario must give (tracefs without tgid: processes assumed). */
const SCENARIO_OPS = [
  { op: "task", tid: 100, task: 100, pid: 100, comm: "bash" },
  { op: "fork", tid: 100, parent: 100, child: 101, childPid: 101, thread: false },
  { op: "wake", tid: 100, task: 101, stage: "new", by: 100, targetCpu: 1 },
  { op: "switch", cpu: 1, tid: IDLE, prev: IDLE, next: 101, prevState: "runnable" },
  { op: "wait", tid: 100, pid: 0 },
  { op: "switch", cpu: 0, prev: 100, prevState: "sleeping", next: IDLE },
  { op: "rename", task: 101, comm: "ls", oldComm: "bash" },
  { op: "exec", task: 101, filename: "/usr/bin/ls", comm: "ls", oldTid: 101 },
  { op: "irqEnter", cpu: 0, irq: 19, name: "eth0" },
  { op: "irqExit", irq: 19, handled: true },
  { op: "softirqEnter", vec: 3, action: "NET_RX" },
  { op: "task", task: 50, comm: "kworker/0:1" },
  { op: "wake", task: 50, stage: "waking", by: IDLE, ctx: "softirq", ctxName: "softirq NET_RX" },
  { op: "wake", task: 50, stage: "wakeup", by: IDLE, ctx: "softirq" },
  { op: "softirqExit", vec: 3 },
  { op: "switch", prev: IDLE, next: 50 },
  { op: "lockWait", tid: 101, lock: "0xffff888003a0c0e0", owner: IDLE, source: "contention", flags: "SPIN" },
  { op: "switch", prev: 50, prevState: "idle", next: IDLE },
  { op: "lockWaitEnd", lock: "0xffff888003a0c0e0", ret: 0 },
  { op: "exit", task: 101, groupDead: true },
  { op: "wake", task: 100, stage: "waking", by: 101, ctx: "task" },
  { op: "wake", task: 100, stage: "wakeup", by: 101 },
  { op: "switch", cpu: 1, prev: 101, prevState: "zombie", next: IDLE },
  { op: "switch", cpu: 0, prev: IDLE, next: 100 },
  { op: "free", tid: 100, task: 101 },
  { op: "migrate", task: 50, from: 0, to: 1 },
  { op: "fork", parent: 100, child: 102, childPid: 100, thread: true },
  { op: "wake", task: 102, stage: "new", by: 100 },
  { op: "generic", name: "sched_stat_runtime" },
  { op: "switch", cpu: 1, prev: IDLE, next: 102 },
];

describe("mapping the scenario", () => {
  it.each(["ftrace/tracefs.txt", "ftrace/trace-cmd-report.txt", "perf/perf-script.txt"])(
    "%s gives the scenario ops",
    async (rel) => {
      const { ops: all, summary } = await opsOf(rel);
      // cpu 0's last event comes before the trace's last (cpu 1's): its end marker follows it (cpu-end.ts).
      const end = all.findIndex((o) => o.op === "lost" && o.count === -1);
      expect(all[end]).toMatchObject({ cpu: 0, ts: all[end - 1]!.ts });
      expect(all.filter((o, i) => i > end && o.op !== "lost").every((o) => o.cpu === 1)).toBe(true);
      expect(all.filter((o) => o.op === "lost")).toHaveLength(1);
      expect(summary.map.mapped[CPU_END]).toBe(1);
      const ops = all.filter((_, i) => i !== end);
      expect(ops).toHaveLength(SCENARIO_OPS.length);
      ops.forEach((o, i) => {
        expect(o, `op ${i}`).toMatchObject(SCENARIO_OPS[i]!);
      });
      expect(summary.map.merged).toEqual({ sched_process_fork: 1 });
      expect(summary.map.malformed).toEqual({});
      expect(summary.map.generic).toEqual({ sched_stat_runtime: 1 });
      expect(ops[0]).toMatchObject({ source: "assumed" });
    },
  );

  it("every ftrace and perf rendering gives the same ops", async () => {
    const ref = (await opsOf("ftrace/tracefs.txt")).ops.map(body);
    for (const rel of ["ftrace/trace-cmd-report.txt", "perf/perf-script.txt"]) {
      const ops = (await opsOf(rel)).ops.map(body);
      // generic events keep the input's own system name (perf prints it)
      expect(
        ops.map((o) => (o["op"] === "generic" ? { ...o, system: "" } : o)),
        rel,
      ).toEqual(ref);
    }
  });

  it("with the tgid column or perf pid/tid, processes are known, not assumed", async () => {
    for (const rel of ["ftrace/tracefs-tgid.txt", "perf/perf-script-pid.txt"]) {
      const { ops } = await opsOf(rel);
      expect(ops[0], rel).toMatchObject({ op: "task", task: 100, pid: 100, source: "tgid" });
      expect(
        ops.filter((o) => o.op === "join"),
        rel,
      ).toEqual([]);
      expect(ops.map(body).filter((o) => o["op"] !== "task")).toEqual(
        (await opsOf("ftrace/tracefs.txt")).ops
          .map(body)
          .filter((o) => o["op"] !== "task")
          .map((o) => (o["op"] === "generic" && rel.startsWith("perf") ? { ...o, system: "sched" } : o)),
      );
    }
  });

  it("babeltrace2 with and without contexts: the acting task comes from the context or from the last switch", async () => {
    const ctx = (await opsOf("babeltrace2/babeltrace2-context.txt")).ops;
    const plain = (await opsOf("babeltrace2/babeltrace2-plain.txt")).ops;
    // statedump introduces tasks with their process and state
    expect(ctx[0]).toMatchObject({ op: "task", task: 100, pid: 100, ppid: 1, comm: "bash", source: "statedump" });
    expect(plain[0]).toMatchObject({
      op: "task",
      task: 100,
      pid: 100,
      ppid: 1,
      comm: "bash",
      source: "statedump",
      state: "runnable",
      kthread: false,
    });
    expect(plain.find((o) => o.op === "task" && o.task === 50)).toMatchObject({ kthread: true, state: "sleeping" });
    // LTTng's fork gives the child's process
    expect(ctx.find((o) => o.op === "fork")).toMatchObject({ parent: 100, child: 101, childPid: 101, thread: false });
    // raw task states: 1026 is TASK_IDLE, 32 EXIT_ZOMBIE
    const states = (ops: Op[]) => ops.flatMap((o) => (o.op === "switch" ? [o.prevState] : []));
    expect(states(plain)).toEqual(["runnable", "sleeping", "runnable", "idle", "zombie", "runnable", "runnable"]);
    expect(plain.find((o) => o.op === "switch" && o.prev === 100)).toMatchObject({ tid: 100, cpu: 0 }); // no switch on cpu 0 before it
    expect(states(ctx)).toEqual(states(plain));
    // softirq by vector name; the exiting ls woke bash: by 101 in both
    expect(plain.find((o) => o.op === "softirqEnter")).toMatchObject({ vec: 3, action: "NET_RX" });
    expect(plain.find((o) => o.op === "wake" && o.task === 100 && o.stage === "waking")).toMatchObject({
      by: 101,
      cpu: 1,
    });
    expect(ctx.find((o) => o.op === "wake" && o.task === 100 && o.stage === "waking")).toMatchObject({
      by: 101,
      cpu: 1,
    });
    // syscalls are kept as generic events with their fields
    expect(plain.find((o) => o.op === "generic" && o.name === "syscall_entry_openat")).toMatchObject({
      tid: 101,
      fields: { filename: "/etc/ld.so.cache", dfd: -100 },
    });
  });
});

/** The line of the first lockWait that closes a cycle in the wait-for graph (task → owner of the lock it waits for). */
function firstDeadlock(ops: Op[]): { line: number; cycle: number[] } | null {
  const owner = new Map<string, number>();
  const waits = new Map<number, string>();
  for (const o of ops) {
    if (o.op === "lockAcquire" && !o.read) {
      owner.set(o.lock, o.tid);
      waits.delete(o.tid);
    } else if (o.op === "lockRelease" && owner.get(o.lock) === o.tid) owner.delete(o.lock);
    else if (o.op === "lockWait") {
      waits.set(o.tid, o.lock);
      const cycle = [o.tid];
      for (let t = owner.get(o.lock); t !== undefined && cycle.length < 64; t = owner.get(waits.get(t) ?? "")) {
        if (t === o.tid) return { line: o.line, cycle };
        cycle.push(t);
      }
    }
  }
  return null;
}

describe("locks", () => {
  it("the lockdep ABBA: owners are known and the cycle closes at worker-b acquiring lock_a (line 28)", async () => {
    const { ops, summary } = await opsOf("ftrace/lockdep-abba.txt");
    expect(summary.map.malformed).toEqual({});
    const waits = ops.filter((o) => o.op === "lockWait");
    expect(waits).toEqual([
      expect.objectContaining({
        tid: 200,
        lock: "00000000e5f60718",
        name: "&dev->lock_b",
        owner: 201,
        source: "lockdep",
        line: 25,
      }),
      expect.objectContaining({
        tid: 201,
        lock: "00000000a1b2c3d4",
        name: "&dev->lock_a",
        owner: 200,
        source: "lockdep",
        line: 28,
      }),
    ]);
    // lock_contended right after lock_acquire of a held lock adds nothing
    expect(summary.map.merged).toEqual({ lock_contended: 2 });
    expect(firstDeadlock(ops)).toEqual({ line: 28, cycle: [201, 200] });
    // the ordered first round and the read lock make no cycle
    expect(firstDeadlock(ops.filter((o) => o.line < 28))).toBeNull();
    expect(ops.find((o) => o.op === "lockAcquire" && o.read)).toMatchObject({ tid: 201, name: "&dev->stats_lock" });
    expect(ops.find((o) => o.op === "lockRelease" && o.name === "&dev->stats_lock")).toMatchObject({ held: false });
  });

  it("a waiter's first event after the owner released infers its acquire (lockdep without lock_acquired)", () => {
    const m = new Mapper({ format: "ftrace" });
    const ops: Op[] = [];
    let line = 0;
    const rec = (tid: number, name: string, fields: TraceRecord["fields"]): TraceRecord => ({
      line: ++line,
      ts: line * 10,
      cpu: 0,
      comm: `t${tid}`,
      tid,
      name,
      fields,
    });
    for (const r of [
      rec(1, "lock_acquire", { addr: "aa", name: "L" }),
      rec(2, "lock_acquire", { addr: "aa", name: "L" }),
      rec(1, "lock_release", { addr: "aa", name: "L" }),
      rec(2, "sched_process_wait", { comm: "t2", pid: 0, prio: 120 }),
      rec(2, "lock_release", { addr: "aa", name: "L" }),
    ])
      m.map(r, ops);
    expect(ops.filter((o) => o.op.startsWith("lock"))).toEqual([
      expect.objectContaining({ op: "lockAcquire", tid: 1, inferred: false }),
      expect.objectContaining({ op: "lockWait", tid: 2, owner: 1 }),
      expect.objectContaining({ op: "lockRelease", tid: 1, held: true }),
      expect.objectContaining({ op: "lockAcquire", tid: 2, inferred: true, line: 4 }),
      expect.objectContaining({ op: "lockRelease", tid: 2, held: true }),
    ]);
  });
});

describe("older kernels and odd records", () => {
  it("old field layouts, lost events, a comm with a space, a user-space marker", async () => {
    const { ops, summary } = await opsOf("ftrace/old-kernel.txt");
    expect(summary.map.malformed).toEqual({});
    const sw = ops.filter((o) => o.op === "switch");
    expect(sw.map((o) => (o.op === "switch" ? [o.prevStateText, o.prevState] : []))).toEqual([
      ["R", "runnable"],
      ["S|W", "sleeping"],
      ["D|K", "blocked"],
      ["x", "dead"],
      ["R+", "runnable"],
    ]);
    expect(ops.find((o) => o.op === "task" && o.task === 300)).toMatchObject({ comm: "Web Content-x" });
    expect(ops.find((o) => o.op === "wake" && o.task === 300)).toMatchObject({ success: true, by: IDLE, targetCpu: 1 });
    expect(ops.find((o) => o.op === "lost" && o.count >= 0)).toMatchObject({ count: 12, cpu: 0, ts: 6000 }); // the time of the record before the marker
    expect(summary.read.lostEvents).toBe(12);
    // lockdep without addresses: the name is the lock
    expect(ops.find((o) => o.op === "lockAcquire")).toMatchObject({ lock: "&(&pool->lock)->rlock", tid: 77 });
    expect(ops[ops.length - 1]).toMatchObject({
      op: "generic",
      name: "tracing_mark_write",
      tid: 400,
      fields: { text: "hello from user space" },
    });
  });

  it("prev_state: letters of every era, TASK_REPORT numbers (ftrace -R), raw LTTng numbers", () => {
    const text: [string, string][] = [
      ["R", "runnable"],
      ["R+", "runnable"],
      ["S", "sleeping"],
      ["D", "blocked"],
      ["T", "stopped"],
      ["t", "traced"],
      ["X", "dead"],
      ["Z", "zombie"],
      ["P", "parked"],
      ["I", "idle"],
      ["D|N", "idle"],
      ["?", "unknown"],
    ];
    for (const [v, s] of text) expect(taskState(v, false), v).toBe(s);
    expect([0, 1, 2, 128, 256, 16].map((n) => taskState(n, false))).toEqual([
      "runnable",
      "sleeping",
      "blocked",
      "idle",
      "runnable",
      "dead",
    ]);
    expect([0, 1, 2, 1026, 128, 258].map((n) => taskState(n, true))).toEqual([
      "runnable",
      "sleeping",
      "blocked",
      "idle",
      "dead",
      "blocked",
    ]);
    expect(taskState(undefined, false)).toBe("unknown");
  });

  it("malformed records of known events are kept as generic and counted with their first line", () => {
    const m = new Mapper({ format: "ftrace" });
    const ops: Op[] = [];
    m.map({ line: 7, ts: 0, cpu: 0, comm: "x", tid: 5, name: "sched_switch", fields: { prev_pid: "abc" } }, ops);
    expect(ops[ops.length - 1]).toMatchObject({ op: "generic", name: "sched_switch" });
    expect(m.stats.malformed).toEqual({ sched_switch: { count: 1, firstLine: 7 } });
  });

  it("a task first seen without its process joins it when a record gives the tgid; free forgets it", () => {
    const m = new Mapper({ format: "ftrace" });
    const ops: Op[] = [];
    const sw = {
      prev_comm: "a",
      prev_pid: 10,
      prev_prio: 120,
      prev_state: "S",
      next_comm: "b",
      next_pid: 11,
      next_prio: 120,
    };
    m.map({ line: 1, ts: 0, cpu: 0, comm: "a", tid: 10, pid: 10, name: "sched_switch", fields: sw }, ops);
    m.map(
      {
        line: 2,
        ts: 1,
        cpu: 0,
        comm: "b",
        tid: 11,
        pid: 10,
        name: "sched_process_exit",
        fields: { comm: "b", pid: 11, prio: 120 },
      },
      ops,
    );
    expect(ops.map((o) => o.op)).toEqual(["task", "task", "switch", "join", "exit"]);
    expect(ops[1]).toMatchObject({ task: 11, pid: 11, source: "assumed" });
    expect(ops[3]).toMatchObject({ task: 11, pid: 10, source: "tgid" });
    expect(m.knownTasks()).toBe(2);
    m.map(
      {
        line: 3,
        ts: 2,
        cpu: 0,
        comm: "a",
        tid: 10,
        pid: 10,
        name: "sched_process_free",
        fields: { comm: "b", pid: 11, prio: 120 },
      },
      ops,
    );
    expect(m.knownTasks()).toBe(1);
  });

  it("tables stay within the kernel's limits whatever the input says", () => {
    const m = new Mapper({ format: "ftrace" });
    const ops: Op[] = [];
    m.map(
      { line: 1, ts: 0, cpu: 0, comm: "x", tid: 99_999_999_999, name: "sched_process_wait", fields: { pid: 0 } },
      ops,
    );
    m.map({ line: 2, ts: 0, cpu: 1e12, comm: "x", tid: 5, name: "sched_process_wait", fields: { pid: 0 } }, ops);
    expect(ops.map((o) => o.op)).toEqual(["generic", "generic"]);
    expect(m.stats.malformed).toEqual({ sched_process_wait: { count: 2, firstLine: 1 } });
    expect(m.knownTasks()).toBe(0);
    for (let i = 0; i < 5000; i++)
      m.map({ line: 3 + i, ts: i, cpu: 0, comm: "x", tid: 5, name: `ev${i}`, fields: {} }, ops);
    const names = Object.keys(m.stats.records);
    expect(names.length).toBeLessThanOrEqual(4097);
    expect(m.stats.records["(other event names)"]).toBe(5000 + 1 - 4096);
  });

  it("exec by a non-leader thread takes the leader tid (old_pid differs)", () => {
    const m = new Mapper({ format: "ftrace" });
    const ops: Op[] = [];
    m.map(
      {
        line: 1,
        ts: 0,
        cpu: 0,
        comm: "worker",
        tid: 21,
        pid: 20,
        name: "sched_process_exec",
        fields: { filename: "/usr/bin/true", pid: 20, old_pid: 21 },
      },
      ops,
    );
    expect(ops[ops.length - 1]).toMatchObject({ op: "exec", task: 20, oldTid: 21, comm: "true" });
  });

  it("real captures map without malformed records; every task is introduced before it is named", async () => {
    for (const rel of [
      "real/tracefs-irqinfo.txt",
      "real/tracefs-tgid-noirq.txt",
      "real/trace-cmd-report.txt",
      "real/trace-cmd-report-noplugin.txt",
      "real/perf-script.txt",
      "real/perf-script-pid.txt",
    ]) {
      const { ops, summary } = await opsOf(rel);
      expect(summary.map.malformed, rel).toEqual({});
      const known = new Set<number>([IDLE]);
      for (const o of ops) {
        if (o.op === "task") known.add(o.task);
        if (o.op === "fork") {
          expect(known.has(o.parent), `${rel}:${o.line} parent`).toBe(true);
          known.add(o.child);
        }
        if (o.op === "exec" && o.oldTid !== o.task) known.add(o.task);
        for (const k of ["prev", "next", "task"] as const) {
          const v = (o as unknown as Record<string, unknown>)[k];
          if (typeof v === "number" && o.op !== "task")
            expect(known.has(v), `${rel}:${o.line} ${o.op}.${k}=${v}`).toBe(true);
        }
        expect(known.has(o.tid), `${rel}:${o.line} actor ${o.tid}`).toBe(true);
      }
    }
  });
});

describe("docs/IMPORT.md", () => {
  it("its mapping tables name every event the mapper maps", () => {
    const doc = readFileSync(path.resolve(__dirname, "../docs/IMPORT.md"), "utf8");
    for (const name of Object.keys(MAPPED_EVENTS)) {
      const shown = name === "lost_events" ? "LOST M EVENTS" : name;
      expect(doc, name).toContain(shown);
    }
  });
});
