// Memory and variables: shared variables, registers, expressions, objects,
// and the program's own checks (assert, BUG_ON, unwrap).
//
// Variables are created on first use (var-new), like locks: a "user"
// variable in each address space that names it (fork copies it), a "kernel"
// one once, a "proc" one in each process's kernel struct. Every access is one
// step and one event naming the thread, the variable, and the value(s) it saw
// and left (load, store, atomic-load, atomic-store, cas, fetch-add, xchg), so
// replay, watchpoints and race detection see every access. Under the tso
// memory model a store enters the thread's store buffer and a load sees the
// thread's own buffered stores first (tso.ts has the rules). Expressions read
// registers only: lower.ts turned variable reads into loads before the op.

import { AGAIN, DONE, KEEP, type PCtx, type R, SimError, type TCtx } from "./ctx.ts";
import { ev } from "./events.ts";
import { COST } from "./params.ts";
import { abort } from "./proc.ts";
import type { BinOp, Expr, Op, VarRef } from "./program.ts";
import type { Simulator, World } from "./sim.ts";
import { makeRoom, viewOf } from "./tso.ts";
import { OUTCOME_KINDS, type Thread, VAR_TYPES, type VarType } from "./types.ts";
import { declOf } from "./validate.ts";

/** Evaluating an expression divided by zero. */
class DivByZero extends Error {}

/**
 * The one definition of the binary operators, on 32-bit ints: + - * wrap, /
 * and % truncate, comparisons and logic give 1 or 0. Null for a division by
 * zero (a program's step fails; an invariant reads it as 0).
 */
export function binOp(op: BinOp, l: number, r: number): number | null {
  switch (op) {
    case "+":
      return (l + r) | 0;
    case "-":
      return (l - r) | 0;
    case "*":
      return Math.imul(l, r);
    case "/":
      return r === 0 ? null : Math.trunc(l / r) | 0;
    case "%":
      return r === 0 ? null : (l % r) | 0;
    case "==":
      return l === r ? 1 : 0;
    case "!=":
      return l !== r ? 1 : 0;
    case "<":
      return l < r ? 1 : 0;
    case "<=":
      return l <= r ? 1 : 0;
    case ">":
      return l > r ? 1 : 0;
    case ">=":
      return l >= r ? 1 : 0;
    case "&&":
      return l !== 0 && r !== 0 ? 1 : 0;
    case "||":
      return l !== 0 || r !== 0 ? 1 : 0;
  }
}

/** The value of a lowered expression (registers and literals only) for thread th. */
export function evalExpr(e: Expr, th: Thread): number {
  switch (e.e) {
    case "int":
      return e.v;
    case "none":
      return 0;
    case "reg":
      return th.regs?.get(e.name) ?? 0;
    case "not":
    case "isNone":
      return evalExpr(e.x, th) === 0 ? 1 : 0;
    case "bin": {
      const v = binOp(e.op, evalExpr(e.l, th), evalExpr(e.r, th));
      if (v === null) throw new DivByZero();
      return v;
    }
    default:
      // var was lowered into a load; the state atoms are for invariants (the validator refuses them in programs).
      throw new SimError(`expression '${e.e}' cannot run in a program`);
  }
}

/** An expression's type at run time (the validator already checked it). */
function typeOf(k: Simulator, e: Expr): VarType {
  if (e.e === "none") return "ptr";
  if (e.e === "reg") return k.state.regTypes.get(e.name) ?? "int";
  return "int";
}

/**
 * The program's own check failed (assert, BUG_ON, unwrap of None, NULL
 * dereference, double free, division by zero): emits assert-fail, then in
 * kernel mode panic and end (the machine stops), in user mode fatal and the
 * process exits by the signal.
 */
export function fail(k: Simulator, t: TCtx, c: number, kernel: boolean, message: string, signal = 6): R {
  k.emit(c, t.tid, ev.assertFail({ kernel: kernel ? 1 : 0, message }));
  if (!kernel) return abort(k, t, c, message, signal);
  k.emit(c, t.tid, ev.panic({ message }));
  k.emit(c, -1, ev.end({ outcome: OUTCOME_KINDS.indexOf("panic"), message }));
  return KEEP;
}

