// Writes the hand-made import fixtures (fixtures/import/*) from one small scenario,
// rendered in each text format as its documentation and the kernel's TP_printk
// formats print it, so that tests can check every format maps to the same operations.
//
//   bun scripts/make-import-fixtures.ts            write the text fixtures
//   bun scripts/make-import-fixtures.ts --check    exit 1 if a committed fixture differs
//   bun scripts/make-import-fixtures.ts --ctf      also write the scenario as an LTTng-shaped
//                                                  CTF trace and decode it with the real
//                                                  babeltrace2 (needs babeltrace2 installed)
//
// Real captures from this machine (perf, tracefs, trace-cmd) come from
// scripts/make-import-fixtures.sh. Everything here is deterministic.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

const OUT = "fixtures/import";

// ---- the scenario ----------------------------------------------------------------

/** A task of the scenario: tid, its process and its command name(s). */
interface Task {
  tid: number;
  pid: number;
  comm: string;
}
const T: Record<string, Task> = {
  idle0: { tid: 0, pid: 0, comm: "swapper/0" },
  idle1: { tid: 0, pid: 0, comm: "swapper/1" },
  bash: { tid: 100, pid: 100, comm: "bash" },
  child: { tid: 101, pid: 101, comm: "bash" },
  ls: { tid: 101, pid: 101, comm: "ls" },
  kworker: { tid: 50, pid: 50, comm: "kworker/0:1" },
  thread: { tid: 102, pid: 100, comm: "bash" },
};

/** One event: µs after the base time, cpu, acting task, kernel event name, fields (kernel names, in order). */
interface Ev {
  us: number;
  cpu: number;
  who: Task;
  name: string;
  f: [string, string | number][];
}

const BASE_S = 1234; // seconds since boot of the first event's second

const sw = (prev: Task, state: string, next: Task): [string, string | number][] => [
  ["prev_comm", prev.comm],
  ["prev_pid", prev.tid],
  ["prev_prio", 120],
  ["prev_state", state],
  ["next_comm", next.comm],
  ["next_pid", next.tid],
  ["next_prio", 120],
];
const wake = (t: Task, cpu: number): [string, string | number][] => [
  ["comm", t.comm],
  ["pid", t.tid],
  ["prio", 120],
  ["target_cpu", cpu.toString().padStart(3, "0")],
];

