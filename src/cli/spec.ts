// The ktrace command table, as data.
//
// Everything the CLI knows about its surface lives here: commands, positional
// arguments, flags (with their value types), descriptions, examples, and the issue
// that builds each command. The parser (args.ts) and the help screens (help.ts) are
// generated from this table, and the flag types of ParsedArgs<C> are derived from it,
// so adding a flag is a one-line change here.
//
// This file is the source of truth for the "CLI contract" in DESIGN.md: extend it,
// never break it.

import { BUILTIN_INVARIANT_NAMES } from "../replay/invariant-names.ts";

/** The words `--at` accepts besides an event number. */
export const AT_WORDS = ["start", "end", "panic", "violation"] as const;
export type AtWord = (typeof AT_WORDS)[number];

/**
 * How a flag's value is read.
 * - boolean: no value (`--json`); `--json=x` is an error.
 * - int: a non-negative integer.
 * - string: any text.
 * - enum: one of `values`.
 * - range: `A..B`, both non-negative integers, A <= B, inclusive of both ends.
 * - at: an event number or one of AT_WORDS.
 * - keyvalue: `KEY=VALUE` (VALUE may be empty).
 */
export type ValueType =
  | { readonly kind: "boolean" }
  | { readonly kind: "int" }
  | { readonly kind: "string" }
  | { readonly kind: "enum"; readonly values: readonly string[] }
  | { readonly kind: "range" }
  | { readonly kind: "at" }
  | { readonly kind: "keyvalue" };

export interface FlagSpec {
  /** Long name without dashes: `seed` for `--seed`. Also the key in ParsedArgs.flags. */
  readonly name: string;
  /** One-letter alias without the dash: `o` for `-o`. */
  readonly short?: string;
  readonly type: ValueType;
  /** Placeholder shown in help: `N`, `FILE`, `A..B`. */
  readonly metavar?: string;
  /** May be given more than once; values are collected into an array (in order). */
  readonly repeatable?: boolean;
  /** Must be given; the parser refuses the command otherwise. */
  readonly required?: boolean;
  readonly description: string;
}

export interface PositionalSpec {
  readonly name: string;
  readonly description: string;
  /** Error text when the positional is missing, e.g. "record needs a scenario name or a .ts file". */
  readonly missing: string;
  /** The last positional only: takes one or more values (`<shard.json>...`). */
  readonly variadic?: boolean;
}

export interface CommandSpec {
  readonly name: string;
  /** One line, shown in the overview. */
  readonly summary: string;
  /** Optional longer text for `ktrace <cmd> --help`. */
  readonly details?: string;
  readonly positionals: readonly PositionalSpec[];
  readonly flags: readonly FlagSpec[];
  readonly examples: readonly string[];
  /** The issue that builds this command. */
  readonly issue: number;
}

/** Flags every command accepts (handled by main.ts, not by commands). */
export const GLOBAL_FLAGS = [
  {
    name: "help",
    short: "h",
    type: { kind: "boolean" },
    description: "Show help (for a command: ktrace <command> --help).",
  },
  { name: "version", type: { kind: "boolean" }, description: "Print the ktrace version." },
  { name: "verbose", type: { kind: "boolean" }, description: "Add stack traces to error messages." },
] as const satisfies readonly FlagSpec[];

// Shared flag definitions, so the same flag reads the same everywhere.
const json = (what: string) =>
  ({ name: "json", type: { kind: "boolean" }, description: `Print ${what} and nothing else on stdout.` }) as const;
const fix = {
  name: "fix",
  type: { kind: "string" },
  metavar: "NAME",
  description: "Run the scenario's fixed variant NAME instead of the buggy one (see 'ktrace scenarios').",
} as const;
const cpus = { name: "cpus", type: { kind: "int" }, metavar: "N", description: "Number of simulated CPUs." } as const;
const maxEvents = {
  name: "max-events",
  type: { kind: "int" },
  metavar: "N",
  description: "Stop after N events (outcome: budget).",
} as const;
const opt = {
  name: "opt",
  type: { kind: "keyvalue" },
  metavar: "KEY=VALUE",
  repeatable: true,
  description:
    'Set a scenario option (repeatable). Every scenario also takes memory=tso (x86 store buffers), memory=pso (SPARC store buffers: stores to different variables reorder) or memory=sc (the default): docs/SCENARIOS.md, "Memory models".',
} as const;
const output = (what: string) =>
  ({ name: "output", short: "o", type: { kind: "string" }, metavar: "FILE", description: what }) as const;
