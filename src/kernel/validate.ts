// Validation of a world: the processes' programs, the lock and variable
// declarations and the kernel rules. Used when a scenario builds its world
// (bad input from a scenario file) and when a world is read back from a trace
// header (bad input from anyone): the first problem is reported as one line
// naming its path (`procs[0].main[3].then[0] (store)`), the source line when a
// builder made the op, and what is wrong.
//
// Checks: every op and expression is well formed; every variable is declared;
// expressions are typed (ints and pointers do not mix; registers take the type
// of what they are assigned, one type per name in the whole world); a
// register read is assigned somewhere; a `while` has a bound; a loop that can
// never emit an event is refused. Bounded: nesting depth and node count are
// limited, so a hostile world cannot exhaust the stack or the clock.

import { kindsMatching } from "./events.ts";
import { MAX_CPUS, MAX_PRIO } from "./params.ts";
import {
  type BinOp,
  type Expr,
  type Op,
  PROC_FILES,
  type ProcFile,
  type Scope,
  sourceOf,
  type ValType,
  type VarDecl,
} from "./program.ts";
import type { World } from "./sim.ts";
import {
  EVENT_KINDS,
  LOCK_TYPES,
  MEMORY_MODELS,
  SCHED_POLICIES,
  type SchedPolicy,
  SIG_ACTIONS,
  SIGNALS,
  type SigAction,
  SYNC_KINDS,
  type SyncKind,
} from "./types.ts";

/** Every field name an event kind has (evField's argument). */
const FIELD_NAMES = new Set(EVENT_KINDS.flatMap((k) => [...k.args]));

/** Deepest nesting of ops and expressions accepted. */
export const MAX_DEPTH = 64;
/** Most ops and expression nodes in one world. */
export const MAX_NODES = 200_000;

/** What validate() checks: a world (rules, declarations, programs). */
export type WorldParts = World;

const OPS: Record<string, true> = Object.assign(
  Object.create(null),
  Object.fromEntries(
    [
      "user",
      "lock",
      "unlock",
      "restamp",
      "malloc",
      "free",
      "atfork",
      "fork",
      "spawn",
      "exec",
      "thread",
      "exit",
      "waitpid",
      "procfs",
      "repeat",
      "call",
      "load",
      "store",
      "cas",
      "fetchAdd",
      "xchg",
      "set",
      "if",
      "while",
      "syscall",
      "assert",
      "bugOn",
      "unwrap",
      "alloc",
      "dealloc",
      "use",
      "progress",
      "fence",
      "futexWait",
      "futexWake",
      "sleep",
      "join",
      "detach",
      "kill",
      "tkill",
      "sigaction",
      "sigmask",
      "pause",
      "sigsuspend",
      "sigwait",
      "setPdeathsig",
      "getpid",
      "pipe",
      "close",
      "dup",
      "fcntl",
      "write",
      "read",
      "setPriority",
      "cvWait",
      "cvSignal",
      "semWait",
      "semPost",
      "rwLock",
      "rwUnlock",
      "trylock",
      "consistent",
    ].map((k) => [k, true]),
  ),
);
const INT_OPS = new Set<string>(["+", "-", "*", "/", "%", "<", "<=", ">", ">=", "&&", "||"]);
const SCOPES: readonly Scope[] = ["user", "kernel", "proc"];
const NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;

class Bad extends Error {}

const own = (o: object, k: string) => Object.hasOwn(o, k);
const isObj = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
const str = (x: unknown) => typeof x === "string" && x.length > 0 && x.length <= 4096;
const count = (x: unknown) => typeof x === "number" && x >= 0 && (Number.isInteger(x) || x === Infinity);
const i32 = (x: unknown) => typeof x === "number" && Number.isInteger(x) && x >= -(2 ** 31) && x < 2 ** 31;

/** The declaration of a lock or variable name, if declared (own property only). */
export function declOf<T>(decls: Record<string, T> | undefined, name: string): T | undefined {
  return decls !== undefined && own(decls, name) ? decls[name] : undefined;
}

/**
 * Checks a world. Returns null when it is good, else one line: the path of
 * the bad node (under `prefix`), the source line when known, and the reason.
 */
export function validateWorld(w: WorldParts, prefix = ""): string | null {
  try {
    new Checker(w, prefix).run();
    return null;
  } catch (e) {
    if (e instanceof Bad) return e.message;
    throw e;
  }
}

/**
 * Checks a scenario's invariants against its world's declarations (variables
 * must be declared, types must fit); `reserved` are the built-in invariants'
 * names. Null when good, else one line as validateWorld's.
 */
export function validateInvariants(
  decls: unknown,
  w: Pick<WorldParts, "vars">,
  reserved: readonly string[],
  prefix = "",
): string | null {
  try {
    new Checker({ vars: w.vars } as WorldParts, prefix).invariants(decls, reserved);
    return null;
  } catch (e) {
    if (e instanceof Bad) return e.message;
    throw e;
  }
}

