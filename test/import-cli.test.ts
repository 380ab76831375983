// ktrace import end to end (writing, and --dry-run), on Bun and on Deno.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { type Runtime, runCli } from "./helpers/run-cli.ts";

const FIX = "fixtures/import";
const RUNTIMES: Runtime[] = ["bun", "deno"];

describe.each(RUNTIMES)("ktrace import on %s", (runtime) => {
  const run = (...args: string[]) => runCli(args, { runtime });

  it("--dry-run reports format, counts, what each event becomes, and the missing processes", async () => {
    const r = await run("import", `${FIX}/ftrace/tracefs.txt`, "--dry-run");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("format   ftrace text (detected)");
    expect(r.stdout).toContain("read     41 lines, 3,803 bytes: 29 events, 12 header/blank, 0 unparsed");
    expect(r.stdout).toMatch(/^ {2}sched_switch +7 {2}switch \(prev's state from prev_state\)$/m);
    expect(r.stdout).toMatch(/^ {2}sched_stat_runtime +1 {2}generic event/m);
    expect(r.stdout).toMatch(/^ {2}sched_process_fork +1 {2}1 merged/m);
    expect(r.stdout).toMatch(
      /warning the process of 2 tasks is not in the input: each was taken as its own process; to record it: echo 1 > \/sys\/kernel\/tracing\/options\/record-tgid/,
    );
    expect(r.stdout).toMatch(/Not written \(--dry-run\): without it, import writes tracefs\.ktrace/);
  });

  it("--dry-run --json: one document; unparsed lines and a cut-short last line are reported", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ktrace-import-cli-"));
    const file = path.join(dir, "noisy.txt");
    const ok = "  bash-1 [000] ..... 5.000001: sched_process_wait: comm=bash pid=0 prio=120\n";
    writeFileSync(file, `# tracer: nop\n${ok}not a trace line\n${ok}${ok}  bash-1 [000] ..... 5.0000`);
    const r = await run("import", file, "--dry-run", "--json");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({
      format: "ftrace",
      detected: true,
      records: 3,
      skipped: 1,
      unparsed: { count: 2, lines: [3, 6] },
      lastLine: { newline: false, parsed: false },
      events: { sched_process_wait: { count: 3, mapped: 3, becomes: "generic (the switches say when it sleeps)" } },
      written: null,
    });
    expect(j.warnings.join("\n")).toMatch(/2 lines did not parse as ftrace text \(lines 3, 6\)/);
    expect(j.warnings.join("\n")).toMatch(/last line \(6\) is cut short/);
  });

  it("writes a .ktrace that info, check, events and state read as an imported trace", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ktrace-import-cli-"));
    const out = path.join(dir, "perf.ktrace");
    const r = await run("import", `${FIX}/perf/perf-script.txt`, "-o", out);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/→ .*perf\.ktrace/);
    expect(r.stdout).toMatch(/^ {2}wrote {4}\d+ events on 2 cpus, 2 snapshots, /m);
    const info = await run("info", out, "--json");
    expect(info.code).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({
      cpus: 2,
      imported: {
        format: "perf",
        file: `${FIX}/perf/perf-script.txt`,
        detected: true,
        gzip: false,
        clock: { kind: "seconds", unit: "ns" },
      },
    });
    const text = await run("info", out);
    expect(text.stdout).toMatch(/^imported +perf text from /m);
    expect(text.stdout).toMatch(/^outcome +none: an imported trace/m);
    const check = await run("check", out);
    expect(check.code).toBe(0);
    const state = await run("state", out, "--at", "end", "--json");
    expect(state.code).toBe(0);
    expect(JSON.parse(state.stdout).threads.map((t: { comm: string }) => t.comm)).toContain("bash");
    // Who woke each task (the wake events): bash by ls (reaped by the end: its tid), the kworker by the NET_RX softirq.
    const threads = JSON.parse(state.stdout).threads as { tid: number; woken?: { by: number; how: string } }[];
    expect(threads.find((t) => t.tid === 100)!.woken).toMatchObject({ by: 101, how: "wakeup" });
    expect(threads.find((t) => t.tid === 50)!.woken).toMatchObject({ by: -1, how: "wakeup" });
    const stateText = (await run("state", out, "--at", "end")).stdout;
    expect(stateText).toMatch(/^ +tid +comm +pid +state +cpu +waits on +woken by *$/m);
    expect(stateText).toMatch(/^ +100 +bash +100 +running +0 +- +tid 101 \(wakeup, seq \d+\) *$/m);
    expect(stateText).toMatch(/^ +50 +kworker\/0:1 +50 +idle +1 +- +kernel \(wakeup, seq \d+\) *$/m);
    const generic = await run("events", out, "--kind", "generic:sched_stat*,task-exec");
    expect(
      generic.stdout
        .trim()
        .split("\n")
        .map((l) => l.trim().split(/ +/)[4]),
    ).toEqual(["task-exec", "generic"]);
    expect(generic.stdout).toMatch(/generic +sched:sched_stat_runtime comm=bash pid=100 /);
    const events = await run("events", out, "--kind", "switch");
    expect(events.stdout).toMatch(/switch +cpu \d: bash-100 \(\w+\) → /);
    // A report and a Chrome export, as of a recorded trace.
    const md = path.join(dir, "perf.md");
    const rep = await run("report", out, "-o", md);
    expect(rep.code).toBe(0);
    const text2 = readFileSync(md, "utf8");
    expect(text2).toMatch(/^# ktrace report: perf-script\.txt \(imported perf trace\): no violation$/m);
    expect(text2).toMatch(/^ktrace import .*perf-script\.txt --format perf -o perf\.ktrace$/m);
    expect(text2).toMatch(/^- `kstack-in-use`: a real trace does not record kernel stacks$/m);
    const json = path.join(dir, "perf.json");
    const exp = await run("export", out, "--format", "chrome", "-o", json);
    expect(exp.code).toBe(0);
    const chrome = JSON.parse(readFileSync(json, "utf8"));
    const evs = chrome.traceEvents as { ph: string; name: string; args: { name?: string } }[];
    expect(evs.filter((e) => e.ph === "X").map((e) => e.name)).toEqual([
      "tid 50 (kworker/0:1)",
      "tid 101 (bash)",
      "tid 100 (bash)",
      "tid 102 (bash)",
    ]);
    expect(evs.filter((e) => e.name === "thread_name").map((e) => e.args.name)).toEqual(
      expect.arrayContaining(["CPU 0", "CPU 1", "ls-101", "bash-100", "bash-102"]),
    );
    // The default output name, and -o naming the input, refused.
    const same = await run("import", out, "-o", out);
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/is the input/);
  });

  it("bad input: one line, exit 2, nothing raw from the input", async () => {
    const dat = await run("import", `${FIX}/real/trace-dat-head.bin`, "--dry-run");
    expect(dat.code).toBe(2);
    expect(dat.stderr).toMatch(
      /^ktrace: .* is a trace-cmd binary file \(trace\.dat\).*\(print it as text first: trace-cmd report -i /,
    );
    const dir = mkdtempSync(path.join(tmpdir(), "ktrace-import-cli-"));
    const file = path.join(dir, "evil.txt");
    writeFileSync(file, "\x1b]0;pwned\x07 not a trace\n");
    const evil = await run("import", file, "--dry-run");
    expect(evil.code).toBe(2);
    expect(evil.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(evil.stderr).toContain("\\x1b]0;pwned\\x07");
    const fmt = await run("import", file, "--format", "ctf", "--dry-run");
    expect(fmt.code).toBe(2);
    expect(fmt.stderr).toMatch(/--format/);
  });

  it("a real perf capture with kernel lock contention (perf script -F +pid): the waits, their locks, every task's process", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ktrace-import-cli-"));
    try {
      const out = path.join(dir, "contention.ktrace");
      const imp = await run("import", `${FIX}/real/perf-lock-contention.txt`, "-o", out);
      expect(imp.code).toBe(0);
      expect(imp.stdout).toMatch(/^ {2}contention_begin +5 {2}lock-wait \(owner unknown\)$/m);
      expect(imp.stdout).toMatch(/^ {2}contention_end +5 {2}lock-wait-end$/m);
      // Every task's process is in the input (pid/tid), also for those a switch named before a line of their own.
      expect(imp.stdout).toMatch(/^ {2}tasks +18 \(process from: tgid 17, clone 1\)$/m);
      expect(imp.stdout).not.toMatch(/warning the process of/);
      const st = JSON.parse((await run("state", out, "--at", "274", "--json")).stdout);
      expect(st.locks.map((l: { name: string; type: string }) => [l.name, l.type])).toEqual([
        ["0xffff8881f41499b8", "mutex"],
        ["0xffff888627d2ba40", "spin"],
        ["0xffff888488b301a8", "mutex"],
      ]);
      expect(st.locks[2].waiters).toEqual([4135, 4136]);
      const py = st.threads.filter((t: { pid: number }) => t.pid === 4089).map((t: { tid: number }) => t.tid);
      expect(py.sort()).toEqual([4089, 4135, 4136, 4137, 4138]);
      const c = await run("check", out);
      expect(c.code).toBe(0);
      expect(c.stdout).toMatch(/^no invariant violation in 329 events \(checked: lock-owner-alive, no-deadlock, /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("lock contention of the idle task is kept as generic events, the end as the begin: the lock's type comes from a task's begin", async () => {
    // Real lines (perf script -F +pid, 2026-12-01): swapper contends a spinlock first; a task later.
    const lines = [
      "      khugepaged    38/38    [000]  2599.410396:       sched:sched_switch: prev_comm=khugepaged prev_pid=38 prev_prio=139 prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120",
      "         swapper     0/0     [000]  2599.411558:    lock:contention_begin: 0xffff888627d2ba80 (flags=SPIN)",
      "         swapper     0/0     [000]  2599.411560:      lock:contention_end: 0xffff888627d2ba80 (ret=0)",
      "         swapper     0/0     [000]  2599.411585:       sched:sched_switch: prev_comm=swapper/0 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=node next_pid=8663 next_prio=120",
      "            node  8663/8663  [000]  2599.459599:    lock:contention_begin: 0xffff888627d2ba80 (flags=SPIN)",
      "            node  8663/8663  [000]  2599.459609:      lock:contention_end: 0xffff888627d2ba80 (ret=0)",
    ];
    const dir = mkdtempSync(path.join(tmpdir(), "ktrace-import-cli-"));
    try {
      const file = path.join(dir, "idle-lock.txt");
      writeFileSync(file, `${lines.join("\n")}\n`);
      const out = path.join(dir, "idle-lock.ktrace");
      const imp = await run("import", file, "-o", out);
      expect(imp.code).toBe(0);
      expect(imp.stdout).toMatch(
        /warning 2 events did not fit the state and were kept as generic events: a lock event of the idle task or of a task not known \(first at line 2\)/,
      );
      const st = JSON.parse((await run("state", out, "--at", "end", "--json")).stdout);
      expect(st.locks.map((l: { name: string; type: string }) => [l.name, l.type])).toEqual([
        ["0xffff888627d2ba80", "spin"],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("tasks only other tasks' events name, in an input that has pids: no advice to record what it has", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ktrace-import-cli-"));
    try {
      const file = path.join(dir, "named.txt");
      // perf script -F +pid: kworker 77 is only ever named by bash's switch and wakeup; bash's thread 11 is named
      // by a wakeup first, then has a line of its own that says its process.
      const line = (who: string, ts: string, ev: string) => `${who} [000] ${ts}: ${ev}`;
      writeFileSync(
        file,
        [
          line("    bash    10/10", "1.000001", "sched:sched_wakeup: comm=kworker/0:1 pid=77 prio=120 target_cpu=000"),
          line("    bash    10/10", "1.000002", "sched:sched_wakeup: comm=bash pid=11 prio=120 target_cpu=000"),
          line(
            "    bash    10/10",
            "1.000003",
            "sched:sched_switch: prev_comm=bash prev_pid=10 prev_prio=120 prev_state=S ==> next_comm=bash next_pid=11 next_prio=120",
          ),
          line(
            "    bash    10/11",
            "1.000004",
            "sched:sched_switch: prev_comm=bash prev_pid=11 prev_prio=120 prev_state=S ==> next_comm=kworker/0:1 next_pid=77 next_prio=120",
          ),
          "",
        ].join("\n"),
      );
      const r = await run("import", file, "--dry-run");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^ {2}tasks +3 \(process from: tgid 2, assumed 1\)$/m);
      expect(r.stdout).toContain(
        "warning the process of 1 task is not in the input: it was taken as its own process (1 more was, until a later line named theirs); it appears only in other tasks' events (a switch or a wakeup names a task by its tid alone); kernel threads are their own processes",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("check on a real capture that lost a task's switches: the finding, how to look past it, and --skip", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ktrace-import-cli-"));
    const out = path.join(dir, "missing.ktrace");
    expect((await run("import", `${FIX}/real/tracefs-missing-switch.txt`, "-o", out)).code).toBe(0);
    const c = await run("check", out);
    expect(c.code).toBe(1);
    expect(c.stdout).toMatch(
      /^VIOLATION switch-from-current at seq 48 .*\n {2}cpu 1 switches away from kworker\/1:1-19203, but it runs tokio-rt-worker-69 \(the input is inconsistent here/,
    );
    expect(c.stdout).toContain(
      `to check the other invariants past such gaps in the input: ktrace check ${out} --skip switch-from-current`,
    );
    const past = await run("check", out, "--skip", "switch-from-current");
    expect(past.code).toBe(0);
    expect(past.stdout).toMatch(
      /^no invariant violation in 72 events \(checked: lock-owner-alive, no-deadlock, one-cpu-at-a-time, no-run-after-exit\)$/m,
    );
    const only = await run(
      "check",
      out,
      "--invariant",
      "no-deadlock",
      "--invariant",
      "one-cpu-at-a-time",
      "--skip",
      "no-deadlock",
      "--json",
    );
    expect(JSON.parse(only.stdout).invariants).toEqual(["one-cpu-at-a-time"]);
    const none = await run("check", out, "--invariant", "no-deadlock", "--skip", "no-deadlock");
    expect(none.code).toBe(2);
    expect(none.stderr).toBe("ktrace: --skip no-deadlock leaves no invariant to check\n");
    const typo = await run("check", out, "--skip", "switch-from");
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/did you mean 'switch-from-current'/);
  });
});

describe("Bun/Deno parity", () => {
  it("the written .ktrace of each format is byte-identical", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ktrace-import-parity-"));
    for (const f of [
      "ftrace/lockdep-abba.txt",
      "real/trace-cmd-report.txt",
      "perf/perf-script-pid.txt",
      "babeltrace2/babeltrace2-context.txt",
    ]) {
      const outs = RUNTIMES.map((rt) => path.join(dir, `${rt}-${path.basename(f)}.ktrace`));
      const rs = await Promise.all(
        RUNTIMES.map((runtime, i) => runCli(["import", `${FIX}/${f}`, "-o", outs[i]!], { runtime })),
      );
      for (const r of rs) expect(r.code, f).toBe(0);
      expect(Buffer.compare(readFileSync(outs[0]!), readFileSync(outs[1]!)), f).toBe(0);
    }
  });

  it("the JSON report of each format is byte-identical", async () => {
    for (const f of ["ftrace/lockdep-abba.txt", "perf/perf-script-pid.txt", "babeltrace2/babeltrace2-plain.txt"]) {
      const [b, d] = await Promise.all(
        RUNTIMES.map((runtime) => runCli(["import", `${FIX}/${f}`, "--dry-run", "--json"], { runtime })),
      );
      expect(b!.code, f).toBe(0);
      expect(d!.stdout, f).toBe(b!.stdout);
    }
  });
});
