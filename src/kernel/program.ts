// Programs: what simulated threads run. A program is a list of ops; the
// simulator interprets one op per step, and kernel paths (fork, exit,
// waitpid, procfs reads, malloc's slow path) expand into several steps so
// that other CPUs can interleave between them.

import type { LockType } from "./types.ts";

export type Op =
  /** `n` steps of user code, each an event labelled `label`. */
  | { op: "user"; label: string; n: number }
  /** Acquire a user-space lock of this process (created on first use). */
  | { op: "lock"; lock: string }
  /** Release it. A recursive mutex checks the caller's ident against its recorded owner. */
  | { op: "unlock"; lock: string }
  /** Rewrite a held recursive mutex's owner ident with the caller's (CPython's _PyImport_ReInitLock). */
  | { op: "restamp"; lock: string }
  /** tcmalloc-style allocation of `size` bytes. */
  | { op: "malloc"; size: number }
  /** Return `size` bytes to the thread cache. */
  | { op: "free"; size: number }
  /** pthread_atfork: register handlers run around fork in this process. */
  | { op: "atfork"; prepare: Op[]; parent: Op[]; child: Op[] }
  /** fork(): the child's only thread runs `child`, then exits the process. */
  | { op: "fork"; child: Op[] }
  /** posix_spawn(): a child with a fresh address space runs `child`. */
  | { op: "spawn"; program: string; child: Op[] }
  /** execve(): replace this process's address space and run `body`. */
  | { op: "exec"; program: string; body: Op[] }
  /** pthread_create(): a new thread of this process runs `body`, then exits. */
  | { op: "thread"; body: Op[] }
  /** exit(code): every thread of the process exits. */
  | { op: "exit"; code: number }
  /** waitpid() for the last forked/spawned child (`child`) or any child (`any`). */
  | { op: "waitpid"; which: "child" | "any" }
  /** open + read /proc/<last child>/status. */
  | { op: "procfs"; file: "status" }
  /** Run `body` n times (Infinity: forever). */
  | { op: "repeat"; n: number; body: Op[] }
  /** A named function: one user event labelled `name`, then `body`. */
  | { op: "call"; name: string; body: Op[] };

/** A lock a scenario declares, with the type its memory has. */
export interface LockDecl {
  type: LockType;
  /** Fatal error message when a recursive mutex is unlocked by a non-owner. */
  badUnlock?: string;
}

/** A process that exists when the run starts. */
export interface ProcSpec {
  name: string;
  /** Program of the main thread; when it ends, the process exits with 0. */
  main: Op[];
}

// Builders: the scenario API. Each returns one op.
export const user = (label: string, n = 1): Op => ({ op: "user", label, n });
export const lock = (name: string): Op => ({ op: "lock", lock: name });
export const unlock = (name: string): Op => ({ op: "unlock", lock: name });
export const restamp = (name: string): Op => ({ op: "restamp", lock: name });
export const malloc = (size: number): Op => ({ op: "malloc", size });
export const free = (size: number): Op => ({ op: "free", size });
export const atfork = (h: { prepare?: Op[]; parent?: Op[]; child?: Op[] }): Op => ({
  op: "atfork", prepare: h.prepare ?? [], parent: h.parent ?? [], child: h.child ?? [],
});
export const fork = (child: Op[]): Op => ({ op: "fork", child });
export const spawn = (program: string, child: Op[]): Op => ({ op: "spawn", program, child });
export const exec = (program: string, body: Op[]): Op => ({ op: "exec", program, body });
export const thread = (body: Op[]): Op => ({ op: "thread", body });
export const exit = (code = 0): Op => ({ op: "exit", code });
export const waitpid = (which: "child" | "any" = "child"): Op => ({ op: "waitpid", which });
export const procfs = (file: "status" = "status"): Op => ({ op: "procfs", file });
export const repeat = (n: number, body: Op[]): Op => ({ op: "repeat", n, body });
export const call = (name: string, body: Op[] = []): Op => ({ op: "call", name, body });

const OP_NAMES = new Set([
  "user", "lock", "unlock", "restamp", "malloc", "free", "atfork", "fork", "spawn", "exec",
  "thread", "exit", "waitpid", "procfs", "repeat", "call",
]);

/**
 * Checks a program built by hand (a user scenario file may not use the
 * builders). Returns a message naming the first bad op, or null.
 */
