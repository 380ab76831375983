// CPython's import lock after fork on SerenityOS (CPython issue 126688, PR 126692;
// SerenityOS issue 25263). The import lock is a recursive mutex that records its
// owner's pthread_self(); SerenityOS gives a fork child a new one.

import { call, exit, fork, lock, restamp, unlock, user, waitpid } from "../kernel/index.ts";
import { defineScenario } from "./api.ts";

const IMPORT_LOCK = "import_lock";

export default defineScenario({
  name: "cpython-fork-serenity",
  description: "CPython 3.13 os.fork() on SerenityOS: the child's new thread id cannot release the import lock",
  upstream: "CPython issue 126688 / PR 126692 (3.13.1); SerenityOS issue 25263",
  fixes: {
    "reinit-lock":
      "CPython 3.13.1: _PyImport_ReInitLock re-stamps the import lock's owner with the child's ident before releasing it",
    linux:
      "Linux tid semantics: the fork child keeps the parent's pthread_self() (buggy CPython code, different kernel rule)",
  },
  defaults: { seed: 1 },
  build: ({ fix }) => ({
    rules: { tidAfterFork: fix === "linux" ? "inherit" : "new" },
    firstTid: 44,
    locks: {
      [IMPORT_LOCK]: {
        type: "recursive",
        badUnlock:
          "Fatal Python error: _PyRecursiveMutex_Unlock: unlocking a recursive mutex that is not owned by the current thread",
      },
    },
    procs: [
      {
        name: "python3",
        main: [
          call("Py_Initialize"),
          user(">>> import os"),
          call("os.fork()"),
          call("PyOS_BeforeFork", [call("_PyImport_AcquireLock", [lock(IMPORT_LOCK)])]),
          fork([
            call("PyOS_AfterFork_Child", [
              ...(fix === "reinit-lock" ? [call("_PyImport_ReInitLock", [restamp(IMPORT_LOCK)])] : []),
              call("_PyImport_ReleaseLock", [unlock(IMPORT_LOCK)]),
            ]),
            user("child: os._exit(0)"),
            exit(0),
          ]),
          call("PyOS_AfterFork_Parent", [call("_PyImport_ReleaseLock", [unlock(IMPORT_LOCK)])]),
          call("os.waitpid()", [waitpid("child")]),
          user(">>> "),
        ],
      },
    ],
  }),
});