/** bash forks a child that execs ls and exits; bash waits for it; an IRQ and a softirq wake a kworker; bash starts a thread. */
const SCENARIO: Ev[] = [
  {
    us: 10,
    cpu: 0,
    who: T.bash!,
    name: "task_newtask",
    f: [
      ["pid", 101],
      ["comm", "bash"],
      ["clone_flags", "1200000"],
      ["oom_score_adj", 0],
    ],
  },
  {
    us: 12,
    cpu: 0,
    who: T.bash!,
    name: "sched_process_fork",
    f: [
      ["comm", "bash"],
      ["pid", 100],
      ["child_comm", "bash"],
      ["child_pid", 101],
    ],
  },
  { us: 14, cpu: 0, who: T.bash!, name: "sched_wakeup_new", f: wake(T.child!, 1) },
  { us: 20, cpu: 1, who: T.idle1!, name: "sched_switch", f: sw(T.idle1!, "R", T.child!) },
  {
    us: 25,
    cpu: 0,
    who: T.bash!,
    name: "sched_process_wait",
    f: [
      ["comm", "bash"],
      ["pid", 0],
      ["prio", 120],
    ],
  },
  { us: 26, cpu: 0, who: T.bash!, name: "sched_switch", f: sw(T.bash!, "S", T.idle0!) },
  {
    us: 30,
    cpu: 1,
    who: T.child!,
    name: "task_rename",
    f: [
      ["pid", 101],
      ["oldcomm", "bash"],
      ["newcomm", "ls"],
      ["oom_score_adj", 0],
    ],
  },
  {
    us: 31,
    cpu: 1,
    who: T.ls!,
    name: "sched_process_exec",
    f: [
      ["filename", "/usr/bin/ls"],
      ["pid", 101],
      ["old_pid", 101],
    ],
  },
  {
    us: 40,
    cpu: 0,
    who: T.idle0!,
    name: "irq_handler_entry",
    f: [
      ["irq", 19],
      ["name", "eth0"],
    ],
  },
  {
    us: 41,
    cpu: 0,
    who: T.idle0!,
    name: "irq_handler_exit",
    f: [
      ["irq", 19],
      ["ret", "handled"],
    ],
  },
  {
    us: 42,
    cpu: 0,
    who: T.idle0!,
    name: "softirq_entry",
    f: [
      ["vec", 3],
      ["action", "NET_RX"],
    ],
  },
  { us: 44, cpu: 0, who: T.idle0!, name: "sched_waking", f: wake(T.kworker!, 0) },
  { us: 45, cpu: 0, who: T.idle0!, name: "sched_wakeup", f: wake(T.kworker!, 0) },
  {
    us: 46,
    cpu: 0,
    who: T.idle0!,
    name: "softirq_exit",
    f: [
      ["vec", 3],
      ["action", "NET_RX"],
    ],
  },
  { us: 47, cpu: 0, who: T.idle0!, name: "sched_switch", f: sw(T.idle0!, "R", T.kworker!) },
  {
    us: 50,
    cpu: 1,
    who: T.ls!,
    name: "contention_begin",
    f: [
      ["addr", "0xffff888003a0c0e0"],
      ["flags", "SPIN"],
    ],
  },
  { us: 52, cpu: 0, who: T.kworker!, name: "sched_switch", f: sw(T.kworker!, "I", T.idle0!) },
  {
    us: 53,
    cpu: 1,
    who: T.ls!,
    name: "contention_end",
    f: [
      ["addr", "0xffff888003a0c0e0"],
      ["ret", 0],
    ],
  },
  {
    us: 60,
    cpu: 1,
    who: T.ls!,
    name: "sched_process_exit",
    f: [
      ["comm", "ls"],
      ["pid", 101],
      ["prio", 120],
      ["group_dead", "true"],
    ],
  },
  { us: 62, cpu: 1, who: T.ls!, name: "sched_waking", f: wake(T.bash!, 0) },
  { us: 63, cpu: 1, who: T.ls!, name: "sched_wakeup", f: wake(T.bash!, 0) },
  { us: 64, cpu: 1, who: T.ls!, name: "sched_switch", f: sw(T.ls!, "Z", T.idle1!) },
  { us: 70, cpu: 0, who: T.idle0!, name: "sched_switch", f: sw(T.idle0!, "R", T.bash!) },
  {
    us: 75,
    cpu: 0,
    who: T.bash!,
    name: "sched_process_free",
    f: [
      ["comm", "ls"],
      ["pid", 101],
      ["prio", 120],
    ],
  },
  {
    us: 80,
    cpu: 0,
    who: T.bash!,
    name: "sched_migrate_task",
    f: [
      ["comm", "kworker/0:1"],
      ["pid", 50],
      ["prio", 120],
      ["orig_cpu", 0],
      ["dest_cpu", 1],
    ],
  },
  {
    us: 84,
    cpu: 0,
    who: T.bash!,
    name: "task_newtask",
    f: [
      ["pid", 102],
      ["comm", "bash"],
      ["clone_flags", "3d0f00"],
      ["oom_score_adj", 0],
    ],
  },
  { us: 85, cpu: 0, who: T.bash!, name: "sched_wakeup_new", f: wake(T.thread!, 1) },
  {
    us: 90,
    cpu: 0,
    who: T.bash!,
    name: "sched_stat_runtime",
    f: [
      ["comm", "bash"],
      ["pid", 100],
      ["runtime", "35000 [ns]"],
    ],
  },
  { us: 95, cpu: 1, who: T.idle1!, name: "sched_switch", f: sw(T.idle1!, "R", T.thread!) },
];

const SYSTEM: Record<string, string> = {
  task_newtask: "task",
  task_rename: "task",
  irq_handler_entry: "irq",
  irq_handler_exit: "irq",
  softirq_entry: "irq",
  softirq_exit: "irq",
  contention_begin: "lock",
  contention_end: "lock",
};
const systemOf = (name: string) => SYSTEM[name] ?? "sched";

// ---- ftrace and perf text -------------------------------------------------------

function ts(us: number, digits: number): string {
  const ns = us * 1000;
  const frac = ns.toString().padStart(9, "0").slice(0, digits);
  return `${BASE_S}.${frac}`;
}

