// stolen-wakeup.ts: `if` instead of `while` around pthread_cond_wait: a
// consumer that never waited takes the item a woken consumer was signalled for.
//
// Models: a work queue with two consumer threads and a producer. A consumer
// takes the queue's mutex and, if the queue is empty, waits on `nonempty`
// once; then it takes an item. The producer queues an item and signals. The
// woken consumer must get the mutex back before it returns from the wait; a
// consumer that arrives in between finds the item, takes it, and the woken
// one then takes from an empty queue (POSIX: "the return from
// pthread_cond_wait() does not imply anything about the value of this
// predicate; the predicate should be re-evaluated upon such return").
//
// ktrace reports (buggy variant, seeds 1..2000): 34 of 2,000 fail, outcome
// `fatal`: `assertions` ("queue not empty") where the late consumer runs
// between the signal and the woken one's return; its causes: the store by
// the other consumer that emptied the queue, and the wakeup it stole ("tid 2
// was woken here by tid 1 (futex_wake on nonempty); tid 3 changed items
// (1 → 0) at 38, after this wakeup and before tid 2 read it at 47: what the
// wakeup announced no longer held when tid 2 ran (a woken waiter tests its
// condition again: while, not if)"). `--strategy pct` finds it on 69 of
// 2,000 (twice as often); `--strategy dfs` on 18 of the 7,566 schedules with
// at most 2 preemptions (on 1 cpu; none with fewer).
//
// Fix: `while` (wait in a loop until the queue is not empty).
export default (k) =>
  k.defineScenario({
    name: "stolen-wakeup",
    description: "if instead of while around pthread_cond_wait: another consumer takes the item first",
    fixes: { while: "wait in a loop until the queue is not empty (re-check after every wakeup)" },
    defaults: { seed: 1, cpus: 2 },
    build: ({ fix }) => {
      const consumer = (name) => [
        k.lock("queue"),
        fix === "while"
          ? k.loopWhile(k.eq(k.v("items"), 0), { max: Infinity }, [k.cvWait("nonempty", "queue")])
          : k.when(k.eq(k.v("items"), 0), [k.cvWait("nonempty", "queue")]),
        k.load("n", "items"),
        k.assert(k.gt(k.r("n"), 0), "queue not empty"),
        k.store("items", k.sub(k.r("n"), 1)),
        k.unlock("queue"),
        k.user(`${name}: process the item`, 2),
      ];
      return {
        vars: { nonempty: k.condvar(), items: { type: "int" } },
        procs: [{
          name: "server",
          main: [
            k.thread(consumer("worker 1"), { tid: "w1" }),
            k.thread(consumer("worker 2"), { tid: "w2" }),
            k.repeat(2, [
              k.user("producer: make an item", 2),
              k.lock("queue"), k.load("m", "items"), k.store("items", k.add(k.r("m"), 1)),
              k.cvSignal("nonempty"), k.unlock("queue"),
            ]),
            k.join(k.r("w1")), k.join(k.r("w2")),
          ],
        }],
      };
    },
  });
