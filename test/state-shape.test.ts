// One shape per kernel object: every thread, process, lock and cpu the fold or
// fromPlain makes has all its constructor's fields (apply.ts: threadObj, procObj,
// lockObj, cpuObj), optional ones undefined, for its whole life (the fold sets a
// field to undefined, never deletes it); a snapshot packs only the defined ones,
// in the constructor's order; and a snapshot written in the older key order (the
// order the fold happened to add fields in, before this rule) reads as the same
// state as one folded from the start.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { importTrace } from "../src/import/index.ts";
import { applyEvent, cloneState, fromPlain, initState, type KState, toPlain } from "../src/kernel/index.ts";
import { OBJECT_KEYS } from "../src/kernel/state.ts";
import { prepare, run } from "../src/record/index.ts";
import { packr } from "../src/trace/format.ts";
import { openTrace } from "../src/trace/index.ts";
import { REPO_ROOT } from "./helpers/run-cli.ts";

const KEYS = OBJECT_KEYS;

/** The first object of s whose keys are not its constructor's, described; null when all are. */
function offShape(s: KState): string | null {
  const check = (what: keyof typeof KEYS, o: object) => {
    const k = Object.keys(o).join(",");
    return k === KEYS[what].join(",") ? null : `${what} ${k}`;
  };
  for (const t of s.threads.values()) {
    const bad = check("thread", t);
    if (bad) return bad;
  }
  for (const p of s.procs.values()) {
    const bad = check("proc", p);
    if (bad) return bad;
  }
  for (const l of s.locks.values()) {
    const bad = check("lock", l);
    if (bad) return bad;
  }
  for (const c of s.cpus) {
    const bad = check("cpu", c);
    if (bad) return bad;
  }
  return null;
}

/** A plain object's keys are an ordered subset of `keys` and none is undefined. */
function packedIn(o: object, keys: readonly string[]): boolean {
  let i = 0;
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) return false;
    while (i < keys.length && keys[i] !== k) i++;
    if (i === keys.length) return false;
    i++;
  }
  return true;
}

// Targets whose runs set and clear the optional fields: signals and masks, handlers,
// priorities, pipes and descriptors, registers, procfs references, futex waits.
const TARGETS = [
  "stress",
  "tcmalloc-fork",
  "asterinas-procfs",
  "cpython-fork-serenity",
  "fixtures/scenarios/self-pipe.ts",
  "fixtures/scenarios/handles.ts",
  "fixtures/scenarios/fork-exec.ts",
  "fixtures/scenarios/two-consumers.ts",
  "fixtures/scenarios/refcount.ts",
];

describe("one shape per kernel object", () => {
  it.each(TARGETS)(
    "%s: the fold keeps every object's fields, and a snapshot's rebuild has them too",
    async (target) => {
      const p = await prepare({ target, seed: 1, maxEvents: 4000 });
      const problems: string[] = [];
      let n = 0;
      run(p, (ev, s) => {
        const bad = offShape(s);
        if (bad && problems.length < 3) problems.push(`after event ${ev.seq}: ${bad}`);
        if (ev.seq % 97 === 0) {
          const plain = toPlain(s);
          for (const t of plain.threads) if (!packedIn(t, KEYS.thread)) problems.push(`plain thread ${Object.keys(t)}`);
          for (const x of plain.procs) if (!packedIn(x, KEYS.proc)) problems.push(`plain proc ${Object.keys(x)}`);
          for (const x of plain.locks) if (!packedIn(x, KEYS.lock)) problems.push(`plain lock ${Object.keys(x)}`);
          for (const x of plain.cpus) if (!packedIn(x, KEYS.cpu)) problems.push(`plain cpu ${Object.keys(x)}`);
          const back = fromPlain(plain);
          const badBack = offShape(back);
          if (badBack) problems.push(`rebuilt at ${ev.seq}: ${badBack}`);
          // The rebuilt state packs to the same bytes as the state it came from.
          if (Buffer.compare(packr.pack(toPlain(back)), packr.pack(plain)) !== 0)
            problems.push(`repacked at ${ev.seq}`);
          // So does a copy (cloneState: the cursor's checkpoints), in the same shapes.
          const copy = cloneState(s);
          const badCopy = offShape(copy);
          if (badCopy) problems.push(`copied at ${ev.seq}: ${badCopy}`);
          if (Buffer.compare(packr.pack(toPlain(copy)), packr.pack(plain)) !== 0) problems.push(`copy at ${ev.seq}`);
          n++;
        }
      });
      expect(problems).toEqual([]);
      expect(n).toBeGreaterThan(0);
    },
  );

  it("the plain form packs no undefined field (msgpack would write one)", async () => {
    const p = await prepare({ target: "fixtures/scenarios/self-pipe.ts", seed: 1, maxEvents: 4000 });
    const s = run(p);
    const text = JSON.stringify(toPlain(s), (_k, v) => (v === undefined ? "UNDEFINED" : v));
    expect(text).not.toContain("UNDEFINED");
  });
});