/** The TP_printk text of an event, as the kernel prints it. */
function payload(e: Ev): string {
  const get = (k: string) => e.f.find(([n]) => n === k)![1];
  switch (e.name) {
    case "sched_switch":
      return `prev_comm=${get("prev_comm")} prev_pid=${get("prev_pid")} prev_prio=${get("prev_prio")} prev_state=${get("prev_state")} ==> next_comm=${get("next_comm")} next_pid=${get("next_pid")} next_prio=${get("next_prio")}`;
    case "softirq_entry":
    case "softirq_exit":
      return `vec=${get("vec")} [action=${get("action")}]`;
    case "contention_begin":
      return `${get("addr")} (flags=${get("flags")})`;
    case "contention_end":
      return `${get("addr")} (ret=${get("ret")})`;
    default:
      return e.f.map(([k, v]) => `${k}=${v}`).join(" ");
  }
}

/** trace-cmd's sched plugin prints sched_switch and sched_wakeup* its own way. */
function pluginPayload(e: Ev): string {
  const get = (k: string) => e.f.find(([n]) => n === k)![1];
  if (e.name === "sched_switch") {
    return `${get("prev_comm")}:${get("prev_pid")} [${get("prev_prio")}] ${get("prev_state")} ==> ${get("next_comm")}:${get("next_pid")} [${get("next_prio")}]`;
  }
  if (e.name.startsWith("sched_wak")) return `${get("comm")}:${get("pid")} [${get("prio")}] CPU:${get("target_cpu")}`;
  return payload(e);
}

const taskCol = (t: Task) => `${t.tid === 0 ? "<idle>" : t.comm}-${t.tid}`;
const IRQ_FLAGS: Record<string, string> = {
  irq_handler_entry: "d.h1.",
  irq_handler_exit: "d.h1.",
  softirq_entry: "..s1.",
  softirq_exit: "..s1.",
  sched_waking: "d.s3.",
  sched_wakeup: "d.s4.",
  sched_switch: "d..2.",
};

const TRACEFS_HEADER = `# tracer: nop
#
# entries-in-buffer/entries-written: ${SCENARIO.length}/${SCENARIO.length}   #P:2
#
#                                _-----=> irqs-off/BH-disabled
#                               / _----=> need-resched
#                              | / _---=> hardirq/softirq
#                              || / _--=> preempt-depth
#                              ||| / _-=> migrate-disable
#                              |||| /     delay
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
`;

/** The irq-info column: wakeups of the idle task here happen in a softirq. */
function irqInfo(e: Ev): string {
  if (e.name.startsWith("sched_wak") && e.who.tid !== 0) return "d..3.";
  return IRQ_FLAGS[e.name] ?? ".....";
}

function tracefs(): string {
  return (
    TRACEFS_HEADER +
    SCENARIO.map(
      (e) =>
        `${taskCol(e.who).padStart(16)} [00${e.cpu}] ${irqInfo(e)} ${ts(e.us, 6).padStart(12)}: ${e.name}: ${payload(e)}`,
    ).join("\n") +
    "\n"
  );
}

function tracefsTgid(): string {
  return (
    `# tracer: nop
#
# entries-in-buffer/entries-written: ${SCENARIO.length}/${SCENARIO.length}   #P:2
#
#           TASK-PID       TGID    CPU#     TIMESTAMP  FUNCTION
#              | |           |       |         |         |
` +
    SCENARIO.map((e) => {
      const tgid = e.who.tid === 0 ? "(-------)" : `(${String(e.who.pid).padStart(7)})`;
      return `${taskCol(e.who).padStart(16)}   ${tgid} [00${e.cpu}]  ${ts(e.us, 6).padStart(12)}: ${e.name}: ${payload(e)}`;
    }).join("\n") +
    "\n"
  );
}

function traceCmd(): string {
  return (
    "cpus=2\n" +
    SCENARIO.map(
      (e) =>
        `${taskCol(e.who).padStart(16)} [00${e.cpu}] ${ts(e.us, 9).padStart(15)}: ${(e.name + ":").padEnd(21)} ${pluginPayload(e)}`,
    ).join("\n") +
    "\n"
  );
}

function perf(pidTid: boolean): string {
  return (
    SCENARIO.map((e) => {
      const comm = e.who.tid === 0 ? "swapper" : e.who.comm;
      const id = pidTid ? `${e.who.pid}/${e.who.tid}` : String(e.who.tid);
      const ev = `${systemOf(e.name)}:${e.name}:`;
      return `${comm.padStart(16)} ${id.padStart(pidTid ? 11 : 5)} [00${e.cpu}] ${ts(e.us, 6).padStart(12)}: ${ev.padStart(35)} ${payload(e)}`;
    }).join("\n") + "\n"
  );
}

