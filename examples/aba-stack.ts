// aba-stack.ts: the ABA problem on a lock-free (Treiber) stack.
//
// Models: a stack of three nodes A → B → C; `head` and each node's `next`
// are atomics, and pop is "read head, read head->next, cas(head, old, next)".
// A slow popper reads head = A and A->next = B, and an interrupt handler
// runs on its cpu before its cas (16 steps). Meanwhile
// another thread pops A, pops B (and keeps it), and pushes A back: head is A
// again, so the slow popper's cas succeeds and installs B, a node that is no
// longer on the stack. The next pop hands B out a second time. Every access
// is atomic (no data race): the cas compares a value that came back, not the
// state it stood for. Each pop counts the node's owners; the scenario's own
// invariant says a node has at most one.
//
// ktrace reports (buggy variant, on the rare seeds where the other thread's
// pop, pop, push fits in the slow popper's window): outcome `ok`; the scenario's
// own `node-owned-once` at the fetch-add that makes a node's owner count 2
// (the second pop of B).
//
// Fix: `tagged` (head carries a version tag bumped by every successful cas:
// the stale cas fails and retries).
export default (k) =>
  k.defineScenario({
    name: "aba-stack",
    description: "a lock-free stack's pop installs a node that was popped meanwhile (ABA): a node handed out twice",
    fixes: { tagged: "head carries a version tag that every successful cas bumps" },
    defaults: { seed: 1 },
    build: ({ fix }) => {
      const at = { atomic: true };
      const tagged = fix === "tagged";
      // head = node index (1 A, 2 B, 3 C; 0 empty) + 4 * tag; the tag stays 0 without the fix.
      const idxOf = (reg) => k.mod(k.r(reg), 4);
      const withTag = (node, h) => (tagged ? k.add(node, k.mul(k.add(k.div(k.r(h), 4), 1), 4)) : node);
      const byNode = (idx, ops) => [k.when(k.eq(idx, 1), ops(1), [k.when(k.eq(idx, 2), ops(2), ops(3))])];
      const pop = (window) => [
        k.set("popped", 0), k.set("got", 0),
        k.loopWhile(k.eq(k.r("popped"), 0), { max: Infinity }, [
          k.load("h", "head", at),
          k.when(k.eq(idxOf("h"), 0), [k.set("popped", 1)], [
            ...byNode(idxOf("h"), (n) => [k.load("nx", `next${n}`, at)]),
            ...(window ? [k.user("interrupted: an IRQ handler runs on this cpu", window)] : []),
            k.cas("head", k.r("h"), withTag(k.r("nx"), "h"), { reg: "seen" }),
            k.when(k.eq(k.r("seen"), k.r("h")), [k.set("popped", 1), k.set("got", idxOf("h"))]),
          ]),
        ]),
        k.when(k.ne(k.r("got"), 0), byNode(k.r("got"), (n) => [k.fetchAdd(`owners${n}`, 1)])),
      ];
      const push = (node) => [
        k.set("pushed", 0),
        k.loopWhile(k.eq(k.r("pushed"), 0), { max: Infinity }, [
          k.load("h", "head", at),
          k.fetchAdd(`owners${node}`, -1), k.store(`next${node}`, idxOf("h"), at),
          k.cas("head", k.r("h"), withTag(node, "h"), { reg: "seen" }),
          k.when(k.eq(k.r("seen"), k.r("h")), [k.set("pushed", 1)], [k.fetchAdd(`owners${node}`, 1)]),
        ]),
      ];
      const slow = [...pop(16), k.user("use the node"), ...pop(0), k.store("done", 1, at)];
      const other = [...pop(0), ...pop(0), k.user("keep B"), ...push(1)];
      const join = [k.load("d", "done", at), k.loopWhile(k.eq(k.r("d"), 0), { max: Infinity }, [k.load("d", "done", at)])];
      const vars = { head: { type: "int" }, done: { type: "int" } };
      for (const n of [1, 2, 3]) Object.assign(vars, { [`next${n}`]: { type: "int" }, [`owners${n}`]: { type: "int" } });
      const once = (n) => k.le(k.v(`owners${n}`), 1);
      return {
        vars,
        procs: [{
          name: "stack",
          main: [
            k.store("next1", 2, at), k.store("next2", 3, at), k.store("next3", 0, at), k.store("head", 1, at),
            k.store("owners1", 0, at), k.store("owners2", 0, at), k.store("owners3", 0, at),
            k.thread(other), ...slow, ...join,
          ],
        }],
        invariants: [k.invariant("node-owned-once", k.and(once(1), k.and(once(2), once(3))), "a node was popped while another thread still owned it")],
      };
    },
  });
