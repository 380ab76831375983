// The invariant names a trace can be checked against, and the check of the
// names a user gives (`ktrace check --invariant NAME`) against them, with
// "did you mean". The built-in invariants, plus the trace's own: scenarios
// are to declare their own invariants, whose names travel in the trace's
// header, so the list depends on the trace. invariantNames is the one place
// that list is made.

import { suggest } from "../util/suggest.ts";
import { BUILT_IN, INVARIANT_NAMES, inDefaultSet } from "./invariants.ts";
import type { ReplaySource } from "./source.ts";

/** The built-in invariants' names, in their order. */
export const BUILTIN_INVARIANT_NAMES: readonly string[] = INVARIANT_NAMES;

/** Every invariant name `source` can be checked against: the built-ins, then the trace's own (from its header). */
export function invariantNames(source: Pick<ReplaySource, "meta">): string[] {
  const own = source.meta.invariantError ? [] : (source.meta.invariants ?? []).map((d) => d.name);
  return [...BUILTIN_INVARIANT_NAMES, ...own.filter((n) => !BUILTIN_INVARIANT_NAMES.includes(n))];
}

/** The names of the invariants `source` is checked against when none is named: its default set (the opt-in ones its world sets: inDefaultSet), then its own. */
export function defaultInvariantNames(source: Pick<ReplaySource, "meta">): string[] {
  const off = BUILT_IN.filter((i) => !inDefaultSet(i, source.meta.config)).map((i) => i.name);
  return invariantNames(source).filter((n) => !off.includes(n));
}

/** A name given for an invariant the trace has none of. exitCode 2. */
export class UnknownInvariantError extends Error {
  readonly exitCode = 2;
  override readonly name = "UnknownInvariantError";
  /** The closest known name, if one is close enough to be a typo. */
  readonly near: string | undefined;
  constructor(given: string, known: readonly string[]) {
    const near = suggest(given, known);
    super(
      `unknown invariant '${given}'${near ? ` (did you mean '${near}'?)` : ""}; invariants of this trace: ${known.join(", ")}`,
    );
    this.near = near;
  }
}

/** Checks each name against invariantNames(source); throws UnknownInvariantError for the first one it does not have. */
export function checkInvariantNames(names: readonly string[], source: Pick<ReplaySource, "meta">): void {
  const known = invariantNames(source);
  for (const n of names) if (!known.includes(n)) throw new UnknownInvariantError(n, known);
}

/**
 * The names to check for `--invariant` (only), `--also` and `--skip`, each
 * checked as checkInvariantNames does: `only` (the trace's default set when
 * it is empty: defaultInvariantNames) with `also` added (an opt-in one beside
 * the default set: `--also lock-order`), less `skip`; undefined for "all"
 * (none given). Throws NothingToCheckError when skip leaves none.
 */
export function chosenInvariantNames(
  only: readonly string[],
  skip: readonly string[],
  source: Pick<ReplaySource, "meta">,
  also: readonly string[] = [],
): string[] | undefined {
  checkInvariantNames(only, source);
  checkInvariantNames(skip, source);
  checkInvariantNames(also, source);
  if (skip.length === 0 && also.length === 0) return only.length > 0 ? [...only] : undefined;
  const base = only.length > 0 ? only : defaultInvariantNames(source);
  const names = [...base, ...also.filter((n) => !base.includes(n))].filter((n) => !skip.includes(n));
  if (names.length === 0) throw new NothingToCheckError(skip);
  return names;
}

/** --skip named every invariant there was to check. exitCode 2. */
export class NothingToCheckError extends Error {
  readonly exitCode = 2;
  override readonly name = "NothingToCheckError";
  constructor(skip: readonly string[]) {
    super(`--skip ${skip.join(", ")} leaves no invariant to check`);
  }
}
