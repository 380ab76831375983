// rCore-Tutorial-v3 freeing the kernel stack it runs on (issue 144, fixed by PR 146).
// When the main thread exits, exit_current_and_run_next clears process.tasks,
// dropping the running thread's control block and with it its kernel stack;
// drop(process), the TaskContext and the switch then run on the freed stack.

import { exit, fork, repeat, thread, user, waitpid } from "../kernel/index.ts";
import { defineScenario } from "./api.ts";

export default defineScenario({
  name: "rcore-kstack",
  description: "rCore: the exiting main thread's kernel stack is unmapped and freed while the CPU still runs on it",
  upstream: "rCore-Tutorial-v3 issue 144 / PR 146",
  fixes: {
    pr146:
      "PR 146: keep the main thread's control block in tasks; its kernel stack is freed when the parent reaps the zombie in waitpid",
  },
  options: {
    stack: {
      values: ["silent", "flush", "reuse"],
      default: "silent",
      doc: "what touching the freed stack does: nothing (as upstream), page fault after an explicit sfence.vma, or page fault when another thread gets its frames",
    },
  },
  defaults: { seed: 1 },
  build: ({ fix, options }) => {
    const stress =
      options.stack === "reuse" ? [fork([repeat(12, [thread([user("spinner: work")]), user("spawner: work")])])] : [];
    return {
      rules: {
        kstackFree: fix === "pr146" ? "at-reap" : "in-exit",
        stackCheck: options.stack as "silent" | "flush" | "reuse",
      },
      firstTid: 0,
      procs: [
        {
          name: "initproc",
          main: [
            user("initproc: fork user_shell"),
            ...stress,
            fork([user("usertest: main", 4), exit(0)]),
            repeat(stress.length + 1, [waitpid("any")]),
            user("initproc: all children reaped"),
          ],
        },
      ],
    };
  },
});
