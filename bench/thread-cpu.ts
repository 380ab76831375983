// CPU time per thread of this process (Linux, /proc/self/task), sampled from a
// worker thread of its own every 20 ms, so that threads that end before the
// measurement does (the trace writer's) are counted too. Used by the benches:
//   const s = await ThreadCpu.start(); ...work...; const t = await s.stop();
// t: CPU seconds of the main thread, of the trace writer's worker thread
// (Bun names it "Worker", Deno "worker-N"), and of every other thread (the
// JIT compilers and the collector), the sampler's own excluded. null where
// /proc is not there.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { isMainThread, parentPort, Worker } from "node:worker_threads";

export interface ThreadCpuSeconds {
  main: number;
  writer: number;
  other: number;
  /** CPU seconds of the other threads by thread name (JSC's "JITWorker", "Heap Helper Thread", ...). */
  byName?: Record<string, number>;
}

/** utime + stime of a task, in seconds, and its name; null when it is gone. */
function task(tid: string): { cpu: number; name: string } | null {
  try {
    const st = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
    const name = st.slice(st.indexOf("(") + 1, st.lastIndexOf(")"));
    return { cpu: (Number(f[11]) + Number(f[12])) / 100, name };
  } catch {
    return null;
  }
}

/** The sampler's loop (in its worker): the largest CPU time seen per task, until told to stop. */
function sampler(): void {
  const self = readFileSync("/proc/thread-self/stat", "utf8").split(" ")[0]!;
  const pid = String(process.pid);
  const seen = new Map<string, { cpu: number; name: string; base: number }>();
  const sample = () => {
    for (const tid of readdirSync("/proc/self/task")) {
      if (tid === self) continue;
      const t = task(tid);
      if (t === null) continue;
      const s = seen.get(tid);
      if (s === undefined) seen.set(tid, { ...t, base: t.cpu });
      else {
        s.cpu = Math.max(s.cpu, t.cpu);
        // The name as last seen: a worker's thread may be sampled before it takes its name ("Worker").
        s.name = t.name;
      }
    }
  };
  sample();
  const timer = setInterval(sample, 20);
  parentPort!.once("message", () => {
    clearInterval(timer);
    sample();
    const r: ThreadCpuSeconds = { main: 0, writer: 0, other: 0, byName: {} };
    for (const [tid, s] of seen) {
      const used = s.cpu - s.base;
      if (tid === pid) r.main += used;
      else if (/^Worker$|^worker-\d+$/.test(s.name)) r.writer += used;
      else {
        r.other += used;
        r.byName![s.name] = (r.byName![s.name] ?? 0) + used;
      }
    }
    parentPort!.postMessage(r);
  });
  parentPort!.postMessage("ready");
}

export class ThreadCpu {
  private constructor(private readonly w: Worker) {}

  /** Starts sampling; null where /proc/self/task is not there. */
  static async start(): Promise<ThreadCpu | null> {
    if (!existsSync("/proc/self/task")) return null;
    const w = new Worker(new URL(import.meta.url), { workerData: "thread-cpu" });
    await new Promise((res) => w.once("message", res));
    return new ThreadCpu(w);
  }

  /** Stops sampling: CPU seconds per thread since start(). */
  async stop(): Promise<ThreadCpuSeconds> {
    const r = new Promise<ThreadCpuSeconds>((res) => this.w.once("message", res));
    this.w.postMessage("stop");
    const out = await r;
    await this.w.terminate();
    return out;
  }
}

if (!isMainThread && parentPort !== null && (await import("node:worker_threads")).workerData === "thread-cpu")
  sampler();