// ---- the lockdep ABBA -----------------------------------------------------------

/**
 * Two kworkers take two locks in opposite orders (lockdep's lock_acquire fires before
 * the task blocks; lock_contended when it has to wait). The first round is ordered
 * (A then B by both, one after the other); in the second, worker-b's acquire of
 * lock_a at 100.000130 closes the cycle.
 */
function abba(): string {
  const A = "00000000a1b2c3d4 &dev->lock_a";
  const B = "00000000e5f60718 &dev->lock_b";
  const a = (cpu: number, flags: string, t: string, ev: string) =>
    `        worker-a-200     [00${cpu}] ${flags}  100.${t}: ${ev}`;
  const b = (cpu: number, flags: string, t: string, ev: string) =>
    `        worker-b-201     [00${cpu}] ${flags}  100.${t}: ${ev}`;
  return (
    TRACEFS_HEADER.replace(/\d+\/\d+/, "24/24") +
    [
      a(0, "....1", "000010", `lock_acquire: ${A}`),
      a(0, "....2", "000012", `lock_acquire: ${B}`),
      a(0, "....2", "000015", `lock_release: ${B}`),
      a(0, "....1", "000016", `lock_release: ${A}`),
      b(1, "....1", "000020", `lock_acquire: ${A}`),
      b(1, "....2", "000022", `lock_acquire: ${B}`),
      b(1, "....2", "000025", `lock_release: ${B}`),
      b(1, "....1", "000026", `lock_release: ${A}`),
      a(0, "....1", "000100", `lock_acquire: ${A}`),
      b(1, "....1", "000101", `lock_acquire: 00000000c0ffee00 read &dev->stats_lock`),
      b(1, "....1", "000102", `lock_release: 00000000c0ffee00 &dev->stats_lock`),
      b(1, "....1", "000110", `lock_acquire: ${B}`),
      a(0, "....2", "000120", `lock_acquire: ${B}`),
      a(0, "....2", "000121", `lock_contended: ${B}`),
      a(
        0,
        "d..2.",
        "000122",
        "sched_switch: prev_comm=worker-a prev_pid=200 prev_prio=120 prev_state=D ==> next_comm=swapper/0 next_pid=0 next_prio=120",
      ),
      b(1, "....2", "000130", `lock_acquire: ${A}`),
      b(1, "....2", "000131", `lock_contended: ${A}`),
      b(
        1,
        "d..2.",
        "000132",
        "sched_switch: prev_comm=worker-b prev_pid=201 prev_prio=120 prev_state=D ==> next_comm=swapper/1 next_pid=0 next_prio=120",
      ),
    ].join("\n") +
    "\n"
  );
}

// ---- older kernels and odd inputs -----------------------------------------------

/**
 * Field layouts of older kernels: sched_wakeup with success= (before v4.3), prev_state
 * letters of v4.13 and before (`x`, `K`, `W`, `|`-joined flags), lockdep without
 * addresses (before v5.x), trace_pipe without a header, 9-digit timestamps, a comm
 * with a space and dashes, a lost-events marker.
 */
function oldKernel(): string {
  return (
    [
      "          <idle>-0     [001] d.s3    55.000001000: sched_wakeup: comm=kworker/1:2 pid=77 prio=120 success=1 target_cpu=001",
      "          <idle>-0     [001] d..3    55.000002000: sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=kworker/1:2 next_pid=77 next_prio=120",
      "     kworker/1:2-77    [001] ....    55.000003000: lock_acquire: &(&pool->lock)->rlock",
      "     kworker/1:2-77    [001] ....    55.000004000: lock_release: &(&pool->lock)->rlock",
      "     kworker/1:2-77    [001] d..3    55.000005000: sched_switch: prev_comm=kworker/1:2 prev_pid=77 prev_prio=120 prev_state=S|W ==> next_comm=Web Content-x next_pid=300 next_prio=120",
      "   Web Content-x-300   [001] d..3    55.000006000: sched_switch: prev_comm=Web Content-x prev_pid=300 prev_prio=120 prev_state=D|K ==> next_comm=swapper/1 next_pid=0 next_prio=120",
      "CPU:0 [LOST 12 EVENTS]",
      "          <idle>-0     [000] d.h3    55.000007000: sched_wakeup: comm=Web Content-x pid=300 prio=120 success=1 target_cpu=001",
      "     kworker/0:0-4     [000] d..3    55.000008000: sched_switch: prev_comm=kworker/0:0 prev_pid=4 prev_prio=120 prev_state=x ==> next_comm=swapper/0 next_pid=0 next_prio=120",
      "          <idle>-0     [000] d..3    55.000009000: sched_switch: prev_comm=swapper/0 prev_pid=0 prev_prio=120 prev_state=R+ ==> next_comm=bash next_pid=400 next_prio=120",
      "            bash-400   [000] ....    55.000010000: tracing_mark_write: hello from user space",
    ].join("\n") + "\n"
  );
}

