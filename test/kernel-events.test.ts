// Named event fields (ev.* constructors, fieldsOf) against the one kind table,
// and applyEvent on hostile input: only ApplyError, never a TypeError.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ApplyError,
  applyEvent,
  cloneState,
  EVENT_KINDS,
  ev,
  fieldsAs,
  fieldsOf,
  initState,
  type KEvent,
  KIND,
  type KState,
} from "../src/kernel/index.ts";
import { prepare, run } from "../src/record/index.ts";

const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

describe("event constructors", () => {
  it("there is one per kind, named as KIND, and each puts every named field in the slot the table gives", () => {
    expect(Object.keys(ev).sort()).toEqual(Object.keys(KIND).sort());
    EVENT_KINDS.forEach((info, code) => {
      const make = (ev as unknown as Record<string, (f: Record<string, unknown>) => KEvent>)[camel(info.name)]!;
      const fields: Record<string, number | string> = {};
      info.args.forEach((a, i) => {
        fields[a] = 101 + i;
      });
      if (info.str !== undefined) fields[info.str] = `str-${info.name}`;
      if (info.name === "end") fields.message = "msg";
      const e = make(fields);
      expect(e.kind, info.name).toBe(code);
      expect([e.a, e.b, e.c].slice(0, info.args.length), info.name).toEqual(info.args.map((_, i) => 101 + i));
      expect(
        [e.a, e.b, e.c].slice(info.args.length).every((x) => x === 0),
        info.name,
      ).toBe(true);
      expect(e.s, info.name).toBe(info.str !== undefined ? `str-${info.name}` : info.name === "end" ? "msg" : "");
      expect({ seq: e.seq, time: e.time, cpu: e.cpu, tid: e.tid }).toEqual({ seq: 0, time: 0, cpu: -1, tid: -1 });
      // fieldsOf reads back what the constructor put in.
      const back = fieldsOf(e);
      for (const [k, v] of Object.entries(fields))
        if (k !== "message" || info.name !== "end") expect(back[k], `${info.name}.${k}`).toBe(v);
    });
  });
  it("fieldsAs is typed by kind and null for another kind", () => {
    const e = ev.lockAcquire({ lock: 7, level: 2 });
    expect(fieldsAs(e, "lock-acquire")).toEqual({ lock: 7, level: 2, inferred: 0 });
    expect(fieldsAs(e, "lock-release")).toBeNull();
    expect(fieldsOf({ ...e, kind: 9999 })).toEqual({ a: 7, b: 2, c: 0 });
  });
});

/** States from the middle of real runs, to apply garbage to. */
async function someStates(): Promise<KState[]> {
  const out: KState[] = [];
  for (const target of ["tcmalloc-fork", "rcore-kstack", "asterinas-procfs", "cpython-fork-serenity"]) {
    const p = await prepare({ target });
    let n = 0;
    run(p, (_e, s) => {
      if (n++ % 17 === 5) out.push(cloneState(s));
    });
  }
  return out;
}

describe("applyEvent on hostile events", async () => {
  const states = await someStates();
  const num = fc.oneof(
    fc.integer({ min: -3, max: 20 }),
    fc.constantFrom(-1, 0, 1, 2, 2 ** 31, -(2 ** 53), Number.MAX_SAFE_INTEGER, 0.5, Infinity, -Infinity, NaN),
  );
  const event = fc.record({
    dseq: fc.constantFrom(1, 1, 1, 1, 0, 2),
    time: num,
    cpu: num,
    tid: num,
    kind: fc.oneof(fc.integer({ min: 0, max: EVENT_KINDS.length + 2 }), num),
    a: num,
    b: num,
    c: num,
    s: fc.oneof(fc.constant(""), fc.string({ maxLength: 8 })),
  });
  it("throws ApplyError or nothing, for any event against any state", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: states.length - 1 }),
        fc.array(event, { minLength: 1, maxLength: 12 }),
        (si, evs) => {
          const s = cloneState(states[si]!);
          for (const e of evs) {
            const k: KEvent = {
              seq: s.seq + e.dseq,
              time: e.time,
              cpu: e.cpu,
              tid: e.tid,
              kind: e.kind,
              a: e.a,
              b: e.b,
              c: e.c,
              s: e.s,
            };
            try {
              applyEvent(s, k);
            } catch (err) {
              if (!(err instanceof ApplyError))
                throw new Error(`${(err as Error).name} for ${JSON.stringify(k)}: ${(err as Error).message}`);
              return;
            }
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
  it("refuses ids reused by a new object", () => {
    const s = initState({
      cpus: 1,
      tidAfterFork: "inherit",
      kstackFree: "deferred",
      stackCheck: "silent",
      procfsVmar: "check",
    });
    applyEvent(s, { ...ev.procNew({ pid: 1, ppid: 0, name: "init" }), seq: 0 });
    expect(() => applyEvent(s, { ...ev.procNew({ pid: 1, ppid: 0, name: "again" }), seq: 1 })).toThrow(
      /process 1 already exists/,
    );
  });
});
