// tcmalloc's allocator lock held across fork (gperftools issue 1570, fixed in 2.17).
// The pthread_atfork prepare handler takes the page heap and central free list
// locks, but not SlowTLS or the system allocator lock: a fork while another
// thread creates its thread cache copies a held SlowTLS into the child.

import {
  ALLOC_LOCKS,
  atfork,
  call,
  exec,
  fork,
  free,
  lock,
  malloc,
  type Op,
  params,
  repeat,
  spawn,
  thread,
  unlock,
  user,
  waitpid,
} from "../kernel/index.ts";
import { defineScenario } from "./api.ts";

const central = params.SIZE_CLASSES.map((s) => ALLOC_LOCKS.central(s));

function atforkHandler(fixed: boolean): Op {
  // gperftools: CentralCacheLockAll then the page heap; 2.17 also SlowTLS and the system allocator,
  // in the order the slow path takes them (SlowTLS first, sysalloc last) so the handler cannot deadlock with it.
  const order = fixed
    ? [ALLOC_LOCKS.slowTls, ...central, ALLOC_LOCKS.pageheap, ALLOC_LOCKS.sysalloc]
    : [...central, ALLOC_LOCKS.pageheap];
  const release = order.slice().reverse().map(unlock);
  return atfork({ prepare: order.map(lock), parent: release, child: release });
}

export default defineScenario({
  name: "tcmalloc-fork",
  description: "gperftools tcmalloc: fork while another thread holds SlowTLS; the child's first malloc spins forever",
  upstream: "gperftools issue 1570 (fixed in 2.17)",
  fixes: {
    "atfork-2.17": "gperftools 2.17: the atfork prepare handler also takes SlowTLS and the system-allocator lock",
    "posix-spawn": "build the environment before, then posix_spawn: no allocation in a forked child",
  },
  defaults: { seed: 1 },
  build: ({ fix }) => {
    const worker: Op[] = [
      user("worker: compute", 6),
      call("first malloc: ThreadCache::CreateCacheIfNecessary", [malloc(32)]),
      repeat(6, [malloc(16), user("worker: compute"), free(16)]),
    ];
    const launch: Op[] =
      fix === "posix-spawn"
        ? [
            call("build envp with PATH set", [malloc(64)]),
            call('posix_spawn("/bin/true")', [spawn("/bin/true", [user("true: main")])]),
          ]
        : [
            fork([
              call('setenv("PATH", ...)', [call("realloc(environ)", [malloc(64)])]),
              call('execv("/bin/true")', [exec("/bin/true", [user("true: main")])]),
            ]),
          ];
    return {
      procs: [
        {
          name: "app",
          main: [
            call("tcmalloc init", [atforkHandler(fix === "atfork-2.17")]),
            thread(worker),
            user("main: compute", 5),
            ...launch,
            call("waitpid(child)", [waitpid("child")]),
          ],
        },
      ],
    };
  },
});
