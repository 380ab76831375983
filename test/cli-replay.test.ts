// ktrace check, state and events, end to end on recorded traces (Bun; one Deno parity run).
import { describe, expect, it } from "vitest";
import { EVENT_KINDS, KIND } from "../src/kernel/index.ts";
import { INVARIANTS, openSource } from "../src/replay/index.ts";
import { allEvents, traceFile } from "./helpers/replay-sources.ts";
import { runCli } from "./helpers/run-cli.ts";

const BUGGY: [string, string, RegExp][] = [
  [
    "cpython-fork-serenity",
    "recursive-mutex-owner",
    /^tid 45 in pid 2 unlocks import_lock \(recursive\), owned by ident 44, but its own ident is 45/,
  ],
  [
    "tcmalloc-fork",
    "lock-owner-alive",
    /^tid 3 \(pid 2\) spins on tcmalloc\.SlowTLS held by tid 2, which does not exist in pid 2 \(copied at fork, seq \d+\)$/,
  ],
  ["rcore-kstack", "kstack-in-use", /^kernel stack 1 of tid 1 freed while cpu 0 still runs on it/],
  ["asterinas-procfs", "vmar-live", /^tid 1 reads \/proc\/2\/status and unwraps pid 2's root VMAR/],
];
const ROOT_KIND: Record<string, number> = {
  "cpython-fork-serenity": KIND.unlockNotOwner,
  "tcmalloc-fork": KIND.lockWait, // the child's first use of the copied lock; the fork is among the causes
  "rcore-kstack": KIND.kstackFree,
  "asterinas-procfs": KIND.procfsRead,
};

describe("ktrace check", () => {
  for (const [scenario, invariant, message] of BUGGY) {
    it(`${scenario} (buggy default): names ${invariant} at the root-cause event and exits 1`, async () => {
      const file = await traceFile(scenario);
      const r = await runCli(["check", file, "--json"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe("");
      const doc = JSON.parse(r.stdout);
      const src = openSource(file);
      const root = allEvents(src).find(
        (e) =>
          e.kind === ROOT_KIND[scenario] &&
          (e.kind !== KIND.procfsRead || e.b === 2) &&
          (e.kind !== KIND.lockWait || e.tid === 3),
      )!;
      if (scenario === "tcmalloc-fork") {
        const fork = allEvents(src).find((e) => e.kind === KIND.fork)!;
        expect(doc.violation.causes.map((c: { seq: number }) => c.seq)).toContain(fork.seq);
      }
      src.close();
      expect(doc.violation).toMatchObject({ invariant, seq: root.seq, kind: EVENT_KINDS[root.kind]!.name });
      expect(doc.violation.message).toMatch(message);
      expect(doc.scanned).toBe(root.seq + 1);
      expect(doc.violation.causes.length).toBeGreaterThan(0);
      expect(doc.violation.context.length).toBeGreaterThan(0);
      const text = await runCli(["check", file]);
      expect(text.code).toBe(1);
      expect(text.stdout.split("\n")[0]).toBe(
        `VIOLATION ${invariant} at seq ${root.seq} (${doc.violation.kind}, cpu ${doc.violation.cpu}, tid ${doc.violation.tid}, t=${doc.violation.time} ns)`,
      );
      expect(text.stdout).toContain("events that led to it:");
    });
  }

  const FIXED: [string, string][] = [
    ["cpython-fork-serenity", "reinit-lock"],
    ["cpython-fork-serenity", "linux"],
    ["tcmalloc-fork", "atfork-2.17"],
    ["tcmalloc-fork", "posix-spawn"],
    ["rcore-kstack", "pr146"],
    ["asterinas-procfs", "none-check"],
  ];
  it("every fixed variant: no violation, exit 0", async () => {
    for (const [scenario, fix] of FIXED) {
      const file = await traceFile(scenario, { fix });
      const r = await runCli(["check", file, "--json"]);
      expect(r.code, `${scenario} --fix ${fix}`).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc.violation).toBeNull();
      expect(doc.scanned).toBe(doc.events);
    }
    const t = await runCli(["check", await traceFile("rcore-kstack", { fix: "pr146" })]);
    expect(t.stdout).toBe(
      `no invariant violation in ${t.stdout.match(/in (\d+) events/)![1]} events (checked: ${INVARIANTS.map((i) => i.name).join(", ")})\n`,
    );
  });

  it("--invariant selects; a bad name or file exits 2 with one line", async () => {
    const file = await traceFile("rcore-kstack");
    const only = await runCli(["check", file, "--invariant", "no-panic", "--invariant", "vmar-live", "--json"]);
    expect(only.code).toBe(0);
    expect(JSON.parse(only.stdout).invariants).toEqual(["no-panic", "vmar-live"]);
    const bad = await runCli(["check", file, "--invariant", "kstack-in-us"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toMatch(
      /^ktrace: unknown invariant 'kstack-in-us' \(did you mean 'kstack-in-use'\?\); invariants of this trace: recursive-mutex-owner, /,
    );
    const missing = await runCli(["check", "/nonexistent/x.ktrace"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("ktrace state", () => {
  it("--at violation --json: the contract's fields, why-data on locks", async () => {
    const file = await traceFile("tcmalloc-fork");
    const r = await runCli(["state", file, "--at", "violation", "--json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    for (const k of ["seq", "cpus", "processes", "threads", "locks", "kstacks", "vmars"]) expect(doc).toHaveProperty(k);
    expect(doc.event.kind).toBe("lock-wait");
    const slow = doc.locks.find((l: { name: string; space: number }) => l.name === "tcmalloc.SlowTLS" && l.space === 2);
    expect(slow).toMatchObject({ owner: 2, level: 1, ownerAlive: false, waiters: [3] });
    expect(slow.copiedSeq).toBeLessThan(doc.seq);
    expect(slow.ownerSince).toBeLessThan(slow.copiedSeq);
    for (const t of doc.threads)
      expect(Object.keys(t)).toEqual(expect.arrayContaining(["tid", "pid", "state", "ident"]));
    for (const p of doc.processes)
      expect(Object.keys(p)).toEqual(expect.arrayContaining(["pid", "ppid", "state", "vmar"]));
    for (const k of doc.kstacks) expect(Object.keys(k)).toEqual(expect.arrayContaining(["id", "tid", "state"]));
  });

  it("--at N|start|end|panic as text tables; vmar null once cleared", async () => {
    const file = await traceFile("asterinas-procfs");
    const p = await runCli(["state", file, "--at", "panic", "--json"]);
    const doc = JSON.parse(p.stdout);
    expect(doc.event.kind).toBe("panic");
    expect(doc.processes.find((x: { pid: number }) => x.pid === 2).vmar).toBeNull();
    const t = await runCli(["state", file, "--at", "5"]);
    expect(t.code).toBe(0);
    expect(t.stdout.split("\n")[0]).toMatch(/^at event 5 \(/);
    expect(t.stdout).toMatch(/\nlocks \(\d+\)\n {2}id {2}name/);
    const s = await runCli(["state", file, "--at", "start"]);
    expect(s.stdout.split("\n")[0]).toBe("at the start (before event 0)");
    const e = await runCli(["state", file, "--at", "end", "--json"]);
    expect(JSON.parse(e.stdout).event.kind).toBe("end");
  });

  it("--at panic|violation on a trace without one, or a seq past the end: one stderr line, exit 2", async () => {
    const file = await traceFile("asterinas-procfs", { fix: "none-check" });
    for (const at of ["panic", "violation", "100000"]) {
      const r = await runCli(["state", file, "--at", at]);
      expect(r.code, at).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n"), at).toHaveLength(1);
    }
    expect((await runCli(["state", file, "--at", "panic"])).stderr).toBe(
      "ktrace: the trace has no panic, fatal error or hang (outcome: ok)\n",
    );
  });
});

describe("ktrace events", () => {
  it("text: one aligned line per event; --from/--to inclusive", async () => {
    const file = await traceFile("cpython-fork-serenity");
    const r = await runCli(["events", file, "--from", "9", "--to", "13"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^ 9 +\d+ +0 +44 lock-new +lock 2 import_lock \(recursive\) created in pid 1$/);
    expect(lines[4]).toMatch(/^13 +\d+ +0 +44 fork +fork: pid 1 → child pid 2 \(tid 45\), 1 lock copied$/);
    expect(lines[0]!.indexOf("lock 2 import_lock")).toBe(lines[4]!.indexOf("fork: pid")); // the description column lines up
  });

  it("--json: JSON lines with kind name, named args and desc; --kind globs and lists", async () => {
    const file = await traceFile("tcmalloc-fork");
    const r = await runCli(["events", file, "--kind", "lock-wait,fork", "--json"]);
    expect(r.code).toBe(0);
    const rows = r.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(new Set(rows.map((x) => x.kind))).toEqual(new Set(["lock-wait", "fork"]));
    const fork = rows.find((x) => x.kind === "fork");
    expect(fork).toMatchObject({ args: { pid: 1, child: 2, childTid: 3 }, cpu: 0, tid: 1 });
    expect(fork.desc).toMatch(/tcmalloc\.SlowTLS held by tid 2/);
    const spin = rows.find((x) => x.kind === "lock-wait" && x.tid === 3);
    expect(spin.desc).toBe("tid 3 spins on tcmalloc.SlowTLS, held by tid 2");
    const glob = await runCli(["events", file, "--kind", "lock-*"]);
    expect(
      glob.stdout
        .trimEnd()
        .split("\n")
        .every((l) => / lock-(new|acquire|wait|release|restamp) /.test(l)),
    ).toBe(true);
  });

  it("bad --kind or range: exit 2; an empty range prints nothing", async () => {
    const file = await traceFile("tcmalloc-fork");
    const k = await runCli(["events", file, "--kind", "lokc-*"]);
    expect(k.code).toBe(2);
    expect(k.stderr).toMatch(/^ktrace: kind pattern 'lokc-\*' matches no event kind/);
    const range = await runCli(["events", file, "--from", "10", "--to", "5"]);
    expect(range.code).toBe(2);
    const past = await runCli(["events", file, "--from", "100000"]);
    expect(past.code).toBe(0);
    expect(past.stdout).toBe("");
  });

  it("the same output under Deno", async () => {
    const file = await traceFile("rcore-kstack");
    for (const args of [
      ["events", file, "--json"],
      ["check", file, "--json"],
      ["state", file, "--at", "violation", "--json"],
      ["why", file, "kstack:1", "--at", "violation"],
    ]) {
      const [b, d] = await Promise.all([runCli(args, { runtime: "bun" }), runCli(args, { runtime: "deno" })]);
      expect(d.code).toBe(b.code);
      expect(d.stdout).toBe(b.stdout);
    }
  });
});

describe("ktrace why", () => {
  it("a lock copied at fork: who took it and the fork that copied it, in text and JSON", async () => {
    const file = await traceFile("tcmalloc-fork");
    const src = openSource(file);
    const fork = allEvents(src).find((e) => e.kind === KIND.fork)!;
    src.close();
    const j = await runCli(["why", file, "lock:tcmalloc.SlowTLS@2", "--at", "violation", "--json"]);
    expect(j.code).toBe(0);
    const doc = JSON.parse(j.stdout);
    expect(doc.object).toMatchObject({
      kind: "lock",
      title: expect.stringMatching(/^lock tcmalloc\.SlowTLS \(spin, pid 2; owner tid 2/),
    });
    const roles = doc.entries.map((e: { role: string; seq: number }) => `${e.role}@${e.seq}`);
    expect(roles).toContain(`copied@${fork.seq}`);
    expect(doc.entries[0].role).toBe("owner");
    expect(doc.entries[0].event.kind).toBe("lock-acquire");
    const t = await runCli(["why", file, "lock:tcmalloc.SlowTLS@2", "--at", "violation"]);
    expect(t.code).toBe(0);
    const lines = t.stdout.split("\n");
    expect(lines[0]).toBe(`lock tcmalloc.SlowTLS (spin, pid 2; owner tid 2, level 1), after event ${doc.seq}:`);
    expect(lines[1]).toMatch(/^ {2}seq {2}role +why$/);
    expect(t.stdout).toContain(`fork copied tcmalloc.SlowTLS into pid 2, held by tid 2, which does not exist in pid 2`);
    expect(t.stdout).toMatch(/\n {15}event: fork: pid 1 → child pid 2/);
  });

  it("without --at: the end of the trace; an object the state lacks, or none given: one line, exit 2", async () => {
    const file = await traceFile("rcore-kstack");
    const end = await runCli(["why", file, "kstack:1", "--json"]);
    expect(end.code).toBe(0);
    const src = openSource(file);
    expect(JSON.parse(end.stdout).seq).toBe(src.eventCount - 1);
    src.close();
    const none = await runCli(["why", file, "lock:no-such-lock"]);
    expect(none.code).toBe(2);
    expect(none.stderr.trim().split("\n")).toHaveLength(1);
    expect(none.stderr).toMatch(/^ktrace: no lock named 'no-such-lock' at seq \d+ \(objects: lock:ID/);
    const bad = await runCli(["why", file, "kstack:x\u001b[2J"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).not.toContain("\u001b");
    const missing = await runCli(["why", file]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^ktrace: why needs an object/);
  });
});
