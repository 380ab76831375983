// apply.ts keeps an index of who waits for which lock and pid (derived, per
// threads map, built on first use and added to as events set waits). The
// fold with a long-lived index must give the state the fold from a freshly
// built one gives: before every event the second state is rebuilt from its
// plain form (new maps, so its index is built from the threads again).

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { importTrace } from "../src/import/index.ts";
import { applyEvent, fromPlain, type KEvent, type KState, toPlain } from "../src/kernel/index.ts";
import { openSource } from "../src/replay/index.ts";
import { allEvents, canon, memorySource } from "./helpers/replay-sources.ts";
import { REPO_ROOT } from "./helpers/run-cli.ts";

function foldBoth(start: KState, events: readonly KEvent[]): number {
  const a = fromPlain(toPlain(start));
  let checked = 0;
  for (const e of events) {
    const b = fromPlain(toPlain(a));
    applyEvent(a, e);
    applyEvent(b, e);
    expect(canon(b), `after seq ${e.seq}`).toBe(canon(a));
    checked++;
  }
  return checked;
}

describe("the waiter index gives the walk's state", () => {
  const cases: [string, { fix?: string; seed?: number }][] = [
    ["tcmalloc-fork", { seed: 3 }],
    ["zombie-leak", { seed: 5 }],
    ["zombie-leak", { fix: "sigchld-reaper", seed: 5 }],
    ["lock-cycle", { seed: 7 }],
    ["priority-inversion", { seed: 2 }],
    ["pipe-inherit", { seed: 4 }],
    ["procfs-vmar", { seed: 9 }],
    ["futex-mutex", { seed: 11 }],
  ];
  for (const [name, req] of cases)
    it(`${name} ${JSON.stringify(req)}`, async () => {
      const target = name === "tcmalloc-fork" ? name : join(REPO_ROOT, "examples", `${name}.ts`);
      const src = await memorySource(target, { ...req, maxEvents: 3000 });
      const evs = allEvents(src);
      expect(foldBoth(src.loadSnapshot(-1).state, evs)).toBe(evs.length);
    });

  it("an imported ftrace trace with lock waits (lockdep ABBA) and exits", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ktrace-waiters-"));
    for (const f of ["lockdep-abba.txt", "tracefs-tgid.txt"]) {
      const out = join(dir, `${f}.ktrace`);
      await importTrace(join(REPO_ROOT, "fixtures/import/ftrace", f), out, { writer: "ktrace test" });
      const src = openSource(out);
      const evs = allEvents(src);
      expect(foldBoth(src.loadSnapshot(-1).state, evs)).toBe(evs.length);
      src.close();
    }
  });
});