export function validateProgram(ops: unknown, where: string): string | null {
  // The common case, a good program, builds no strings.
  return wellFormed(ops) ? null : describeBadOp(ops, where);
}

function wellFormed(ops: unknown): boolean {
  if (!Array.isArray(ops)) return false;
  for (const x of ops) {
    const o = x as Record<string, unknown> | null;
    if (!o || typeof o !== "object" || typeof o.op !== "string" || !OP_NAMES.has(o.op)) return false;
    const str = (k: string) => typeof o[k] === "string" && (o[k] as string).length > 0;
    const num = (k: string) => typeof o[k] === "number" && (o[k] as number) >= 0 && (Number.isInteger(o[k]) || o[k] === Infinity);
    let ok: boolean;
    switch (o.op) {
      case "user": ok = str("label") && num("n"); break;
      case "lock": case "unlock": case "restamp": ok = str("lock"); break;
      case "malloc": case "free": ok = num("size") && (o.size as number) > 0; break;
      case "exit": ok = num("code") && (o.code as number) < 256; break;
      case "waitpid": ok = o.which === "child" || o.which === "any"; break;
      case "procfs": ok = o.file === "status"; break;
      case "repeat": ok = num("n") && wellFormed(o.body); break;
      case "call": ok = str("name") && wellFormed(o.body); break;
      case "fork": ok = wellFormed(o.child); break;
      case "spawn": ok = str("program") && wellFormed(o.child); break;
      case "exec": ok = str("program") && wellFormed(o.body); break;
      case "thread": ok = wellFormed(o.body); break;
      case "atfork": ok = wellFormed(o.prepare) && wellFormed(o.parent) && wellFormed(o.child); break;
      default: ok = false;
    }
    if (!ok) return false;
  }
  return true;
}

/** The message for the first bad op of a program that is not well formed. */
function describeBadOp(ops: unknown, where: string): string | null {
  if (!Array.isArray(ops)) return `${where} is not a list of ops`;
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i] as Record<string, unknown> | null;
    const at = `${where}[${i}]`;
    if (!o || typeof o !== "object" || typeof o.op !== "string") return `${at} is not an op (use the builders: user(), lock(), fork(), ...)`;
    if (!OP_NAMES.has(o.op)) return `${at}: unknown op '${o.op}'`;
    const str = (k: string) => typeof o[k] === "string" && (o[k] as string).length > 0;
    const num = (k: string) => typeof o[k] === "number" && (o[k] as number) >= 0 && (Number.isInteger(o[k]) || o[k] === Infinity);
    let bad: string | null = null;
    switch (o.op) {
      case "user": bad = !str("label") ? "needs a label" : !num("n") ? "needs a count n >= 0" : null; break;
      case "lock": case "unlock": case "restamp": bad = str("lock") ? null : "needs a lock name"; break;
      case "malloc": case "free": bad = num("size") && (o.size as number) > 0 ? null : "needs a size > 0"; break;
      case "exit": bad = num("code") && (o.code as number) < 256 ? null : "needs an exit code 0..255"; break;
      case "waitpid": bad = o.which === "child" || o.which === "any" ? null : "needs which: 'child' or 'any'"; break;
      case "procfs": bad = o.file === "status" ? null : "only /proc/<pid>/status is modelled"; break;
      case "repeat":
        bad = !num("n") ? "needs a count n >= 0" : describeBadOp(o.body, `${at}.body`);
        break;
      case "call": bad = !str("name") ? "needs a name" : describeBadOp(o.body, `${at}.body`); break;
      case "fork": bad = describeBadOp(o.child, `${at}.child`); break;
      case "spawn": bad = !str("program") ? "needs a program name" : describeBadOp(o.child, `${at}.child`); break;
      case "exec": bad = !str("program") ? "needs a program name" : describeBadOp(o.body, `${at}.body`); break;
      case "thread": bad = describeBadOp(o.body, `${at}.body`); break;
      case "atfork":
        bad = describeBadOp(o.prepare, `${at}.prepare`) ?? describeBadOp(o.parent, `${at}.parent`) ?? describeBadOp(o.child, `${at}.child`);
        break;
    }
    if (bad) return bad.startsWith(where) ? bad : `${at} (${o.op}) ${bad}`;
  }
  return null;
}