/** Evaluates e for t; on a division by zero the step fails (returns null after emitting). */
export function value(k: Simulator, t: TCtx, c: number, kernel: boolean, e: Expr): number | null {
  try {
    return evalExpr(e, k.state.threads.get(t.tid)!);
  } catch (err) {
    if (!(err instanceof DivByZero)) throw err;
    fail(k, t, c, kernel, "attempt to divide by zero", 8);
    return null;
  }
}

// ---- variables --------------------------------------------------------------------

/** The table that maps names to ids for a variable of `scope` seen from process pc (or the kernel's). */
function table(k: Simulator, scope: string, pc: PCtx): Map<string, number> {
  return scope === "kernel" ? k.kernelVars : scope === "proc" ? pc.fieldIds : pc.varIds;
}

/**
 * Whether a run of `world` can emit an access event (load, store, atomic-load,
 * atomic-store, cas, fetch-add, xchg): every one is of a variable, and varId
 * below knows only the declared ones (a condvar's or semaphore's word too); or
 * a descriptor access (DESCRIPTOR_ACCESS_KINDS): only a program that makes a
 * pipe has descriptors (processes start with none). explore leaves out the
 * invariants that report only at those when not.
 */
export function mayAccess(world: Pick<World, "vars"> & { procs?: World["procs"] }): boolean {
  const v = world.vars;
  if (v !== undefined) for (const name in v) if (declOf(v, name) !== undefined) return true;
  return world.procs !== undefined && makesPipe(world.procs, new Set());
}

/** Whether any op in x, at any depth (bodies, branches, handlers, forked and spawned programs), is a pipe. */
function makesPipe(x: unknown, seen: Set<object>): boolean {
  if (x === null || typeof x !== "object" || seen.has(x)) return false;
  seen.add(x);
  if (Array.isArray(x)) return x.some((y) => makesPipe(y, seen));
  const o = x as Record<string, unknown>;
  if (o.op === "pipe") return true;
  for (const k in o) if (makesPipe(o[k], seen)) return true;
  return false;
}

/**
 * The id of the variable ref names for t, creating it on first use. Creating
 * emits var-new (after obj-new for an `init: "new"` pointer) and returns -1:
 * the op runs at the next step. A ref to another process (`of`) that does not
 * exist fails the step (-2).
 */
export function varId(k: Simulator, t: TCtx, c: number, kernel: boolean, ref: VarRef): number {
  const decl = declOf(k.world.vars, ref.name);
  if (!decl) throw new SimError(`unknown variable ${ref.name}`);
  const scope = decl.scope ?? "user";
  let pid = t.pid;
  if (ref.of !== undefined) {
    const v = value(k, t, c, kernel, ref.of);
    if (v === null) return -2;
    pid = v;
  }
  const pc = k.procs.get(pid);
  if (!pc || !k.state.procs.has(pid)) {
    fail(k, t, c, kernel, `${ref.name} of pid ${pid}: no such process (its struct was freed)`, 11);
    return -2;
  }
  const ids = table(k, scope, pc);
  const id = ids.get(ref.name);
  if (id !== undefined) return id;
  const space = scope === "kernel" ? 0 : scope === "proc" ? -pid : pid;
  let init = typeof decl.init === "number" ? decl.init : 0;
  if (decl.init === "new") {
    init = k.state.nextObj;
    k.emit(c, t.tid, ev.objNew({ obj: init, space, name: ref.name }));
  }
  const nid = k.state.nextVar;
  k.emit(
    c,
    t.tid,
    ev.varNew({
      var: nid,
      space,
      value: init,
      decl: `${decl.type} ${ref.name}${decl.sync !== undefined ? ` ${decl.sync}` : ""}`,
    }),
  );
  k.cost(COST.user, c);
  ids.set(ref.name, nid);
  return -1;
}

/**
 * A variable access op (load, store, cas, fetch-add, xchg) by t: one event
 * with the value(s) seen and left; the register (if any) gets what was read
 * (the old value for a read-modify-write). DONE, or KEEP after creating the
 * variable (the access happens next step).
 */