/** Lines slightly out of time order (as when per-cpu files are concatenated), within the reorder window. */
function outOfOrder(): string {
  return (
    TRACEFS_HEADER +
    [
      "            bash-100   [000] d..2.  1234.000030: sched_switch: prev_comm=bash prev_pid=100 prev_prio=120 prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120",
      "            bash-100   [000] .....  1234.000010: sched_process_wait: comm=bash pid=0 prio=120",
      "          <idle>-0     [001] d..2.  1234.000020: sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=cat next_pid=105 next_prio=120",
      "             cat-105   [001] .....  1234.000040: sched_process_exit: comm=cat pid=105 prio=120 group_dead=true",
    ].join("\n") +
    "\n"
  );
}

// ---- CTF (LTTng-modules layout) for babeltrace2 ----------------------------------

/** LTTng's task_state enum (lttng-modules instrumentation/events/sched.h). */
const TASK_STATE: [string, number][] = [
  ["TASK_RUNNING", 0],
  ["TASK_INTERRUPTIBLE", 1],
  ["TASK_UNINTERRUPTIBLE", 2],
  ["TASK_STOPPED", 4],
  ["TASK_TRACED", 8],
  ["EXIT_DEAD", 16],
  ["EXIT_ZOMBIE", 32],
  ["TASK_PARKED", 64],
  ["TASK_DEAD", 128],
  ["TASK_WAKEKILL", 256],
  ["TASK_WAKING", 512],
  ["TASK_NOLOAD", 1024],
  ["TASK_NEW", 2048],
  ["TASK_IDLE", 1026],
];
const STATE_CODE: Record<string, number> = { R: 0, S: 1, D: 2, Z: 32, I: 1026 };

type CtfType = "string" | "int32" | "int64" | "uint32" | "state";
interface CtfEvent {
  name: string;
  fields: [string, CtfType][];
}

