// The allocator model: tcmalloc's thread caches, central free lists and page
// heap, with the locks gperftools takes (spinlocks).
//
// malloc takes an object from the thread's cache; an empty cache refills from
// the size class's central free list under its lock; a size with no class
// goes to the page heap under the page-heap lock. A thread without a cache
// (its first malloc in this address space) first creates one under SlowTLS,
// taking the memory from the system allocator under its lock: the path the
// tcmalloc-fork scenario's child gets stuck on.

import { AGAIN, DONE, type Frame, KEEP, type R, type TCtx, userFrame, type XOp } from "./ctx.ts";
import { COST, SIZE_CLASSES, TCACHE_REFILL } from "./params.ts";
import type { Simulator } from "./sim.ts";
import { KIND } from "./types.ts";

/** The tcmalloc model's locks: spinlocks, as in gperftools. */
export const ALLOC_LOCKS = {
  pageheap: "tcmalloc.pageheap",
  slowTls: "tcmalloc.SlowTLS",
  sysalloc: "tcmalloc.sysalloc",
  central: (size: number) => `tcmalloc.central[${size}]`,
} as const;

/** Index of the smallest size class holding `size`, -1 for a page-heap allocation. */
export function sizeClass(size: number): number {
  // A table up to the largest class (no loop whose exit depends on the size: the sizes come in no order).
  if (size >= 0 && size <= MAX_CLASS && Number.isInteger(size)) return CLASS_OF[size]!;
  for (let i = 0; i < SIZE_CLASSES.length; i++) if (size <= SIZE_CLASSES[i]!) return i;
  return -1;
}

const MAX_CLASS = SIZE_CLASSES[SIZE_CLASSES.length - 1];
/** sizeClass of each size 0..MAX_CLASS. */
const CLASS_OF = (() => {
  const t = new Int8Array(MAX_CLASS + 1);
  for (let s = 0, i = 0; s <= MAX_CLASS; s++) {
    while (s > SIZE_CLASSES[i]!) i++;
    t[s] = i;
  }
  return t;
})();

/** An empty thread cache. */
export function emptyCache(): number[] {
  return SIZE_CLASSES.map(() => 0);
}

/**
 * malloc(size) by thread t, whose current frame f holds the op. Emits, on the
 * fast path, malloc (path 0) and returns DONE. Otherwise pushes the slow path
 * as a user frame of ops (locks are taken as ordinary lock ops, so the thread
 * can be preempted or spin between them): without a thread cache, a user
 * event then SlowTLS → sysalloc → tcache-new → malloc again; with an empty
 * cache, the central list's (or page heap's) lock → malloc (path 1 or 2).
 */
export function malloc(k: Simulator, t: TCtx, c: number, size: number, f: Frame): R {
  const tid = t.tid;
  if (!hasCache(k, t)) {
    f.pc++;
    t.frames.push(userFrame(slowTlsPath(k, size)));
    k.emitInert(c, tid, KIND.user, 0, 0, "tcmalloc: no thread cache, slow path");
    return KEEP;
  }
  const cls = sizeClass(size);
  if (cls >= 0 && t.tc[cls]! > 0) {
    t.tc[cls]!--;
    k.emitInert(c, tid, KIND.malloc, size, 0, ""); // size, path 0
    k.cost(COST.malloc, c);
    return DONE;
  }
  f.pc++;
  t.frames.push(userFrame(refillPath(k, size)));
  return AGAIN;
}

/** Whether t's process has a thread cache for t (its tcache-new is in the state's tcaches; TCtx.cached once seen). */
function hasCache(k: Simulator, t: TCtx): boolean {
  if (t.cached) return true;
  const caches = k.state.procs.get(t.pid)!.tcaches;
  for (let i = 0; i < caches.length; i++) if (caches[i] === t.tid) return (t.cached = true);
  return false;
}

/**
 * malloc(size)'s path without a thread cache, as ops: SlowTLS → sysalloc →
 * tcache-new → malloc again. One array per simulator and size (the same ops
 * each time; the interpreter keeps its op codes by array).
 */
function slowTlsPath(k: Simulator, size: number): XOp[] {
  let ops = k.mallocPaths.slowTls.get(size);
  if (ops === undefined) {
    ops = [
      { op: "lock", lock: ALLOC_LOCKS.slowTls },
      { op: "lock", lock: ALLOC_LOCKS.sysalloc },
      { op: "user", label: "SystemAlloc(sizeof(ThreadCache))", n: 1 },
      { op: "unlock", lock: ALLOC_LOCKS.sysalloc },
      {
        op: "$",
        run: (t2, c2) => {
          k.emitSlots(c2, t2.tid, KIND.tcacheNew, t2.pid, 0, 0, ""); // pid
          return DONE;
        },
      },
      { op: "unlock", lock: ALLOC_LOCKS.slowTls },
      { op: "malloc", size },
    ];
    k.mallocPaths.slowTls.set(size, ops);
  }
  return ops;
}

/**
 * malloc(size)'s path with an empty cache, as ops: the central list's (or
 * page heap's) lock → malloc (path 1 or 2) → unlock. One array per simulator
 * and size, as slowTlsPath's.
 */
function refillPath(k: Simulator, size: number): XOp[] {
  let ops = k.mallocPaths.refill.get(size);
  if (ops === undefined) {
    const cls = sizeClass(size);
    const name = cls >= 0 ? ALLOC_LOCKS.central(SIZE_CLASSES[cls]!) : ALLOC_LOCKS.pageheap;
    ops = [
      { op: "lock", lock: name },
      {
        op: "$",
        run: (t2, c2) => {
          if (cls >= 0) t2.tc[cls]! += TCACHE_REFILL - 1;
          k.emitInert(c2, t2.tid, KIND.malloc, size, cls >= 0 ? 1 : 2, ""); // size, path
          k.cost(COST.malloc, c2);
          return DONE;
        },
      },
      { op: "unlock", lock: name },
    ];
    k.mallocPaths.refill.set(size, ops);
  }
  return ops;
}

/** free(size): the object goes back to t's cache. Emits free. */
export function free(k: Simulator, t: TCtx, c: number, size: number): R {
  const cls = sizeClass(size);
  if (cls >= 0) t.tc[cls]!++;
  k.emitInert(c, t.tid, KIND.free, size, 0, "");
  k.cost(COST.malloc, c);
  return DONE;
}
