// Asterinas reading a VMAR that exit already cleared (issue 2194).
// Exit of the last thread sets the root VMAR to None under its lock; the zombie
// stays in /proc until reaped, and /proc/<pid>/status unwrap()s the VMAR.

import { exit, fork, procfs, repeat, user, waitpid } from "../kernel/index.ts";
import { defineScenario } from "./api.ts";

export default defineScenario({
  name: "asterinas-procfs",
  description: "Asterinas: /proc/<pid>/status of a zombie unwrap()s the VMAR that exit set to None: kernel panic",
  upstream: 'Asterinas issue 2194 ("Fix unwrap panic of dropped VMAR in PID status")',
  fixes: {
    "none-check":
      "the status reader checks for None and leaves out the VmRSS/RssAnon/RssFile lines of an exited process",
  },
  options: {
    reads: {
      values: ["1", "2", "3", "4", "6", "8"],
      default: "3",
      doc: "how many times the parent reads /proc/<child>/status before waitpid",
    },
  },
  defaults: { seed: 1 },
  build: ({ fix, options }) => ({
    rules: { procfsVmar: fix === "none-check" ? "check" : "unwrap" },
    procs: [
      {
        name: "reproducer",
        main: [
          fork([exit(0)]),
          repeat(Number(options.reads), [procfs("status"), user("parse status")]),
          waitpid("child"),
        ],
      },
    ],
  }),
});
