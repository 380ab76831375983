// Lowering: every variable an op's expressions read becomes a plain load, in
// its own step, into a temporary register ($name), before the op; the op then
// reads the register. So `store("x", add(v("x"), 1))` runs as
// `load $x ← x; store x ← $x + 1`, two steps another thread can come between
// (the lost update a user expects to be able to write). A `while` loads its
// condition's variables again before each test.
//
// The world keeps the programs as written (they go into the trace header);
// the simulator runs the lowered copy, made once per program list (cached).

import type { Expr, Op, VarRef } from "./program.ts";

/** A while loop after lowering: `pre` (the condition's loads) runs before each test. */
export interface LoweredWhile {
  op: "while";
  pre: Op[];
  cond: Expr;
  body: Op[];
  max: number;
}

const cache = new WeakMap<readonly Op[], Op[]>();

/** The lowered form of a program list (the same array when nothing in it reads a variable). */
export function lower(ops: readonly Op[]): Op[] {
  let out = cache.get(ops);
  if (out === undefined) {
    out = lowerList(ops);
    cache.set(ops, out);
  }
  return out;
}

function lowerList(ops: readonly Op[]): Op[] {
  const out: Op[] = [];
  let changed = false;
  for (const o of ops) {
    const l = lowerOp(o);
    if (l.length !== 1 || l[0] !== o) changed = true;
    out.push(...l);
  }
  return changed ? out : (ops as Op[]);
}

/** Collects the loads an op's expressions need; `take` rewrites one expression. */
class Loads {
  readonly ops: Op[] = [];
  private readonly temps = new Map<string, string>();

  take(e: Expr): Expr {
    switch (e.e) {
      case "var": {
        const of = e.of === undefined ? undefined : this.take(e.of);
        const key = `${e.name}|${of === undefined ? "" : JSON.stringify(of)}`;
        let reg = this.temps.get(key);
        if (reg === undefined) {
          reg = this.fresh(e.name);
          this.temps.set(key, reg);
          const ref: VarRef = of === undefined ? { name: e.name } : { name: e.name, of };
          this.ops.push({ op: "load", reg, var: ref, atomic: false });
        }
        return { e: "reg", name: reg };
      }
      case "bin": {
        const l = this.take(e.l);
        const r = this.take(e.r);
        return l === e.l && r === e.r ? e : { ...e, l, r };
      }
      case "not":
      case "isNone": {
        const x = this.take(e.x);
        return x === e.x ? e : { ...e, x };
      }
      default:
        return e;
    }
  }

  /** A variable reference whose `of` may read variables. */
  ref(v: VarRef): VarRef {
    if (v.of === undefined) return v;
    const of = this.take(v.of);
    return of === v.of ? v : { name: v.name, of };
  }

  private fresh(name: string): string {
    let reg = `$${name}`;
    for (let i = 2; [...this.temps.values()].includes(reg); i++) reg = `$${name}.${i}`;
    return reg;
  }
}

function lowerOp(o: Op): Op[] {
  const L = new Loads();
  let op: Op = o;
  switch (o.op) {
    case "repeat":
    case "call":
    case "exec":
    case "thread":
    case "syscall": {
      const body = lowerList(o.body);
      op = body === o.body ? o : { ...o, body };
      break;
    }
    case "fork":
    case "spawn": {
      const child = lowerList(o.child);
      op = child === o.child ? o : { ...o, child };
      break;
    }
    case "atfork": {
      const [prepare, parent, child] = [lowerList(o.prepare), lowerList(o.parent), lowerList(o.child)];
      op = prepare === o.prepare && parent === o.parent && child === o.child ? o : { ...o, prepare, parent, child };
      break;
    }
    case "lock":
    case "unlock":
      if (o.of !== undefined) op = { ...o, of: L.take(o.of) };
      break;
    case "load":
      op = { ...o, var: L.ref(o.var) };
      break;
    case "store":
    case "xchg": {
      const value = L.take(o.value);
      op = { ...o, var: L.ref(o.var), value };
      break;
    }
    case "cas": {
      const expected = L.take(o.expected);
      const desired = L.take(o.desired);
      op = { ...o, var: L.ref(o.var), expected, desired };
      break;
    }
    case "fetchAdd":
      op = { ...o, delta: L.take(o.delta), var: L.ref(o.var) };
      break;
    case "set":
    case "unwrap":
    case "dealloc":
    case "use":
      op = { ...o, value: L.take(o.value) };
      break;
    case "if": {
      const cond = L.take(o.cond);
      // biome-ignore lint/suspicious/noThenProperty: the scenario language's if-op has then/else branches (plain data, never awaited)
      op = { ...o, cond, then: lowerList(o.then), else: lowerList(o.else) };
      break;
    }
    case "while": {
      const cond = L.take(o.cond);
      const w: LoweredWhile = { op: "while", pre: L.ops.splice(0), cond, body: lowerList(o.body), max: o.max };
      return [w as unknown as Op];
    }
    case "assert":
    case "bugOn":
      op = { ...o, cond: L.take(o.cond) };
      break;
    case "futexWait": {
      const value = L.take(o.value);
      const timeout = o.timeout === undefined ? undefined : L.take(o.timeout);
      op = { ...o, var: L.ref(o.var), value, ...(timeout === undefined ? {} : { timeout }) };
      break;
    }
    case "futexWake":
      op = { ...o, var: L.ref(o.var), n: L.take(o.n) };
      break;
    case "sleep":
      op = { ...o, ns: L.take(o.ns) };
      break;
    case "waitpid":
    case "procfs":
      if (o.pid !== undefined) op = { ...o, pid: L.take(o.pid) };
      break;
    case "join":
    case "detach":
      op = { ...o, tid: L.take(o.tid) };
      break;
    case "kill":
      op = { ...o, pid: L.take(o.pid) };
      break;
    case "close":
    case "fcntl":
      op = { ...o, fd: L.take(o.fd) };
      break;
    case "dup": {
      const fd = L.take(o.fd);
      op = o.to === undefined ? { ...o, fd } : { ...o, fd, to: L.take(o.to) };
      break;
    }
    case "write":
    case "read": {
      const fd = L.take(o.fd);
      op = { ...o, fd, n: L.take(o.n) };
      break;
    }
    case "tkill":
      if (o.tid !== undefined) op = { ...o, tid: L.take(o.tid) };
      break;
    case "sigaction":
      if (o.handler !== undefined) {
        const handler = lowerList(o.handler);
        op = handler === o.handler ? o : { ...o, handler };
      }
      break;
    case "cvWait":
    case "semWait":
    case "sigwait":
      if (o.timeout !== undefined) op = { ...o, timeout: L.take(o.timeout) };
      break;
    default:
      return [o];
  }
  if (L.ops.length === 0 && op === o) return [o];
  return [...L.ops, op];
}