class Checker {
  private nodes = 0;
  /** What is being checked: programs (registers, no state atoms) or invariants (state atoms, no registers). */
  mode: "program" | "invariant" = "program";
  /** Register types: from the ops that assign them (load, cas, unwrap, alloc, fork's pid, set). */
  private readonly regs = new Map<string, { type: ValType; at: string }>();
  private readonly vars: Record<string, VarDecl>;
  private pass = 0;

  constructor(
    private readonly w: WorldParts,
    private readonly prefix: string,
  ) {
    this.vars = isObj(w.vars) ? (w.vars as Record<string, VarDecl>) : {};
  }

  run(): void {
    const w = this.w as unknown as Record<string, unknown>;
    const p = this.prefix;
    if (!isObj(w.config)) throw new Bad(`${p}config is missing`);
    this.config(w.config as Record<string, unknown>);
    if (!isObj(w.locks)) throw new Bad(`${p}locks must be a map of lock declarations`);
    for (const [name, d] of Object.entries(w.locks)) this.lockDecl(name, d);
    if (w.vars !== undefined) {
      if (!isObj(w.vars)) throw new Bad(`${p}vars must be a map of variable declarations`);
      for (const [name, d] of Object.entries(w.vars)) this.varDecl(name, d);
    }
    if (
      w.firstTid !== undefined &&
      !(Number.isInteger(w.firstTid) && (w.firstTid as number) >= 0 && (w.firstTid as number) < 2 ** 30)
    ) {
      throw new Bad(`${p}firstTid must be an integer >= 0`);
    }
    if (w.progressWindow !== undefined && !(Number.isInteger(w.progressWindow) && (w.progressWindow as number) >= 1)) {
      throw new Bad(`${p}progressWindow must be an integer >= 1`);
    }
    if (!Array.isArray(w.procs) || w.procs.length === 0) throw new Bad(`${p}procs must list at least one process`);
    // Pass 0 learns the registers' types (again while it learns more: `set`
    // may copy a register assigned further down); pass 1 checks everything.
    const walk = () => {
      this.nodes = 0;
      (w.procs as unknown[]).forEach((proc, i) => {
        const at = `${p}procs[${i}]`;
        if (!isObj(proc) || !str(proc.name)) throw new Bad(`${at} needs a name`);
        this.ops(proc.main, `${at}.main`, 1);
      });
    };
    this.pass = 0;
    for (let known = -1, i = 0; known !== this.regs.size && i < 16; i++) {
      known = this.regs.size;
      walk();
    }
    this.pass = 1;
    walk();
  }

  private config(c: Record<string, unknown>): void {
    const p = `${this.prefix}config`;
    if (!(Number.isInteger(c.cpus) && (c.cpus as number) >= 1 && (c.cpus as number) <= MAX_CPUS))
      throw new Bad(`${p}.cpus must be 1..${MAX_CPUS}`);
    const oneOf = (k: string, vs: string[]) => {
      if (!vs.includes(c[k] as string)) throw new Bad(`${p}.${k} must be one of ${vs.join(", ")}`);
    };
    oneOf("tidAfterFork", ["inherit", "new"]);
    oneOf("kstackFree", ["deferred", "in-exit", "at-reap"]);
    oneOf("stackCheck", ["silent", "flush", "reuse"]);
    oneOf("procfsVmar", ["unwrap", "check"]);
    if (c.zombieCheck !== undefined && typeof c.zombieCheck !== "boolean")
      throw new Bad(`${p}.zombieCheck must be true or false`);
    if (c.lockOrder !== undefined && typeof c.lockOrder !== "boolean")
      throw new Bad(`${p}.lockOrder must be true or false`);
    if (c.starvationCheck !== undefined && typeof c.starvationCheck !== "boolean")
      throw new Bad(`${p}.starvationCheck must be true or false`);
    if (
      c.starvationWindow !== undefined &&
      !(Number.isInteger(c.starvationWindow) && (c.starvationWindow as number) >= 1)
    )
      throw new Bad(`${p}.starvationWindow must be an integer >= 1`);
    if (c.memory !== undefined && !(MEMORY_MODELS as readonly unknown[]).includes(c.memory))
      throw new Bad(`${p}.memory must be one of ${MEMORY_MODELS.join(", ")}`);
  }