const at = (required: boolean) =>
  ({
    name: "at",
    type: { kind: "at" },
    metavar: "N|start|end|panic|violation",
    required,
    description: "Event number, or start, end, the panic, or the first invariant violation.",
  }) as const;
const tracePos = (cmd: string) =>
  ({
    name: "trace",
    description: "A trace file written by ktrace record.",
    missing: `${cmd} needs a trace file`,
  }) as const;
const scenarioPos = (cmd: string) =>
  ({
    name: "scenario|file.ts",
    description: "A built-in scenario name (see 'ktrace scenarios') or a scenario file.",
    missing: `${cmd} needs a scenario name or a .ts file`,
  }) as const;

const strategy = (values: readonly string[]) =>
  ({
    name: "strategy",
    type: { kind: "enum", values },
    metavar: values.join("|"),
    description: values.includes("dfs")
      ? "Scheduling strategy: random (default), pct (PCT: random priorities, --depth d), dfs (every schedule on one cpu with at most --preemptions k; a tso or pso scenario: on two or more cpus, its store-buffer drains and delayed steps too). See docs/EXPLORE.md."
      : "Scheduling strategy: random (default) or pct (PCT: random priorities, --depth d). See docs/EXPLORE.md.",
  }) as const;
const depth = {
  name: "depth",
  type: { kind: "int" },
  metavar: "d",
  description: "PCT's bug depth: d - 1 priority change points (default 3).",
} as const;
const seqAt = {
  name: "at",
  type: { kind: "int" },
  metavar: "SEQ",
  required: true,
  description: "The event (a scheduling point, or with --cost a step) where the decision changes.",
} as const;