export function access(
  k: Simulator,
  t: TCtx,
  c: number,
  kernel: boolean,
  op: Extract<Op, { op: "load" | "store" | "cas" | "fetchAdd" | "xchg" }>,
): R {
  const id = varId(k, t, c, kernel, op.var);
  if (id < 0) return KEEP;
  const v = k.state.vars.get(id)!;
  // tso: the thread sees its own newest buffered store to v (store forwarding); a read-modify-write found the buffer drained.
  const q = t.th?.stores;
  const old = q === undefined ? v.value : viewOf(q, id, v.value);
  const tid = t.tid;
  const arg = (e: Expr) => value(k, t, c, kernel, e);
  switch (op.op) {
    case "load":
      k.emit(c, tid, (op.atomic ? ev.atomicLoad : ev.load)({ var: id, value: old, reg: op.reg }));
      break;
    case "store": {
      const x = arg(op.value);
      if (x === null) return KEEP;
      // tso: the store enters the buffer (the fold puts it there), the oldest committed first when it is full.
      if (k.storeBuffers) makeRoom(k, c, t.th!);
      k.emit(c, tid, (op.atomic ? ev.atomicStore : ev.store)({ var: id, old, new: x }));
      break;
    }
    case "cas": {
      const exp = arg(op.expected);
      const des = arg(op.desired);
      if (exp === null || des === null) return KEEP;
      k.emit(c, tid, ev.cas({ var: id, old, new: old === exp ? des : old, reg: op.reg ?? "" }));
      break;
    }
    case "fetchAdd": {
      const d = arg(op.delta);
      if (d === null) return KEEP;
      k.emit(c, tid, ev.fetchAdd({ var: id, old, new: (old + d) | 0, reg: op.reg ?? "" }));
      break;
    }
    case "xchg": {
      const x = arg(op.value);
      if (x === null) return KEEP;
      k.emit(c, tid, ev.xchg({ var: id, old, new: x, reg: op.reg ?? "" }));
      break;
    }
  }
  k.cost(COST.user, c);
  return DONE;
}

/** Puts an op's return code (an int) in its register (reg-set), when it asked for one. */
export function setRet(k: Simulator, t: TCtx, c: number, reg: string | undefined, code: number): void {
  if (reg !== undefined) k.emit(c, t.tid, ev.regSet({ value: code, type: 0, reg }));
}

/** reg = value: reg-set. */
export function set(k: Simulator, t: TCtx, c: number, kernel: boolean, reg: string, e: Expr): R {
  const x = value(k, t, c, kernel, e);
  if (x === null) return KEEP;
  k.emit(c, t.tid, ev.regSet({ value: x, type: VAR_TYPES.indexOf(typeOf(k, e)), reg }));
  k.cost(COST.user, c);
  return DONE;
}

/**
 * A condition of if/while/assert: its value, or null when evaluating it
 * failed the step (division by zero; already emitted).
 */
export function test(k: Simulator, t: TCtx, c: number, kernel: boolean, e: Expr): boolean | null {
  const x = value(k, t, c, kernel, e);
  return x === null ? null : x !== 0;
}

// ---- checks ------------------------------------------------------------------------

/** assert(cond, message): nothing when it holds (no step); else the failure (Rust's panic text in kernel mode, glibc's in user mode). */
export function assertOp(k: Simulator, t: TCtx, c: number, kernel: boolean, cond: Expr, message: string): R {
  const ok = test(k, t, c, kernel, cond);
  if (ok === null) return KEEP;
  if (ok) return AGAIN;
  return fail(k, t, c, kernel, failText({ op: "assert", message }, kernel));
}

/** What a failed assert, BUG_ON or unwrap of None says (the assert-fail event's message): glibc's and Rust's words. */
export function failText(
  op: { op: "assert"; message: string } | { op: "bugOn"; where: string } | { op: "unwrap"; at?: string },
  kernel: boolean,
): string {
  if (op.op === "assert") return kernel ? `assertion failed: ${op.message}` : `Assertion \`${op.message}' failed.`;
  if (op.op === "bugOn") return `kernel BUG at ${op.where}!`;
  return `called \`Option::unwrap()\` on a \`None\` value${op.at ? ` at ${op.at}` : ""}`;
}

