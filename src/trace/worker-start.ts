// Starting a worker thread that reports through shared memory (the trace
// writer's thread, the import's parse thread): such a thread may never return
// to its event loop to post a message, so it says it runs by raising a flag,
// which this polls.

import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * Starts the worker at `url` and waits until `ready()` (the flag it raises) is
 * true: the worker, unref'd, or why it did not start (a runtime without a
 * TypeScript worker, as Node under vitest; a worker that failed or exited first).
 */
export async function startWorker(url: URL, options: WorkerOptions, ready: () => boolean): Promise<Worker | string> {
  let w: Worker;
  try {
    w = new Worker(url, options);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  const why = await new Promise<string | null>((res) => {
    let settled = false;
    const settle = (x: string | null) => {
      if (!settled) {
        settled = true;
        res(x);
      }
    };
    w.once("error", (e: unknown) => settle(e instanceof Error ? e.message : String(e)));
    w.once("exit", (code: number) => settle(`it exited with code ${code}`));
    const poll = () => (settled ? undefined : ready() ? settle(null) : setTimeout(poll, 2));
    poll();
  });
  if (why !== null) {
    void w.terminate().catch(() => 0);
    return why;
  }
  w.removeAllListeners("error");
  w.removeAllListeners("exit");
  w.unref();
  return w;
}