  private lockDecl(name: string, d: unknown): void {
    const at = `${this.prefix}locks.${name}`;
    if (!str(name)) throw new Bad(`${this.prefix}locks: a lock needs a name`);
    if (!isObj(d) || !LOCK_TYPES.includes(d.type as never))
      throw new Bad(`${at}: type must be one of ${LOCK_TYPES.join(", ")}`);
    if (d.badUnlock !== undefined && !str(d.badUnlock)) throw new Bad(`${at}: badUnlock must be a message`);
    if (d.scope !== undefined && !SCOPES.includes(d.scope as Scope))
      throw new Bad(`${at}: scope must be one of ${SCOPES.join(", ")}`);
    if (d.protocol !== undefined && d.protocol !== "none" && d.protocol !== "inherit")
      throw new Bad(`${at}: protocol must be "none" or "inherit"`);
    if (d.protocol === "inherit" && d.type === "spin")
      throw new Bad(`${at}: priority inheritance is for a mutex, not a spinlock`);
    if (d.robust !== undefined && typeof d.robust !== "boolean") throw new Bad(`${at}: robust must be true or false`);
    if (d.robust === true && d.type === "spin") throw new Bad(`${at}: a robust lock is a mutex, not a spinlock`);
    if (d.robust === true && d.scope === "proc")
      throw new Bad(`${at}: a robust mutex lives in user or kernel memory, not in a process's kernel struct`);
  }

  private varDecl(name: string, d: unknown): void {
    const at = `${this.prefix}vars.${name}`;
    if (!NAME.test(name))
      throw new Bad(`${at}: a variable name is letters, digits, _ and . (not starting with a digit)`);
    if (!isObj(d) || (d.type !== "int" && d.type !== "ptr")) throw new Bad(`${at}: type must be "int" or "ptr"`);
    if (d.scope !== undefined && !SCOPES.includes(d.scope as Scope))
      throw new Bad(`${at}: scope must be one of ${SCOPES.join(", ")}`);
    if (d.sync !== undefined && !SYNC_KINDS.includes(d.sync as SyncKind))
      throw new Bad(`${at}: sync must be one of ${SYNC_KINDS.join(", ")}`);
    if (d.sync !== undefined && d.type !== "int") throw new Bad(`${at}: a ${String(d.sync)} word is an int`);
    if (d.init !== undefined) {
      const ok = d.type === "int" ? i32(d.init) : d.init === 0 || d.init === "new";
      if (!ok) throw new Bad(`${at}: init must be ${d.type === "int" ? "a 32-bit integer" : `0 (None) or "new"`}`);
    }
  }

  /** Fails with the op's path and source line. */
  private fail(at: string, o: Record<string, unknown> | null, why: string): never {
    const src = o ? sourceOf(o) : null;
    const what =
      o && typeof o.op === "string" ? ` (${o.op})` : o && typeof o.name === "string" ? ` (${o.name.slice(0, 60)})` : "";
    throw new Bad(`${at}${what}${src ? ` at ${src}` : ""}: ${why}`);
  }

  private ops(ops: unknown, at: string, depth: number): void {
    if (!Array.isArray(ops)) this.fail(at, null, "is not a list of ops");
    if (depth > MAX_DEPTH) this.fail(at, null, `ops nested deeper than ${MAX_DEPTH}`);
    ops.forEach((o, i) => {
      this.op(o, `${at}[${i}]`, depth);
    });
  }

