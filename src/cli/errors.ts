// Errors the CLI reports to users.
//
// Contract with every layer: an error object with a numeric `exitCode` is a user-facing
// error. main.ts prints it as ONE line `ktrace: <message>[ (<hint>)]` on stderr and exits
// with that code, without a stack (unless --verbose). Other layers (trace, replay, ...)
// define their own error classes; they do not need to extend KtraceError, they only need
// `message` and a numeric `exitCode` (and may carry a `hint`). Anything else thrown is a
// bug in ktrace: exit 3.

/** Exit codes, as documented in the README. */
export const EXIT = {
  /** Success, or nothing found. */
  OK: 0,
  /** Something found: a violation (check), a failing seed (explore). */
  FOUND: 1,
  /** Bad input or usage: unknown flag, bad value, unreadable or invalid file. */
  USAGE: 2,
  /** A bug in ktrace (an unexpected exception). */
  INTERNAL: 3,
} as const;

export class KtraceError extends Error {
  override name = "KtraceError";
  readonly exitCode: number;
  /** What to do about it; printed after the message in parentheses. */
  readonly hint?: string;

  constructor(message: string, options: { exitCode?: number; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.exitCode = options.exitCode ?? EXIT.USAGE;
    if (options.hint !== undefined) this.hint = options.hint;
  }
}

/** Bad command line: unknown command or flag, bad value, missing argument. Exit 2. */
export class UsageError extends KtraceError {
  override name = "UsageError";
  constructor(message: string, hint?: string) {
    super(message, hint === undefined ? { exitCode: EXIT.USAGE } : { exitCode: EXIT.USAGE, hint });
  }
}

/** An error meant for the user: has a numeric exitCode. */
export interface UserFacingError {
  message: string;
  exitCode: number;
  hint?: string;
}

export function isUserFacingError(e: unknown): e is UserFacingError {
  return (
    typeof e === "object" &&
    e !== null &&
    typeof (e as { exitCode?: unknown }).exitCode === "number" &&
    Number.isInteger((e as { exitCode: number }).exitCode)
  );
}

/** Squash whitespace runs containing newlines so an error is always one line. */
export function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, " ").trim();
}

/** The one stderr line for an error (without trailing newline), and its exit code. */
export function describeError(e: unknown): { line: string; exitCode: number } {
  if (isUserFacingError(e)) {
    const hint = typeof e.hint === "string" && e.hint !== "" ? ` (${oneLine(e.hint)})` : "";
    return { line: `ktrace: ${oneLine(String(e.message))}${hint}`, exitCode: e.exitCode };
  }
  const msg = e instanceof Error ? e.message : String(e);
  return {
    line: `ktrace: internal error: ${oneLine(msg)} (run with --verbose for the stack)`,
    exitCode: EXIT.INTERNAL,
  };
}