/** BUG_ON(cond): when cond holds, "kernel BUG at <where>!". */
export function bugOn(k: Simulator, t: TCtx, c: number, kernel: boolean, cond: Expr, where: string): R {
  const bad = test(k, t, c, kernel, cond);
  if (bad === null) return KEEP;
  if (!bad) return AGAIN;
  return fail(k, t, c, kernel, failText({ op: "bugOn", where }, kernel));
}

/** reg = value.unwrap(): reg-set, or Rust's panic on None. */
export function unwrap(k: Simulator, t: TCtx, c: number, kernel: boolean, reg: string, e: Expr, at?: string): R {
  const p = value(k, t, c, kernel, e);
  if (p === null) return KEEP;
  if (p === 0) return fail(k, t, c, kernel, failText({ op: "unwrap", at }, kernel));
  k.emit(c, t.tid, ev.regSet({ value: p, type: VAR_TYPES.indexOf("ptr"), reg }));
  k.cost(COST.user, c);
  return DONE;
}

// ---- objects -----------------------------------------------------------------------

/** reg = a new object: obj-new (kernel heap in kernel mode, else the process's), then reg-set. */
export function allocObj(k: Simulator, t: TCtx, c: number, kernel: boolean, reg: string, name: string): R {
  const id = k.state.nextObj;
  k.emit(c, t.tid, ev.objNew({ obj: id, space: kernel ? 0 : t.pid, name }));
  k.emit(c, t.tid, ev.regSet({ value: id, type: VAR_TYPES.indexOf("ptr"), reg }));
  k.cost(COST.malloc, c);
  return DONE;
}

/** Frees the object e points at: obj-free; freeing None does nothing; a second free is a double free (glibc aborts, the kernel BUGs). */
export function deallocObj(k: Simulator, t: TCtx, c: number, kernel: boolean, e: Expr): R {
  const p = value(k, t, c, kernel, e);
  if (p === null) return KEEP;
  if (p === 0) {
    k.emit(c, t.tid, ev.user({ label: "free(NULL): nothing to do" }));
    return DONE;
  }
  const o = k.state.objs.get(p);
  if (!o)
    return fail(
      k,
      t,
      c,
      kernel,
      kernel
        ? `BUG: KASAN: double-free of object ${p} (freed long ago, out of the quarantine)`
        : `free(): invalid pointer (object ${p} was freed long ago)`,
    );
  const double = o.state === "freed";
  k.emit(c, t.tid, ev.objFree({ obj: p, double: double ? 1 : 0 }));
  k.cost(COST.malloc, c);
  if (double)
    return fail(
      k,
      t,
      c,
      kernel,
      kernel
        ? `BUG: KASAN: double-free in ${o.name} (freed at seq ${o.freeSeq})`
        : "free(): double free detected in tcache 2",
    );
  return DONE;
}

/**
 * Dereferences the object e points at (obj-use). NULL faults (SIGSEGV in
 * user mode, an oops in kernel mode). A freed object is touched silently, as
 * on real hardware: the use-after-free invariant names it.
 */
export function useObj(k: Simulator, t: TCtx, c: number, kernel: boolean, e: Expr, label: string): R {
  const p = value(k, t, c, kernel, e);
  if (p === null) return KEEP;
  if (p === 0) {
    return fail(
      k,
      t,
      c,
      kernel,
      kernel
        ? `BUG: kernel NULL pointer dereference (${label})`
        : `Segmentation fault: NULL pointer dereference (${label})`,
      11,
    );
  }
  const o = k.state.objs.get(p);
  if (!o)
    return fail(k, t, c, kernel, `${label}: use after free of object ${p} (freed long ago, out of the quarantine)`, 11);
  k.emit(c, t.tid, ev.objUse({ obj: p, freed: o.state === "freed" ? 1 : 0, label }));
  k.cost(COST.user, c);
  return DONE;
}