  private op(x: unknown, at: string, depth: number): void {
    if (++this.nodes > MAX_NODES) this.fail(at, null, `the programs have more than ${MAX_NODES} ops and expressions`);
    if (!isObj(x) || typeof x.op !== "string") {
      throw new Bad(`${at} is not an op (use the builders: user(), lock(), fork(), ...)`);
    }
    const o = x;
    if (!OPS[o.op as string]) throw new Bad(`${at}: unknown op '${String(o.op).slice(0, 40)}'`);
    const bad = (why: string): never => this.fail(at, o, why);
    const sub = (k: string) => this.ops(o[k], `${at}.${k}`, depth + 1);
    const expr = (k: string, want: ValType | null) => this.expr(o[k], `${at}.${k}`, o, want, depth + 1);
    switch (o.op) {
      case "user":
        if (!str(o.label)) bad("needs a label");
        if (!count(o.n)) bad("needs a count n >= 0");
        break;
      case "lock":
      case "unlock":
      case "restamp":
        if (!str(o.lock)) bad("needs a lock name");
        if (o.of !== undefined)
          this.scoped(o, at, o.lock as string, declOf(this.w.locks, o.lock as string)?.scope, depth);
        if (o.ret !== undefined) this.assign(o, at, o.ret, "int");
        break;
      case "malloc":
      case "free":
        if (!(count(o.size) && (o.size as number) > 0 && Number.isFinite(o.size))) bad("needs a size > 0");
        break;
      case "exit":
        if (!(count(o.code) && (o.code as number) < 256)) bad("needs an exit code 0..255");
        break;
      case "waitpid":
        if (o.which !== "child" && o.which !== "any" && o.which !== "pid")
          bad(
            typeof o.which === "string" && /^[A-Za-z_$][\w$.]*$/.test(o.which)
              ? `needs which: 'child', 'any' or a pid; for the child whose pid register is '${o.which}': waitpid(r("${o.which}"))`
              : "needs which: 'child', 'any' or a pid (a handle)",
          );
        if (o.which === "pid") expr("pid", "int");
        else if (o.pid !== undefined) bad("a pid goes with which: 'pid' (waitpid(r(\"child\")))");
        if (o.nohang !== undefined && typeof o.nohang !== "boolean") bad("nohang must be true or false");
        this.ret(o, at);
        if (o.status !== undefined) this.assign(o, at, o.status, "int");
        break;
      case "procfs":
        if (!PROC_FILES.includes(o.file as ProcFile)) bad(`the /proc files modelled are ${PROC_FILES.join(", ")}`);
        if (o.pid !== undefined) expr("pid", "int");
        break;
      case "join":
      case "detach":
        expr("tid", "int");
        this.ret(o, at);
        if (o.status !== undefined) this.assign(o, at, o.status, "int");
        break;
      case "repeat":
        if (!count(o.n)) bad("needs a count n >= 0");
        sub("body");
        if (o.n === Infinity && (o.body as Op[]).length > 0 && !this.emits(o.body as Op[]))
          bad("loops for ever without a step");
        break;
      case "call":
        if (!str(o.name)) bad("needs a name");
        sub("body");
        break;
      case "fork":
        sub("child");
        if (o.pid !== undefined) this.assign(o, at, o.pid, "int");
        break;
      case "spawn":
        if (!str(o.program)) bad("needs a program name");
        sub("child");
        if (o.pid !== undefined) this.assign(o, at, o.pid, "int");
        break;
      case "exec":
        if (!str(o.program)) bad("needs a program name");
        sub("body");
        break;
      case "thread":
        sub("body");
        if (o.tid !== undefined) this.assign(o, at, o.tid, "int");
        if (o.detached !== undefined && typeof o.detached !== "boolean") bad("detached must be true or false");
        if (
          o.prio !== undefined &&
          !(Number.isInteger(o.prio) && (o.prio as number) >= 0 && (o.prio as number) <= MAX_PRIO)
        )
          bad(`prio must be an integer 0..${MAX_PRIO}`);
        if (o.policy !== undefined && !SCHED_POLICIES.includes(o.policy as SchedPolicy))
          bad(`policy must be one of ${SCHED_POLICIES.join(", ")}`);
        break;
      case "atfork":
        sub("prepare");
        sub("parent");
        sub("child");
        break;
      case "load": {
        const t = this.varRef(o, at, depth);
        this.assign(o, at, o.reg, t);
        if (typeof o.atomic !== "boolean") bad("needs atomic: true or false");
        break;
      }
      case "store": {
        const t = this.varRef(o, at, depth);
        expr("value", t);
        if (typeof o.atomic !== "boolean") bad("needs atomic: true or false");
        break;
      }
      case "cas": {
        const t = this.varRef(o, at, depth);
        expr("expected", t);
        expr("desired", t);
        if (o.reg !== undefined) this.assign(o, at, o.reg, t);
        break;
      }
      case "fetchAdd": {
        const t = this.varRef(o, at, depth);
        if (t !== "int") bad(`fetch-add needs an int variable, '${(o.var as { name: string }).name}' is a ${t}`);
        expr("delta", "int");
        if (o.reg !== undefined) this.assign(o, at, o.reg, t);
        break;
      }
      case "xchg": {
        const t = this.varRef(o, at, depth);
        expr("value", t);
        if (o.reg !== undefined) this.assign(o, at, o.reg, t);
        break;
      }
      case "set":
        this.assign(o, at, o.reg, this.pass === 0 ? this.typeOf(o.value) : expr("value", null));
        break;
      case "if":
        expr("cond", "int");
        sub("then");
        sub("else");
        break;
      case "while":
        if (o.max === undefined) bad("a loop needs a bound: loopWhile(cond, { max: N }, body) (Infinity for none)");
        if (!(count(o.max) && (o.max as number) >= 1)) bad("max must be a count >= 1 (or Infinity)");
        expr("cond", "int");
        sub("body");
        if (!this.emits(o.body as Op[]) && !this.readsVar(o.cond))
          bad("loops without a step: its condition reads no variable and its body is empty");
        break;
      case "syscall":
        if (!str(o.name)) bad("needs a name");
        sub("body");
        break;
      case "assert":
        expr("cond", "int");
        if (!str(o.message)) bad("needs a message");
        break;
      case "bugOn":
        expr("cond", "int");
        if (!str(o.where)) bad("needs where (e.g. 'mm/slub.c:123')");
        break;
      case "unwrap":
        expr("value", "ptr");
        this.assign(o, at, o.reg, "ptr");
        if (o.at !== undefined && !str(o.at)) bad("at must be a location string");
        break;
      case "alloc":
        if (!str(o.name)) bad("needs an object name");
        this.assign(o, at, o.reg, "ptr");
        break;
      case "dealloc":
        expr("value", "ptr");
        break;
      case "use":
        expr("value", "ptr");
        if (!str(o.label)) bad("needs a label");
        break;
      case "progress":
        if (!str(o.label)) bad("needs a label");
        break;
      case "fence":
        if (o.kind !== undefined && o.kind !== "store")
          bad(`kind must be "store" (smp_wmb, a store-store barrier) or absent (smp_mb, a full barrier)`);
        break;
      case "futexWait":
      case "futexWake": {
        const t = this.varRef(o, at, depth);
        if (t !== "int") bad(`a futex word is an int variable, '${(o.var as { name: string }).name}' is a ${t}`);
        if (o.op === "futexWait") {
          expr("value", "int");
          if (o.timeout !== undefined) expr("timeout", "int");
        } else expr("n", "int");
        this.ret(o, at);
        break;
      }
      case "sleep":
        expr("ns", "int");
        this.ret(o, at);
        break;
      case "cvWait":
        this.sync(o, at, o.cv, "condvar");
        if (!str(o.mutex)) bad("needs a mutex (the lock the predicate is checked under)");
        if (o.timeout !== undefined) expr("timeout", "int");
        this.ret(o, at);
        break;
      case "cvSignal":
        this.sync(o, at, o.cv, "condvar");
        if (typeof o.all !== "boolean") bad("needs all: true (broadcast) or false (signal)");
        break;
      case "semWait":
      case "semPost":
        this.sync(o, at, o.sem, "semaphore");
        if (o.try !== undefined && typeof o.try !== "boolean") bad("try must be true or false");
        if (o.timeout !== undefined) expr("timeout", "int");
        this.ret(o, at);
        break;
      case "rwLock":
      case "rwUnlock":
        this.sync(o, at, o.rw, "rwlock");
        if (o.op === "rwLock" && typeof o.write !== "boolean") bad("needs write: true (wrlock) or false (rdlock)");
        if (o.try !== undefined && typeof o.try !== "boolean") bad("try must be true or false");
        this.ret(o, at);
        break;
      case "trylock":
      case "consistent":
        if (!str(o.lock)) bad("needs a lock name");
        this.ret(o, at);
        break;
      case "kill":
      case "tkill":
        if (o.op === "kill") expr("pid", "int");
        else if (o.tid !== undefined) expr("tid", "int");
        this.signal(o, at, o.sig);
        this.ret(o, at);
        break;
      case "sigaction":
        this.signal(o, at, o.sig);
        if (!SIG_ACTIONS.includes(o.action as SigAction)) bad(`action must be one of ${SIG_ACTIONS.join(", ")}`);
        if (o.action === "handler") {
          sub("handler");
          if (o.name !== undefined && !str(o.name)) bad("a handler's name must be a string");
          if (o.restart !== undefined && typeof o.restart !== "boolean")
            bad("restart (SA_RESTART) must be true or false");
        } else if (o.handler !== undefined) bad("a handler goes with action 'handler' (sigaction(sig, [ops]))");
        else if (o.restart !== undefined)
          bad("restart (SA_RESTART) goes with a handler (sigaction(sig, [ops], { restart: true }))");
        this.ret(o, at);
        break;
      case "pause":
        break;
      case "setPdeathsig":
        this.signal(o, at, o.sig);
        this.ret(o, at);
        break;
      case "getpid":
        this.assign(o, at, o.reg, "int");
        if (typeof o.parent !== "boolean") bad("parent must be true (getppid) or false (getpid)");
        break;
      case "setPriority":
        if (!(Number.isInteger(o.prio) && (o.prio as number) >= 0 && (o.prio as number) <= MAX_PRIO))
          bad(`prio must be an integer 0..${MAX_PRIO}`);
        if (!SCHED_POLICIES.includes(o.policy as SchedPolicy))
          bad(`policy must be one of ${SCHED_POLICIES.join(", ")}`);
        break;
      case "pipe":
        this.assign(o, at, o.read, "int");
        this.assign(o, at, o.write, "int");
        if (o.read === o.write) bad("needs two registers (read and write)");
        if (o.cloexec !== undefined && typeof o.cloexec !== "boolean") bad("cloexec must be true or false");
        if (o.cap !== undefined && !(Number.isInteger(o.cap) && (o.cap as number) >= 1 && (o.cap as number) <= 1 << 20))
          bad("cap must be 1..1048576 bytes");
        break;
      case "close":
      case "fcntl":
        expr("fd", "int");
        if (o.op === "fcntl" && typeof o.cloexec !== "boolean") bad("needs cloexec: true or false");
        this.ret(o, at);
        break;
      case "dup":
        expr("fd", "int");
        if (o.to !== undefined) expr("to", "int");
        this.assign(o, at, o.reg, "int");
        if (o.cloexec !== undefined && typeof o.cloexec !== "boolean") bad("cloexec must be true or false");
        break;
      case "write":
      case "read":
        expr("fd", "int");
        expr("n", "int");
        if (o.nonblock !== undefined && typeof o.nonblock !== "boolean") bad("nonblock must be true or false");
        this.ret(o, at);
        break;
      case "sigmask":
      case "sigsuspend":
        if (o.op === "sigmask" && o.how !== "block" && o.how !== "unblock" && o.how !== "set")
          bad("how must be block, unblock or set");
        if (!Array.isArray(o.sigs) || o.sigs.length > 64) bad("needs a list of signals");
        for (const sig of o.sigs as unknown[]) this.signal(o, at, sig);
        if (o.op === "sigsuspend") this.ret(o, at);
        break;
      case "sigwait":
        if (!Array.isArray(o.sigs) || o.sigs.length === 0 || o.sigs.length > 64) bad("needs a list of signals");
        for (const sig of o.sigs as unknown[]) this.signal(o, at, sig);
        if (o.timeout !== undefined) expr("timeout", "int");
        this.ret(o, at);
        break;
    }
  }

