// --invariant names are checked against the trace's invariants (the built-ins,
// and the scenario's own once traces carry them), with "did you mean".

import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  BUILT_IN,
  BUILTIN_INVARIANT_NAMES,
  checkInvariantNames,
  defaultInvariantNames,
  INVARIANTS,
  invariantNames,
  openSource,
  UnknownInvariantError,
} from "../src/replay/index.ts";

const src = () => openSource(path.join(import.meta.dirname, "..", "traces", "tcmalloc-fork.ktrace"));

describe("invariant names", () => {
  it("lists every built-in invariant for a trace (the opt-in ones too); its default set leaves out those its world does not opt in to", () => {
    const s = src();
    expect(invariantNames(s)).toEqual(BUILT_IN.map((i) => i.name));
    expect(BUILTIN_INVARIANT_NAMES).toEqual(BUILT_IN.map((i) => i.name));
    expect(invariantNames(s)).toContain("lock-order");
    expect(defaultInvariantNames(s)).toEqual(INVARIANTS.map((i) => i.name));
    expect(defaultInvariantNames(s)).not.toContain("lock-order");
    expect(defaultInvariantNames(s)).not.toContain("zombie-leak");
    const opted = { meta: { ...s.meta, config: { ...s.meta.config, lockOrder: true } } };
    expect(defaultInvariantNames(opted)).toContain("lock-order");
    expect(defaultInvariantNames(opted)).not.toContain("zombie-leak");
    s.close();
  });

  it("accepts known names and refuses the first unknown one, with the closest name for a typo", () => {
    const s = src();
    expect(() => checkInvariantNames([], s)).not.toThrow();
    expect(() => checkInvariantNames(["no-panic", "vmar-live"], s)).not.toThrow();
    const typo = (() => {
      try {
        checkInvariantNames(["no-panic", "lock-owner-alve", "zzz"], s);
      } catch (e) {
        return e;
      }
    })() as UnknownInvariantError;
    expect(typo).toBeInstanceOf(UnknownInvariantError);
    expect(typo.exitCode).toBe(2);
    expect(typo.near).toBe("lock-owner-alive");
    expect(typo.message).toBe(
      `unknown invariant 'lock-owner-alve' (did you mean 'lock-owner-alive'?); invariants of this trace: ${BUILTIN_INVARIANT_NAMES.join(", ")}`,
    );
    expect(() => checkInvariantNames(["zzz"], s)).toThrow(/^unknown invariant 'zzz'; invariants of this trace: /);
    s.close();
  });
});
