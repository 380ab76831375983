// Where `ktrace check`'s memory goes: the process's resident memory step by
// step, from an idle runtime to the two-thread scan, as check builds it up.
// Usage: npx bun bench/check-memory.ts [TRACE] [--json]
// (default TRACE: bench/out/stress-10000000.ktrace; issue 14's figure is at 100M).
// Each step prints the process's resident memory after it (VmRSS, of which
// anonymous and file pages) and its peak during the step (VmHWM, reset before
// each step through /proc/self/clear_refs), and the JS heap of the thread that
// ran it (bun:jsc heapStats: live size and capacity). The steps:
//   idle         the runtime with this script's own imports (node:fs, node:worker_threads)
//   modules      + the modules `ktrace check` loads (the CLI, the replay and trace code)
//   open         + the trace opened twice, as check does (the source it reports on, and its own reader)
//   worker       + a worker thread with nothing in it, started (as check starts it: smol)
//   worker mods  + the worker loads the scan modules and opens the trace (as scan-worker.ts does)
//   worker scan  + the worker checks the first half of the segments, this thread idle
//   main scan    + this thread checks the second half, the worker idle
//   both scan    + both check every segment again, claiming them from one counter as check does
// Linux only (/proc). docs/BENCHMARKS.md keeps the figures.

import { readFileSync, writeFileSync } from "node:fs";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";

const MB = (kb: number) => +(kb / 1024).toFixed(1);

/** The process's resident memory (kB) from /proc/self/status. */
function status(): { rss: number; anon: number; file: number; hwm: number } {
  const s = readFileSync("/proc/self/status", "utf8");
  const f = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(s)?.[1] ?? Number.NaN);
  return { rss: f("VmRSS"), anon: f("RssAnon"), file: f("RssFile"), hwm: f("VmHWM") };
}

/** This thread's JS heap (MB): live after the last collection's marking, and capacity. */
async function heap(): Promise<{ size: number; capacity: number }> {
  try {
    const name = "bun:jsc"; // (not a module Node or tsc knows)
    const jsc = (await import(name)) as { heapSize(): number; heapStats(): { heapCapacity: number } };
    return {
      size: +(jsc.heapSize() / 2 ** 20).toFixed(1),
      capacity: +(jsc.heapStats().heapCapacity / 2 ** 20).toFixed(1),
    };
  } catch {
    const m = process.memoryUsage();
    return { size: +(m.heapUsed / 2 ** 20).toFixed(1), capacity: +(m.heapTotal / 2 ** 20).toFixed(1) };
  }
}

type Req = { type: "load"; path: string } | { type: "scan"; from: number; to: number } | { type: "claim" };