  /** A signal in an op: a number (any: kill answers EINVAL for one not modelled), or a name, which must be known. */
  private signal(o: Record<string, unknown>, at: string, sig: unknown): void {
    if (typeof sig === "number" && Number.isInteger(sig) && sig >= 0 && sig < 65) return;
    const names = Object.values(SIGNALS).map((x) => x.name);
    if (typeof sig === "string") {
      const job = ["SIGSTOP", "SIGCONT", "SIGTSTP", "SIGTTIN", "SIGTTOU"].includes(sig);
      this.fail(
        at,
        o,
        job
          ? `${sig}: job control signals are not modelled`
          : `unknown signal '${sig.slice(0, 20)}' (signals: ${names.join(", ")})`,
      );
    }
    this.fail(at, o, "needs a signal (a name such as 'SIGUSR1', or a number 0..64)");
  }

  /** Checks that `name` is a declared variable used as `kind` (a condvar, semaphore, rwlock). */
  private sync(o: Record<string, unknown>, at: string, name: unknown, kind: SyncKind): void {
    const make = kind === "condvar" ? "condvar()" : kind === "semaphore" ? "semaphore(N)" : "rwlock()";
    if (!str(name)) this.fail(at, o, `needs a ${kind} name`);
    const d = declOf(this.vars, name as string);
    if (!d)
      this.fail(
        at,
        o,
        `unknown ${kind} '${(name as string).slice(0, 60)}' (declare it in build()'s vars: { ${(name as string).slice(0, 60)}: ${make} })`,
      );
    if (d.sync !== kind)
      this.fail(
        at,
        o,
        `'${name as string}' is ${d.sync ? `a ${d.sync}` : "a plain variable"}, not a ${kind} (declare it as ${make})`,
      );
  }