/** LTTng's names and field names for the scenario's events (tid for the kernel's pid). */
const LTTNG: Record<string, CtfEvent> = {
  lttng_statedump_process_state: {
    name: "lttng_statedump_process_state",
    fields: [
      ["tid", "int32"],
      ["vtid", "int32"],
      ["pid", "int32"],
      ["vpid", "int32"],
      ["ppid", "int32"],
      ["vppid", "int32"],
      ["name", "string"],
      ["type", "int32"],
      ["mode", "int32"],
      ["submode", "int32"],
      ["status", "int32"],
      ["cpu", "int32"],
    ],
  },
  sched_switch: {
    name: "sched_switch",
    fields: [
      ["prev_comm", "string"],
      ["prev_tid", "int32"],
      ["prev_prio", "int32"],
      ["prev_state", "state"],
      ["next_comm", "string"],
      ["next_tid", "int32"],
      ["next_prio", "int32"],
    ],
  },
  sched_waking: {
    name: "sched_waking",
    fields: [
      ["comm", "string"],
      ["tid", "int32"],
      ["prio", "int32"],
      ["target_cpu", "int32"],
    ],
  },
  sched_wakeup: {
    name: "sched_wakeup",
    fields: [
      ["comm", "string"],
      ["tid", "int32"],
      ["prio", "int32"],
      ["target_cpu", "int32"],
    ],
  },
  sched_wakeup_new: {
    name: "sched_wakeup_new",
    fields: [
      ["comm", "string"],
      ["tid", "int32"],
      ["prio", "int32"],
      ["target_cpu", "int32"],
    ],
  },
  sched_process_fork: {
    name: "sched_process_fork",
    fields: [
      ["parent_comm", "string"],
      ["parent_tid", "int32"],
      ["parent_pid", "int32"],
      ["child_comm", "string"],
      ["child_tid", "int32"],
      ["child_pid", "int32"],
    ],
  },
  sched_process_exec: {
    name: "sched_process_exec",
    fields: [
      ["filename", "string"],
      ["tid", "int32"],
      ["old_tid", "int32"],
    ],
  },
  sched_process_exit: {
    name: "sched_process_exit",
    fields: [
      ["comm", "string"],
      ["tid", "int32"],
      ["prio", "int32"],
    ],
  },
  sched_process_free: {
    name: "sched_process_free",
    fields: [
      ["comm", "string"],
      ["tid", "int32"],
      ["prio", "int32"],
    ],
  },
  sched_process_wait: {
    name: "sched_process_wait",
    fields: [
      ["comm", "string"],
      ["tid", "int32"],
      ["prio", "int32"],
    ],
  },
  sched_migrate_task: {
    name: "sched_migrate_task",
    fields: [
      ["comm", "string"],
      ["tid", "int32"],
      ["prio", "int32"],
      ["orig_cpu", "int32"],
      ["dest_cpu", "int32"],
    ],
  },
  sched_stat_runtime: {
    name: "sched_stat_runtime",
    fields: [
      ["comm", "string"],
      ["tid", "int32"],
      ["runtime", "int64"],
      ["vruntime", "int64"],
    ],
  },
  irq_handler_entry: {
    name: "irq_handler_entry",
    fields: [
      ["irq", "int32"],
      ["name", "string"],
    ],
  },
  irq_handler_exit: {
    name: "irq_handler_exit",
    fields: [
      ["irq", "int32"],
      ["ret", "int32"],
    ],
  },
  softirq_entry: { name: "irq_softirq_entry", fields: [["vec", "uint32"]] },
  softirq_exit: { name: "irq_softirq_exit", fields: [["vec", "uint32"]] },
  syscall_entry_openat: {
    name: "syscall_entry_openat",
    fields: [
      ["dfd", "int32"],
      ["filename", "string"],
      ["flags", "int32"],
      ["mode", "uint32"],
    ],
  },
  syscall_exit_openat: { name: "syscall_exit_openat", fields: [["ret", "int64"]] },
};

/** The scenario as LTTng would record it: a statedump first; no task/lock tracepoints (LTTng has none by those names); an openat. */
function lttngEvents(): { us: number; cpu: number; who: Task; ev: CtfEvent; values: (string | number)[] }[] {
  const out: { us: number; cpu: number; who: Task; ev: CtfEvent; values: (string | number)[] }[] = [];
  const dump = (us: number, t: Task, ppid: number, status: number, type: number) =>
    out.push({
      us,
      cpu: 0,
      who: T.bash!,
      ev: LTTNG.lttng_statedump_process_state!,
      values: [t.tid, t.tid, t.pid, t.pid, ppid, ppid, t.comm, type, 0, 0, status, 0],
    });
  dump(1, T.bash!, 1, 2, 0); // LTTNG_WAIT_CPU... status 2: running here (see IMPORT.md)
  dump(2, T.kworker!, 2, 5, 1);
  for (const e of SCENARIO) {
    const get = (k: string) => e.f.find(([n]) => n === k)![1];
    let values: (string | number)[];
    const ev = LTTNG[e.name];
    if (ev === undefined) continue;
    switch (e.name) {
      case "sched_switch":
        values = [
          get("prev_comm"),
          get("prev_pid"),
          20,
          STATE_CODE[get("prev_state") as string]!,
          get("next_comm"),
          get("next_pid"),
          20,
        ];
        break;
      case "sched_waking":
      case "sched_wakeup":
      case "sched_wakeup_new":
        values = [get("comm"), get("pid"), 20, Number(get("target_cpu"))];
        break;
      case "sched_process_fork":
        values = ["bash", 100, 100, "bash", 101, 101];
        break;
      case "sched_process_exec":
        values = ["/usr/bin/ls", 101, 101];
        break;
      case "sched_process_exit":
      case "sched_process_free":
      case "sched_process_wait":
        values = [get("comm"), get("pid"), 20];
        break;
      case "sched_migrate_task":
        values = [get("comm"), get("pid"), 20, get("orig_cpu"), get("dest_cpu")];
        break;
      case "sched_stat_runtime":
        values = ["bash", 100, 35000, 1_000_000];
        break;
      case "irq_handler_entry":
        values = [19, "eth0"];
        break;
      case "irq_handler_exit":
        values = [19, 1];
        break;
      case "softirq_entry":
      case "softirq_exit":
        values = [3];
        break;
      default:
        continue;
    }
    out.push({ us: e.us, cpu: e.cpu, who: e.who, ev, values });
    if (e.name === "sched_process_exec") {
      out.push({
        us: e.us + 1,
        cpu: e.cpu,
        who: e.who,
        ev: LTTNG.syscall_entry_openat!,
        values: [-100, "/etc/ld.so.cache", 524288, 0],
      });
      out.push({ us: e.us + 2, cpu: e.cpu, who: e.who, ev: LTTNG.syscall_exit_openat!, values: [3] });
    }
  }
  return out;
}