describe("snapshots in the older key order", () => {
  // Frozen copies of traces written before one shape per object (fixtures/traces/key-order/README.md).
  const DIR = join(REPO_ROOT, "fixtures", "traces", "key-order");
  const files = readdirSync(DIR).filter((f) => f.endsWith(".ktrace"));
  it("are there", () => expect(files.length).toBeGreaterThanOrEqual(2));
  it.each(files)("%s: every snapshot reads as the state folded from the start, in the objects' one shape", (file) => {
    const r = openTrace(join(DIR, file));
    try {
      const seqs = r.snapshotSeqs;
      expect(seqs.length).toBeGreaterThan(1);
      const s = initState(r.meta.config);
      let k = 0;
      const compare = () => {
        const snap = r.loadSnapshot(seqs[k]!);
        expect(snap.seq).toBe(seqs[k]);
        expect(offShape(snap.state)).toBeNull();
        expect(Buffer.compare(packr.pack(toPlain(snap.state)), packr.pack(toPlain(s))), `snapshot at ${seqs[k]}`).toBe(
          0,
        );
        k++;
      };
      while (k < seqs.length && seqs[k] === -1) compare();
      for (const ev of r.events()) {
        applyEvent(s, ev);
        while (k < seqs.length && seqs[k] === ev.seq) compare();
      }
      expect(k).toBe(seqs.length);
    } finally {
      r.close();
    }
  });
});

describe("imported traces", () => {
  // Their objects carry the imported fields (a thread's comm, cpu, onSeq, offSeq; a cpu's switchSeq, ctx, lostSeq).
  const dir = mkdtempSync(join(tmpdir(), "ktrace-state-shape-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it.each([
    "fixtures/import/ftrace/tracefs.txt",
    "fixtures/import/real/tracefs-irqinfo.txt",
    "fixtures/import/perf/perf-script.txt",
  ])("%s: every object keeps its constructor's fields, and every snapshot reads as the fold's state", async (input) => {
    const out = join(dir, `${input.replace(/\W/g, "_")}.ktrace`);
    await importTrace(join(REPO_ROOT, input), out, { writer: "ktrace test" });
    const r = openTrace(out);
    try {
      const seqs = r.snapshotSeqs;
      const s = initState(r.meta.config);
      const problems: string[] = [];
      let k = 0;
      const compare = () => {
        const snap = r.loadSnapshot(seqs[k]!).state;
        const bad = offShape(snap);
        if (bad) problems.push(`snapshot at ${seqs[k]}: ${bad}`);
        if (Buffer.compare(packr.pack(toPlain(snap)), packr.pack(toPlain(s))) !== 0)
          problems.push(`snapshot at ${seqs[k]} differs`);
        k++;
      };
      while (k < seqs.length && seqs[k] === -1) compare();
      for (const ev of r.events()) {
        applyEvent(s, ev);
        const bad = offShape(s);
        if (bad && problems.length < 3) problems.push(`after event ${ev.seq}: ${bad}`);
        while (k < seqs.length && seqs[k] === ev.seq) compare();
      }
      expect(problems).toEqual([]);
      expect(k).toBe(seqs.length);
      expect(r.eventCount).toBeGreaterThan(0);
    } finally {
      r.close();
    }
  });
});