  /** An op's optional `ret` register gets an int (a return code). */
  private ret(o: Record<string, unknown>, at: string): void {
    if (o.ret !== undefined) this.assign(o, at, o.ret, "int");
  }

  /** Checks a lock op's `of` (only a "proc" lock belongs to another process). */
  private scoped(o: Record<string, unknown>, at: string, name: string, scope: Scope | undefined, depth: number): void {
    if (scope !== "proc")
      this.fail(
        at,
        o,
        `'${name}' is not a "proc" lock: only a per-process kernel lock can be named in another process (of)`,
      );
    this.expr(o.of, `${at}.of`, o, "int", depth + 1);
  }

  /** The declared type of the op's variable (o.var), checking the reference. */
  private varRef(o: Record<string, unknown>, at: string, depth: number): ValType {
    const ref = o.var;
    if (!isObj(ref) || !str(ref.name)) this.fail(at, o, "needs a variable");
    return this.varType(ref as Record<string, unknown>, `${at}.var`, o, depth);
  }

  private varType(ref: Record<string, unknown>, at: string, o: Record<string, unknown>, depth: number): ValType {
    const name = ref.name as string;
    const d = declOf(this.vars, name);
    if (!d) {
      const names = Object.keys(this.vars);
      this.fail(
        at,
        o,
        `unknown variable '${name.slice(0, 60)}' (${names.length ? `declared: ${names.slice(0, 12).join(", ")}` : "declare it in build()'s vars"})`,
      );
    }
    if (ref.of !== undefined) {
      if (d.scope !== "proc")
        this.fail(
          at,
          o,
          `'${name}' is not a "proc" variable: only a per-process kernel field can be read in another process (of)`,
        );
      this.expr(ref.of, `${at}.of`, o, "int", depth + 1);
    }
    return d.type;
  }