const CTF_TYPES = `typealias integer { size = 8; align = 8; signed = false; } := uint8_t;
typealias integer { size = 32; align = 8; signed = false; } := uint32_t;
typealias integer { size = 64; align = 8; signed = false; } := uint64_t;
typealias integer { size = 32; align = 8; signed = true; } := int32_t;
typealias integer { size = 64; align = 8; signed = true; } := int64_t;
`;

/** CTF 1.8 metadata in LTTng-modules' layout (one stream class, per-cpu stream files). */
function ctfMetadata(context: boolean, events: CtfEvent[]): string {
  const ty = (t: CtfType, n: string) =>
    t === "string"
      ? `string ${n};`
      : t === "state"
        ? `enum : int64_t { ${TASK_STATE.map(([k, v]) => `"${k}" = ${v}`).join(", ")} } ${n};`
        : `${t === "int32" ? "int32_t" : t === "int64" ? "int64_t" : "uint32_t"} ${n};`;
  return `/* CTF 1.8 */

${CTF_TYPES}
trace {
	major = 1;
	minor = 8;
	byte_order = le;
	packet.header := struct {
		uint32_t magic;
		uint32_t stream_id;
	};
};

env {
	hostname = "testhost";
	domain = "kernel";
	sysname = "Linux";
	kernel_release = "6.1.0";
	tracer_name = "lttng-modules";
	tracer_major = 2;
	tracer_minor = 13;
};

clock {
	name = "monotonic";
	description = "Monotonic Clock";
	freq = 1000000000;
	offset_s = 1714568400;
	offset = 0;
	precision = 1;
	absolute = FALSE;
};

typealias integer { size = 64; align = 8; signed = false; map = clock.monotonic.value; } := uint64_clock_monotonic_t;

stream {
	id = 0;
	event.header := struct {
		uint32_t id;
		uint64_clock_monotonic_t timestamp;
	};
	packet.context := struct {
		uint64_clock_monotonic_t timestamp_begin;
		uint64_clock_monotonic_t timestamp_end;
		uint64_t content_size;
		uint64_t packet_size;
		uint32_t cpu_id;
	};
${context ? "\tevent.context := struct {\n\t\tint32_t pid;\n\t\tint32_t tid;\n\t\tstring procname;\n\t};\n" : ""}};

${events
  .map(
    (e, i) => `event {
	name = "${e.name}";
	id = ${i};
	stream_id = 0;
	fields := struct {
${e.fields.map(([n, t]) => `\t\t${ty(t, n)}`).join("\n")}
	};
};
`,
  )
  .join("\n")}`;
}