export const COMMANDS = [
  {
    name: "scenarios",
    summary: "List the built-in scenarios and their fixed variants.",
    positionals: [],
    flags: [json("the list as one JSON document")],
    examples: ["ktrace scenarios", "ktrace scenarios --json"],
    issue: 3,
  },
  {
    name: "record",
    summary: "Run a scenario under a seeded scheduler and write its trace.",
    positionals: [scenarioPos("record")],
    flags: [
      fix,
      { name: "seed", type: { kind: "int" }, metavar: "N", description: "Seed for the scheduler's PRNG." },
      cpus,
      {
        name: "snapshot-every",
        type: { kind: "int" },
        metavar: "K",
        description: "Write a state snapshot every K events.",
      },
      maxEvents,
      opt,
      strategy(["random", "pct"]),
      depth,
      {
        name: "schedule",
        type: { kind: "string" },
        metavar: "FILE|ks1.…",
        description:
          "Replay a decision list (the compact string 'ktrace shrink' prints, or a file holding one) instead of drawing decisions; where a decision no longer applies, say so and go on with the strategy.",
      },
      {
        name: "schedule-from",
        type: { kind: "string" },
        metavar: "TRACE",
        description:
          "Replay the decisions stored in TRACE (e.g. a failing buggy run, on a --fix variant); as --schedule.",
      },
      output("Write the trace to FILE (default: <scenario>-<seed>.ktrace)."),
      json("a summary of the recording as one JSON document"),
    ],
    examples: [
      "ktrace record cpython-fork-serenity -o /tmp/cpython.ktrace",
      "ktrace record tcmalloc-fork --seed 7 --cpus 4",
      "ktrace record tcmalloc-fork --strategy pct --depth 2 --seed 3",
      "ktrace record tcmalloc-fork --fix atfork-2.17 --schedule-from tcmalloc-fork-s1.ktrace",
      "ktrace record rcore-kstack --fix pr146 -o fixed.ktrace",
      "ktrace record fixtures/scenarios/bank.ts --opt rounds=10",
    ],
    issue: 3,
  },
  {
    name: "info",
    summary: "Summarize a trace: scenario, seed, events, outcome, and whether anything in it is damaged.",
    positionals: [tracePos("info")],
    flags: [json("formatVersion, scenario, fix, seed, cpus, events, snapshots, bytes, outcome")],
    examples: ["ktrace info /tmp/cpython.ktrace", "ktrace info /tmp/cpython.ktrace --json"],
    issue: 4,
  },
  {
    name: "check",
    summary:
      "Scan a trace for the first invariant violation (exit 1 if found; 2 if none but a damaged part could not be checked).",
    positionals: [tracePos("check")],
    flags: [
      {
        name: "invariant",
        type: { kind: "string" },
        metavar: "NAME",
        repeatable: true,
        description: `Check only this invariant (repeatable; default: every one but the opt-in lock-order, zombie-leak and no-starvation, which run when named or when the trace's scenario sets rules.lockOrder / rules.zombieCheck / rules.starvationCheck): a built-in one (${BUILTIN_INVARIANT_NAMES.join(", ")}) or one the trace's scenario declares. Checked against the trace's invariants, with the closest name for a typo.`,
      },
      {
        name: "also",
        type: { kind: "string" },
        metavar: "NAME",
        repeatable: true,
        description:
          "Check this invariant too, besides the default set (or those --invariant names) (repeatable): an opt-in one, e.g. --also lock-order to look for lock-order inversions with every other check.",
      },
      {
        name: "skip",
        type: { kind: "string" },
        metavar: "NAME",
        repeatable: true,
        description:
          "Check every invariant but this one (repeatable; with --invariant, those but this one): e.g. to look past a trace-consistency finding on an imported trace (the input lost events there) for the first violation of the others.",
      },
      {
        name: "jobs",
        type: { kind: "int" },
        metavar: "N",
        description:
          "Scan on N threads (default: the number of cores; 1: one thread, about 15 MB less memory on a long trace). On a trace of over 3 million events, 2 threads: one decodes the trace ahead while this one checks; more: the trace is split at snapshots. The answer is the same. --verbose says how it ran.",
      },
      json("{violation, scanned, gaps, unchecked}"),
    ],
    examples: [
      "ktrace check /tmp/cpython.ktrace",
      "ktrace check t.ktrace --invariant kstack-in-use --json",
      "ktrace check imported.ktrace --skip switch-from-current --skip one-cpu-at-a-time",
      "ktrace check t.ktrace --also lock-order",
    ],
    issue: 5,
  },
  {
    name: "events",
    summary: "Print the events of a trace, optionally a range or a kind.",
    positionals: [tracePos("events")],
    flags: [
      { name: "from", type: { kind: "int" }, metavar: "N", description: "First event number to print." },
      { name: "to", type: { kind: "int" }, metavar: "N", description: "Last event number to print." },
      {
        name: "kind",
        type: { kind: "string" },
        metavar: "PATTERN",
        description:
          "Only events whose kind matches PATTERN (e.g. lock.*); in an imported trace, generic:GLOB selects its generic events by name (e.g. generic:sched_stat*).",
      },
      json("one JSON object per line (JSON lines)"),
    ],
    examples: [
      "ktrace events /tmp/cpython.ktrace --from 100 --to 200",
      "ktrace events t.ktrace --kind 'lock.*' --json",
    ],
    issue: 4,
  },
  {
    name: "state",
    summary: "Print the kernel state at one point of a trace.",
    positionals: [tracePos("state")],
    flags: [at(true), json("{seq, cpus, processes, threads, locks, kstacks, vmars}")],
    examples: ["ktrace state /tmp/cpython.ktrace --at violation", "ktrace state t.ktrace --at 120 --json"],
    issue: 5,
  },
  {
    name: "why",
    summary: "Explain one object at a point of a trace: the events that made it what it is.",
    details:
      "The events behind a lock's owner (and the fork that copied it), a thread's wait and last wakeup (who woke it), a pipe's holders (how each process got its descriptor) and writes, a variable's last write, a kernel stack's, process's or heap object's life, a cpu's task (imported traces), oldest first, each with a line in kernel terms; the TUI's e key shows the same. Without --at: at the end of the trace.",
    positionals: [
      tracePos("why"),
      {
        name: "object",
        description:
          "lock:NAME[@PID]|ID, var:NAME[@PID]|ID (futex:, condvar:, semaphore:, rwlock: too), thread:TID, proc:PID, pipe:ID, kstack:ID, vmar:PID, obj:ID, cpu:N.",
        missing: "why needs an object, e.g. lock:m or thread:2",
      },
    ],
    flags: [at(false), json("{seq, object, entries: [{seq, role, explanation, event}]}")],
    examples: [
      "ktrace why t.ktrace lock:SlowTLS --at violation",
      "ktrace why t.ktrace thread:3",
      "ktrace why t.ktrace pipe:1 --at 40 --json",
    ],
    issue: 5,
  },
  {
    name: "replay",
    summary: "Step through a trace interactively, forwards and backwards.",
    positionals: [tracePos("replay")],
    flags: [at(false)],
    examples: ["ktrace replay /tmp/cpython.ktrace", "ktrace replay t.ktrace --at violation"],
    issue: 6,
  },
  {
    name: "explore",
    summary: "Run a scenario under many seeds and list the failing ones (exit 1 if any).",
    details:
      "A seed whose run throws is listed with the outcome 'error' and every other seed still runs; then explore exits 3 if a seed hit an internal error, 2 if a seed could not run, 1 if a seed failed, 0 if all passed. Shards: see docs/EXPLORE.md.",
    positionals: [scenarioPos("explore")],
    flags: [
      fix,
      {
        name: "seeds",
        type: { kind: "range" },
        metavar: "A..B",
        description: "Seeds to try, A through B inclusive (required, except with --strategy dfs).",
      },
      strategy(["random", "pct", "dfs"]),
      depth,
      {
        name: "preemptions",
        type: { kind: "int" },
        metavar: "k",
        description:
          "With --strategy dfs: the preemption bound (default 2; a tso or pso scenario: preemptions and delayed steps together).",
      },
      {
        name: "max-schedules",
        type: { kind: "int" },
        metavar: "N",
        description:
          "With --strategy dfs: stop after N schedules (default 100000); the report then says the search is incomplete.",
      },
      {
        name: "jobs",
        type: { kind: "int" },
        metavar: "N",
        description: "Run seeds in N job processes in parallel (default: the number of cores).",
      },
      {
        name: "save",
        type: { kind: "string" },
        metavar: "DIR",
        description: "Write the traces of the first 10 failing seeds into DIR (all of them with --save-all).",
      },
      {
        name: "save-all",
        type: { kind: "boolean" },
        description: "With --save, write the trace of every failing seed (default: the first 10).",
      },
      {
        name: "shard",
        type: { kind: "string" },
        metavar: "I/N|auto/N",
        description:
          "Run only slice I (0..N-1) of N contiguous, balanced slices of the seeds; auto reads I from JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or AWS_BATCH_JOB_ARRAY_INDEX. Merge the --json outputs with ktrace merge.",
      },
      opt,
      cpus,
      maxEvents,
      json(
        "{scenario, fix, options, cpus, [memory], maxEvents, strategy, seeds, [shard], scanned, failing: [{seed, outcome, violation}], errors, passing, outcomes, violations, saved}",
      ),
    ],
    examples: [
      "ktrace explore tcmalloc-fork --seeds 0..999",
      "ktrace explore asterinas-procfs --seeds 0..99 --jobs 4 --save out/",
      "ktrace explore tcmalloc-fork --seeds 0..999999 --shard 3/8 --json > shard-3.json",
      "ktrace explore tcmalloc-fork --seeds 1..10000 --strategy pct --depth 2",
      "ktrace explore tcmalloc-fork --strategy dfs --preemptions 2",
    ],
    issue: 7,
  },
  {
    name: "shrink",
    summary: "Shrink a failing trace: the same failure with the fewest preemptions, then the fewest events.",
    details:
      "Runs the trace's world again (from its header: no scenario file needed) under changed decisions, keeping each change that fails the same way (the same invariant at the same kind of event, or the same outcome) and is smaller: fewer preemptions first, then fewer events. On one cpu it then searches every schedule with fewer preemptions, so it can say the result needs no fewer. Prints before and after and the shrunk decision list, and writes the shrunk trace. Deterministic. Exit 0; 2 for a trace that does not fail or cannot be run again.",
    positionals: [tracePos("shrink")],
    flags: [
      output("Write the shrunk trace to FILE (default: <trace>.shrunk.ktrace)."),
      {
        name: "max-runs",
        type: { kind: "int" },
        metavar: "N",
        description: "Re-simulations to try at most (default 20000).",
      },
      json("{failure, before, after, minimal, proof, runs, schedule, path}"),
    ],
    examples: ["ktrace shrink tcmalloc-fork-s104.ktrace", "ktrace shrink t.ktrace -o small.ktrace --json"],
    issue: 12,
  },
  {
    name: "whatif",
    summary: "Change one scheduling decision of a trace and run it again: does it still fail?",
    details:
      "Re-simulates the trace with one decision changed at SEQ, following the original decisions everywhere else (each thread keeps its own preemption points and step timings; where the original has no answer, the trace's strategy answers). At a scheduling point: --run TID runs another thread there, --no-preempt keeps a preempted thread running, --preempt preempts a thread that went on; with none of them, the natural flip (undo a preemption, else take the next other thread, else preempt). --cost N makes the step at SEQ take N times its base cost instead (timing: on several cpus it decides which cpu acts first). Under the tso and pso memory models, --drain / --no-drain answer the drain question at SEQ the other way (the thread's oldest buffered store reaches memory there, or stays buffered; under pso, where a step asks about each buffered variable in turn, the first question answered the other way: --drain commits the oldest variable's store that stayed buffered). Writes the branch's trace. Exit 0 when the branch does not fail, 1 when it fails (the same way or another), 2 when SEQ is not such a point (the nearby ones are named).",
    positionals: [tracePos("whatif")],
    flags: [
      seqAt,
      { name: "run", type: { kind: "int" }, metavar: "TID", description: "Run this thread at the scheduling point." },
      { name: "preempt", type: { kind: "boolean" }, description: "Preempt the running thread at SEQ." },
      { name: "no-preempt", type: { kind: "boolean" }, description: "Do not preempt the thread preempted at SEQ." },
      {
        name: "cost",
        type: { kind: "int" },
        metavar: "N",
        description: "The step at SEQ takes N (1..4) times its base cost.",
      },
      {
        name: "drain",
        type: { kind: "boolean" },
        description:
          "tso, pso: the thread's oldest buffered store (pso: to the oldest variable whose store stayed) reaches memory at SEQ (a drain question).",
      },
      {
        name: "no-drain",
        type: { kind: "boolean" },
        description: "tso, pso: the store that reached memory at SEQ stays buffered.",
      },
      output("Write the branch's trace to FILE (default: <trace>.whatif-<SEQ>.ktrace)."),
      json("{change, original, branch, fails, sameFailure, followed, path}"),
    ],
    examples: [
      "ktrace whatif tcmalloc-fork-s1.ktrace --at 29 --cost 1",
      "ktrace whatif t.ktrace --at 45 --no-preempt",
      "ktrace whatif t.ktrace --at 52 --run 3 -o branch.ktrace",
    ],
    issue: 12,
  },
  {
    name: "pivots",
    summary: "The decisions a failure depends on: flip each one before it, list those that avoid it.",
    details:
      "Flips, one at a time, every scheduling decision made before the trace's failure (a pick to each other ready thread, a preemption to the other answer, a step's timing to each other multiplier), re-simulating the rest as recorded, and lists the decisions whose change avoids the failure: the moments where the bug becomes inevitable. Bounded by --limit (the latest decisions before the failure). Exit 0; 2 for a trace that does not fail or cannot be run again.",
    positionals: [tracePos("pivots")],
    flags: [
      {
        name: "limit",
        type: { kind: "int" },
        metavar: "N",
        description: "Flip at most the N latest decisions before the failure (default 4096).",
      },
      {
        name: "jobs",
        type: { kind: "int" },
        metavar: "N",
        description: "Flip in N job processes in parallel (default: the number of cores, when there is enough work).",
      },
      json("{failure, before, considered, runs, pivots: [{decision, avoid: [{value, result, failure}]}]}"),
    ],
    examples: ["ktrace pivots tcmalloc-fork-s1.ktrace", "ktrace pivots t.ktrace --json"],
    issue: 12,
  },
  {
    name: "merge",
    summary: "Merge the --json outputs of explore's shards into what one unsharded run prints.",
    details:
      "Reads the shards' JSON (every shard of one run, in any order; each checked as untrusted input) and prints, with --json, byte for byte the document one 'ktrace explore' over the whole range prints; without it, explore's text report. Exits as that run would: 1 if a seed failed, 3 if a seed hit an internal error. Shards of different runs, a shard given twice or a missing shard: exit 2.",
    positionals: [
      {
        name: "shard.json",
        description: "Output of 'ktrace explore … --shard I/N --json', one file per shard.",
        missing: "merge needs the shards' JSON files (ktrace explore … --shard I/N --json)",
        variadic: true,
      },
    ],
    flags: [json("the merged document (exactly what 'ktrace explore --json' prints for the whole range)")],
    examples: [
      "ktrace merge shard-*.json --json > explore.json",
      "ktrace merge shard-0.json shard-1.json shard-2.json",
    ],
    issue: 12,
  },
  {
    name: "diff",
    summary: "Compare two traces: the first divergence, the state there, what differs afterwards.",
    details:
      "Finds the first event that differs between the two runs (or where one ends) and says whether another thread ran or one run's scheduler switched the thread out (a scheduling difference) or the same thread did something else (a program difference: a fix, or in the same program an earlier decision that changed what it read); lists the CPUs, processes, threads, locks and kernel stacks that differ after it; and compares the outcomes, first invariant violations and events per kind. Traces of different scenarios are compared too, with a note. A damaged trace is compared where both hold the events; a note says which events were not. Exit 0 when the runs are the same event for event, 1 when they differ, 2 when no difference was found but a trace is damaged (its missing events could not be compared).",
    positionals: [
      { name: "traceA", description: "A trace (or a report holding one).", missing: "diff needs two traces" },
      {
        name: "traceB",
        description: "The trace to compare it with.",
        missing: "diff needs a second trace to compare with",
      },
    ],
    flags: [
      json(
        "{a, b, differs, notes, divergence: {seq, kind, why, a, b, common, timeFrom}, stateAt, stateSameUntil, state, stateMore, after: {a, b}, gaps: {a, b}, files}",
      ),
    ],
    examples: [
      "ktrace diff tcmalloc-fork-s1.ktrace tcmalloc-fork-s2.ktrace",
      "ktrace diff tcmalloc-fork-s1.ktrace tcmalloc-fork-atfork-2.17-s1.ktrace --json",
    ],
    issue: 12,
  },
  {
    name: "report",
    summary: "Write a self-contained report of a trace (what failed, where, why).",
    positionals: [tracePos("report")],
    flags: [output("Write the report to FILE instead of stdout.")],
    examples: ["ktrace report /tmp/cpython.ktrace -o report.md"],
    issue: 7,
  },
  {
    name: "export",
    summary: "Convert a trace for other tools (Perfetto, pandas, DuckDB, jq, any msgpack library).",
    positionals: [tracePos("export")],
    flags: [
      {
        name: "format",
        type: { kind: "enum", values: ["chrome", "msgpack", "jsonl"] },
        metavar: "chrome|msgpack|jsonl",
        required: true,
        description:
          "Output format: chrome (Trace Event JSON, opens in Perfetto); msgpack (one msgpack map per event, back to back) or jsonl (one JSON object per line): {seq, time, cpu, tid, kind, args}, see docs/FORMAT.md.",
      },
      output("Write to FILE instead of stdout."),
    ],
    examples: [
      "ktrace export /tmp/cpython.ktrace --format chrome -o cpython.json",
      "ktrace export /tmp/cpython.ktrace --format msgpack -o cpython.msgpack",
      "ktrace export /tmp/cpython.ktrace --format jsonl | jq -c 'select(.kind == \"fork\")'",
    ],
    issue: 7,
  },
  {
    name: "import",
    summary:
      "Turn a real kernel trace (ftrace, perf script, babeltrace2 text) into a .ktrace to replay, check and explore.",
    details:
      "Reads FILE (plain or gzip), detects its format, maps its events to the kernel model (tasks, processes,\n" +
      "CPUs, interrupt contexts, locks; every other event kept as a generic event) and writes a .ktrace with\n" +
      "snapshots and an index, in bounded memory. It reports what it read and what each event became:\n" +
      "unparsed lines with their numbers, the clock, tasks whose process the input did not give.\n" +
      "An imported trace has no world: it replays and checks, but cannot be re-simulated (whatif, shrink).\n" +
      "See docs/IMPORT.md for the mapping and what is lost.",
    positionals: [
      {
        name: "file",
        description:
          "A kernel trace as text: trace-cmd report or tracefs trace, perf script, babeltrace2 output (gzip too).",
        missing: "import needs a trace file",
      },
    ],
    flags: [
      {
        name: "format",
        type: { kind: "enum", values: ["ftrace", "perf", "babeltrace2"] },
        metavar: "ftrace|perf|babeltrace2",
        description: "The input format (default: detected from the content).",
      },
      output("Write the trace to FILE (default: the input's name with .ktrace, in the current directory)."),
      {
        name: "snapshot-every",
        type: { kind: "int" },
        metavar: "K",
        description: "Write a state snapshot every K events (default 65536).",
      },
      {
        name: "dry-run",
        type: { kind: "boolean" },
        description: "Read and map the input and report what it holds; write nothing.",
      },
      json("the report as one JSON document"),
    ],
    examples: [
      "trace-cmd report > t.txt && ktrace import t.txt -o t.ktrace && ktrace check t.ktrace",
      "ktrace import perf.txt.gz --format perf -o perf.ktrace",
      "ktrace import trace.txt --dry-run --json",
    ],
    issue: 15,
  },
] as const satisfies readonly CommandSpec[];