if (!isMainThread && workerData?.memx === "empty") {
  // The empty worker: answers so that the main thread knows it runs.
  parentPort!.on("message", () => parentPort!.postMessage(null));
} else if (!isMainThread) {
  // The scanning worker: what scan-worker.ts does, on request.
  const { selectFor } = await import("../src/replay/invariants.ts");
  const { checkSegment, claim, planFor } = await import("../src/replay/parallel-scan.ts");
  const { openSource, displaySafe } = await import("../src/replay/source.ts");
  const { bounds, last, shared } = workerData as { bounds: number[]; last: number; shared: SharedArrayBuffer };
  const counter = new Int32Array(shared);
  let ctx: { src: ReturnType<typeof displaySafe>; plan: ReturnType<typeof planFor> } | null = null;
  parentPort!.on("message", async (m: Req) => {
    if (m.type === "load") {
      const src = displaySafe(openSource(m.path));
      ctx = { src, plan: planFor(selectFor(src, [])) };
    } else if (m.type === "scan") {
      for (let k = m.from; k < m.to; k++) checkSegment(ctx!.src, ctx!.plan, bounds, last, k);
    } else {
      for (let k = claim(counter, bounds.length); k >= 0; k = claim(counter, bounds.length))
        checkSegment(ctx!.src, ctx!.plan, bounds, last, k);
    }
    parentPort!.postMessage(await heap());
  });
} else {
  const argv = process.argv.slice(2);
  const json = argv.includes("--json");
  const path = argv.find((a) => !a.startsWith("--")) ?? "bench/out/stress-10000000.ktrace";
  const rows: { step: string; rssMb: number; anonMb: number; fileMb: number; peakMb: number; heap: string }[] = [];
  const step = async (name: string, f: () => Promise<string | undefined> | string | undefined) => {
    writeFileSync("/proc/self/clear_refs", "5"); // resets VmHWM to the current RSS
    const other = await f();
    const s = status();
    const h = await heap();
    rows.push({
      step: name,
      rssMb: MB(s.rss),
      anonMb: MB(s.anon),
      fileMb: MB(s.file),
      peakMb: MB(s.hwm),
      heap: `main ${h.size}/${h.capacity}${other ? `, worker ${other}` : ""}`,
    });
  };
  // Asks the worker and waits for its answer: its heap, live/capacity.
  const call = (w: Worker, m: Req) => {
    const p = new Promise<string>((res) =>
      w.once("message", (h: { size: number; capacity: number } | null) => res(h ? `${h.size}/${h.capacity}` : "")),
    );
    w.postMessage(m);
    return p;
  };

  await step("idle", () => undefined);
  let mods!: {
    checkSegment: typeof import("../src/replay/parallel-scan.ts").checkSegment;
    claim: typeof import("../src/replay/parallel-scan.ts").claim;
    planFor: typeof import("../src/replay/parallel-scan.ts").planFor;
    segmentBounds: typeof import("../src/replay/parallel-scan.ts").segmentBounds;
    selectFor: typeof import("../src/replay/invariants.ts").selectFor;
    openSource: typeof import("../src/replay/source.ts").openSource;
    displaySafe: typeof import("../src/replay/source.ts").displaySafe;
  };
  await step("modules", async () => {
    await import("../src/cli/main.ts");
    await import("../src/cli/cmd/check.ts");
    mods = {
      ...(await import("../src/replay/parallel-scan.ts")),
      ...(await import("../src/replay/invariants.ts")),
      ...(await import("../src/replay/source.ts")),
    };
    return undefined;
  });
  let src!: ReturnType<typeof mods.displaySafe>;
  let plan!: ReturnType<typeof mods.planFor>;
  let bounds: number[] = [];
  let last = 0;
  await step("open", () => {
    const raw = mods.openSource(path);
    src = mods.displaySafe(mods.openSource(path));
    plan = mods.planFor(mods.selectFor(src, []));
    last = raw.eventCount - 1;
    bounds = mods.segmentBounds(raw.snapshotSeqs, last, 1 << 20);
    return undefined;
  });
  const opts = { smol: true } as ConstructorParameters<typeof Worker>[1];
  let empty: Worker | null = null;
  await step("worker", async () => {
    empty = new Worker(new URL(import.meta.url), { ...opts, workerData: { memx: "empty" } });
    await call(empty, { type: "claim" });
    return undefined;
  });
  const shared = new Int32Array(new SharedArrayBuffer(8));
  shared[1] = bounds.length;
  const half = Math.ceil(bounds.length / 2);
  let w!: Worker;
  await step("worker mods", async () => {
    await empty!.terminate();
    w = new Worker(new URL(import.meta.url), { ...opts, workerData: { bounds, last, shared: shared.buffer } });
    return call(w, { type: "load", path });
  });
  await step("worker scan", () => call(w, { type: "scan", from: 0, to: half }));
  await step("main scan", () => {
    for (let k = half; k < bounds.length; k++) mods.checkSegment(src, plan, bounds, last, k);
    return undefined;
  });
  await step("both scan", async () => {
    const theirs = call(w, { type: "claim" });
    for (let k = mods.claim(shared, bounds.length); k >= 0; k = mods.claim(shared, bounds.length)) {
      mods.checkSegment(src, plan, bounds, last, k);
      await new Promise<void>((res) => setImmediate(res));
    }
    return theirs;
  });
  await w.terminate();
  if (json) console.log(JSON.stringify({ path, segments: bounds.length, rows }, null, 2));
  else {
    console.log(`check's memory, step by step (${path}, ${bounds.length} segments); MB; heap: live/capacity`);
    console.log("step          RSS   anon  file  peak  heap");
    for (const r of rows)
      console.log(
        `${r.step.padEnd(12)} ${String(r.rssMb).padStart(5)} ${String(r.anonMb).padStart(5)} ${String(r.fileMb).padStart(5)} ${String(r.peakMb).padStart(5)}  ${r.heap}`,
      );
  }
}