class Bytes {
  private buf = new Uint8Array(1024);
  private dv = new DataView(this.buf.buffer);
  len = 0;
  private grow(n: number) {
    if (this.len + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    b.set(this.buf);
    this.buf = b;
    this.dv = new DataView(b.buffer);
  }
  u32(v: number) {
    this.grow(4);
    this.dv.setUint32(this.len, v >>> 0, true);
    this.len += 4;
  }
  i32(v: number) {
    this.grow(4);
    this.dv.setInt32(this.len, v, true);
    this.len += 4;
  }
  u64(v: bigint) {
    this.grow(8);
    this.dv.setBigUint64(this.len, v, true);
    this.len += 8;
  }
  i64(v: bigint) {
    this.grow(8);
    this.dv.setBigInt64(this.len, v, true);
    this.len += 8;
  }
  str(s: string) {
    const b = new TextEncoder().encode(s);
    this.grow(b.length + 1);
    this.buf.set(b, this.len);
    this.len += b.length;
    this.buf[this.len++] = 0;
  }
  setU64(at: number, v: bigint) {
    this.dv.setBigUint64(at, v, true);
  }
  bytes() {
    return this.buf.slice(0, this.len);
  }
}

const CLOCK_BASE_NS = 12_345_000_000_000n; // monotonic clock value at the scenario's base time

/** Writes the scenario as a CTF trace in `dir` (metadata, channel0_<cpu>). */
function writeCtf(dir: string, context: boolean): void {
  const evs = lttngEvents();
  const classes = [...new Set(evs.map((e) => e.ev))];
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "metadata"), ctfMetadata(context, classes));
  for (const cpu of [0, 1]) {
    const mine = evs.filter((e) => e.cpu === cpu);
    const b = new Bytes();
    const tsOf = (us: number) => CLOCK_BASE_NS + BigInt(us) * 1000n;
    b.u32(0xc1fc1fc1);
    b.u32(0);
    b.u64(tsOf(mine[0]!.us));
    b.u64(tsOf(mine[mine.length - 1]!.us));
    const sizes = b.len;
    b.u64(0n);
    b.u64(0n);
    b.u32(cpu);
    for (const e of mine) {
      b.u32(classes.indexOf(e.ev));
      b.u64(tsOf(e.us));
      if (context) {
        b.i32(e.who.pid);
        b.i32(e.who.tid);
        b.str(e.who.tid === 0 ? "swapper/" + cpu : e.who.comm);
      }
      e.ev.fields.forEach(([, t], i) => {
        const v = e.values[i]!;
        if (t === "string") b.str(String(v));
        else if (t === "int32") b.i32(Number(v));
        else if (t === "uint32") b.u32(Number(v));
        else b.i64(BigInt(v));
      });
    }
    const bits = BigInt(b.len * 8);
    b.setU64(sizes, bits);
    b.setU64(sizes + 8, bits);
    writeFileSync(join(dir, `channel0_${cpu}`), b.bytes());
  }
}

/** babeltrace2 runs with these option sets; each gives one fixture. */
const BABELTRACE_RUNS: [string, boolean, string[]][] = [
  ["babeltrace2-context.txt", true, []],
  ["babeltrace2-plain.txt", false, []],
  ["babeltrace2-seconds-nodelta.txt", true, ["--clock-seconds", "--no-delta"]],
  ["babeltrace2-date-names.txt", true, ["--clock-date", "--names", "all", "--fields", "all"]],
  ["babeltrace2-cycles.txt", false, ["--clock-cycles"]],
];

function babeltrace(): Map<string, string> {
  const out = new Map<string, string>();
  const tmp = mkdtempSync(join(tmpdir(), "ktrace-ctf-"));
  try {
    for (const ctx of [true, false]) writeCtf(join(tmp, ctx ? "ctx" : "plain"), ctx);
    for (const [file, ctx, opts] of BABELTRACE_RUNS) {
      const text = execFileSync("babeltrace2", [...opts, "--clock-gmt", join(tmp, ctx ? "ctx" : "plain")], {
        encoding: "utf8",
        env: { ...process.env, TZ: "UTC", BABELTRACE_TERM_COLOR: "NEVER" },
      });
      out.set(`babeltrace2/${file}`, text);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

// ---- main ----------------------------------------------------------------------

export function textFixtures(): Map<string, string> {
  return new Map([
    ["ftrace/tracefs.txt", tracefs()],
    ["ftrace/tracefs-tgid.txt", tracefsTgid()],
    ["ftrace/trace-cmd-report.txt", traceCmd()],
    ["ftrace/old-kernel.txt", oldKernel()],
    ["ftrace/lockdep-abba.txt", abba()],
    ["ftrace/out-of-order.txt", outOfOrder()],
    ["perf/perf-script.txt", perf(false)],
    ["perf/perf-script-pid.txt", perf(true)],
  ]);
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const files = textFixtures();
  if (args.includes("--ctf")) for (const [k, v] of babeltrace()) files.set(k, v);
  let stale = 0;
  for (const [rel, text] of files) {
    const path = join(OUT, rel);
    if (args.includes("--check")) {
      if (!existsSync(path) || readFileSync(path, "utf8") !== text) {
        console.error(`stale: ${path}`);
        stale++;
      }
      continue;
    }
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, text);
    console.log(`wrote ${path} (${text.length} bytes)`);
  }
  if (stale > 0) process.exit(1);
}