  /** Records (pass 0) or checks (pass 1) that register `reg` has type t. */
  private assign(o: Record<string, unknown>, at: string, reg: unknown, t: ValType | null): void {
    if (typeof reg !== "string" || !NAME.test(reg)) this.fail(at, o, "needs a register name (letters, digits, _)");
    if (t === null) return;
    const had = this.regs.get(reg);
    if (!had) this.regs.set(reg, { type: t, at });
    else if (had.type !== t) this.fail(at, o, `register '${reg}' gets a ${t} here but a ${had.type} at ${had.at}`);
  }

  /** The type of an expression from what is known so far (pass 0), or null. */
  private typeOf(e: unknown): ValType | null {
    if (!isObj(e)) return null;
    switch (e.e) {
      case "int":
      case "bin":
      case "not":
      case "isNone":
      case "held":
      case "owner":
      case "evIs":
      case "evTid":
      case "evField":
        return "int";
      case "before":
        return this.typeOf(e.x);
      case "none":
        return "ptr";
      case "var":
        return declOf(this.vars, e.name as string)?.type ?? null;
      case "reg":
        return this.regs.get(e.name as string)?.type ?? null;
      default:
        return null;
    }
  }

  /** Checks expression e (of op o) and returns its type; `want` is the type the context needs (null: any). */
  private expr(e: unknown, at: string, o: Record<string, unknown>, want: ValType | null, depth: number): ValType {
    if (++this.nodes > MAX_NODES) this.fail(at, o, `the programs have more than ${MAX_NODES} ops and expressions`);
    if (depth > MAX_DEPTH) this.fail(at, o, `expression nested deeper than ${MAX_DEPTH}`);
    if (!isObj(e) || typeof e.e !== "string") this.fail(at, o, "is not an expression (use v(), r(), add(), eq(), ...)");
    const mismatch = (got: ValType): never =>
      this.fail(
        at,
        o,
        `type mismatch: ${describeExpr(e)} is a${got === "int" ? "n int" : " ptr"}, ${want === "int" ? "an int" : "a ptr"} is needed`,
      );
    let t: ValType;
    switch (e.e) {
      case "int":
        if (!i32(e.v)) this.fail(at, o, "an int literal must be a 32-bit integer");
        t = "int";
        break;
      case "none":
        t = "ptr";
        break;
      case "var":
        if (!str(e.name)) this.fail(at, o, "a variable needs a name");
        t = this.varType(e, at, o, depth);
        break;
      case "before":
        if (this.mode !== "invariant") this.fail(at, o, "before() is for invariants only");
        t = this.expr(e.x, `${at}.x`, o, want, depth + 1);
        break;
      case "held":
      case "owner":
        if (this.mode !== "invariant")
          this.fail(at, o, `${e.e}() is for invariants only (a program takes the lock instead)`);
        if (!str(e.lock)) this.fail(at, o, `${e.e}() needs a lock name`);
        t = "int";
        break;
      case "evIs":
        if (this.mode !== "invariant") this.fail(at, o, "evIs() is for invariants only");
        if (typeof e.kinds !== "string" || kindsMatching(e.kinds) === null)
          this.fail(at, o, `evIs('${String(e.kinds).slice(0, 40)}') matches no event kind`);
        t = "int";
        break;
      case "evTid":
        if (this.mode !== "invariant") this.fail(at, o, "evTid() is for invariants only");
        t = "int";
        break;
      case "evField":
        if (this.mode !== "invariant") this.fail(at, o, "evField() is for invariants only");
        if (typeof e.name !== "string" || !FIELD_NAMES.has(e.name))
          this.fail(at, o, `evField('${String(e.name).slice(0, 40)}'): no event kind has that field`);
        t = "int";
        break;
      case "reg": {
        if (this.mode === "invariant")
          this.fail(
            at,
            o,
            "an invariant cannot read registers (they are a thread's): read variables, locks or the event",
          );
        if (typeof e.name !== "string" || !NAME.test(e.name))
          this.fail(at, o, "a register needs a name (letters, digits, _)");
        const r = this.regs.get(e.name);
        if (!r) {
          if (this.pass === 0) return want ?? "int";
          this.fail(at, o, `register '${e.name}' is never assigned (load, set, cas, ... assign registers)`);
        }
        t = r.type;
        break;
      }
      case "bin": {
        const op = e.op as BinOp;
        if (op !== "==" && op !== "!=" && !INT_OPS.has(op))
          this.fail(at, o, `unknown operator '${String(op).slice(0, 8)}'`);
        if (op === "==" || op === "!=") {
          const lt = this.expr(e.l, `${at}.l`, o, null, depth + 1);
          this.expr(e.r, `${at}.r`, o, lt, depth + 1);
        } else {
          this.expr(e.l, `${at}.l`, o, "int", depth + 1);
          this.expr(e.r, `${at}.r`, o, "int", depth + 1);
        }
        t = "int";
        break;
      }
      case "not":
        this.expr(e.x, `${at}.x`, o, "int", depth + 1);
        t = "int";
        break;
      case "isNone":
        this.expr(e.x, `${at}.x`, o, "ptr", depth + 1);
        t = "int";
        break;
      default:
        this.fail(at, o, `unknown expression '${String(e.e).slice(0, 20)}'`);
    }
    if (want !== null && t !== want && this.pass === 1) mismatch(t);
    return t;
  }