export type CommandName = (typeof COMMANDS)[number]["name"];
export type CommandSpecOf<C extends CommandName> = Extract<(typeof COMMANDS)[number], { name: C }>;

export const COMMAND_NAMES: readonly CommandName[] = COMMANDS.map((c) => c.name);

export function isCommandName(s: string): s is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(s);
}

export function commandSpec<C extends CommandName>(name: C): CommandSpecOf<C> {
  return COMMANDS.find((c) => c.name === name) as CommandSpecOf<C>;
}

// ---- Types derived from the table ----

/** `--at` value: an event number or a named point. */
export type At = number | AtWord;
/** `--seeds A..B`: inclusive of both ends. */
export interface Range {
  readonly from: number;
  readonly to: number;
}
/** `--opt KEY=VALUE`. */
export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

type ValueOf<T extends ValueType> = T extends { kind: "boolean" }
  ? boolean
  : T extends { kind: "int" }
    ? number
    : T extends { kind: "string" }
      ? string
      : T extends { kind: "enum"; values: readonly (infer V)[] }
        ? V
        : T extends { kind: "range" }
          ? Range
          : T extends { kind: "at" }
            ? At
            : T extends { kind: "keyvalue" }
              ? KeyValue
              : never;

/** Value of one flag in ParsedArgs.flags: arrays for repeatable flags. */
export type FlagValueOf<F extends FlagSpec> = F extends { repeatable: true }
  ? ValueOf<F["type"]>[]
  : ValueOf<F["type"]>;

type IsAlwaysPresent<F extends FlagSpec> = F extends { repeatable: true }
  ? true
  : F extends { required: true }
    ? true
    : F["type"] extends { kind: "boolean" }
      ? true
      : false;

type FlagsFrom<Fs extends readonly FlagSpec[]> = {
  [F in Fs[number] as IsAlwaysPresent<F> extends true ? F["name"] : never]: FlagValueOf<F>;
} & {
  [F in Fs[number] as IsAlwaysPresent<F> extends true ? never : F["name"]]?: FlagValueOf<F>;
};

/**
 * The flags of command C, keyed by long name (`flags['snapshot-every']`, `flags.output`
 * for `-o`). Booleans are always present (false when absent), repeatables always
 * present ([] when absent), required flags always present; the rest are optional.
 * Distributes over a union of commands (one flags type per command), so two commands
 * may give the same flag different types (`--format` of export and import).
 */
export type FlagsOf<C extends CommandName> = C extends CommandName ? FlagsFrom<CommandSpecOf<C>["flags"]> : never;