  /** Whether running ops can emit an event (every op but control with empty bodies does). */
  private emits(ops: Op[]): boolean {
    for (const o of ops) {
      switch (o.op) {
        case "repeat":
          if (o.n > 0 && this.emits(o.body)) return true;
          break;
        case "user":
          if (o.n > 0) return true;
          break;
        case "if":
          if (this.readsVar(o.cond) || (this.emits(o.then) && this.emits(o.else))) return true;
          break;
        case "while":
          if (this.readsVar(o.cond) || this.emits(o.body)) return true;
          break;
        case "assert":
        case "bugOn":
          if (this.readsVar(o.cond)) return true;
          break;
        default:
          return true;
      }
    }
    return false;
  }

  /** Checks a scenario's invariants (after the programs: variable types are known). */
  invariants(decls: unknown, reserved: readonly string[]): void {
    const p = `${this.prefix}invariants`;
    if (!Array.isArray(decls)) throw new Bad(`${p} must be a list of invariants (invariant(name, check, message))`);
    if (decls.length > 1000) throw new Bad(`${p}: more than 1000 invariants`);
    this.mode = "invariant";
    this.pass = 1;
    const seen = new Set<string>();
    decls.forEach((d: unknown, i: number) => {
      const at = `${p}[${i}]`;
      if (!isObj(d)) throw new Bad(`${at} is not an invariant (use invariant(name, check, message))`);
      const src = sourceOf(d);
      const bad = (why: string): never => {
        throw new Bad(
          `${at}${typeof d.name === "string" ? ` (${d.name.slice(0, 60)})` : ""}${src ? ` at ${src}` : ""}: ${why}`,
        );
      };
      if (typeof d.name !== "string" || !/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(d.name) || d.name.length > 64)
        bad("needs a kebab-case name (e.g. 'counter-exact')");
      if (reserved.includes(d.name as string)) bad(`'${d.name}' is a built-in invariant's name`);
      if (seen.has(d.name as string)) bad(`a second invariant named '${d.name}'`);
      seen.add(d.name as string);
      if (!str(d.message)) bad("needs a message");
      if (d.on !== undefined && !["change", "every", "exit", "end"].includes(d.on as string))
        bad("on must be one of change, every, exit, end");
      this.expr(d.check, `${at}.check`, d, "int", 1);
    });
  }

  private readsVar(e: unknown): boolean {
    if (!isObj(e)) return false;
    switch (e.e) {
      case "var":
        return true;
      case "bin":
        return this.readsVar(e.l) || this.readsVar(e.r);
      case "not":
      case "isNone":
      case "before":
        return this.readsVar(e.x);
      default:
        return false;
    }
  }
}

/** A short text form of an expression, for messages and event labels: `v(x) + 1`. */
export function describeExpr(e: unknown, depth = 0): string {
  if (!isObj(e) || depth > 6) return "…";
  switch (e.e) {
    case "int":
      return String(e.v);
    case "none":
      return "None";
    case "var":
      return e.of !== undefined ? `${String(e.name)}[pid ${describeExpr(e.of, depth + 1)}]` : String(e.name);
    case "reg":
      return `r.${String(e.name)}`;
    case "bin":
      return `(${describeExpr(e.l, depth + 1)} ${String(e.op)} ${describeExpr(e.r, depth + 1)})`;
    case "not":
      return `!${describeExpr(e.x, depth + 1)}`;
    case "isNone":
      return `${describeExpr(e.x, depth + 1)}.is_none()`;
    case "before":
      return `before(${describeExpr(e.x, depth + 1)})`;
    case "held":
    case "owner":
      return `${e.e}(${String(e.lock)})`;
    case "evIs":
      return `event is ${String(e.kinds)}`;
    case "evTid":
      return "event tid";
    case "evField":
      return `event.${String(e.name)}`;
    default:
      return "?";
  }
}

/** Expr type guard for callers that walk expressions. */
export function isExpr(e: unknown): e is Expr {
  return isObj(e) && typeof e.e === "string";
}
