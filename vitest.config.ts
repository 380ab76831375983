import { defineConfig } from "vitest/config";

// vitest 5 targets Node 22; its failure reporter calls Map.groupBy / Object.groupBy,
// which Node 20 (this machine's Node) lacks. Without these, a failing test crashes
// the reporter instead of being shown.
type GroupBy = <K, T>(items: Iterable<T>, key: (item: T, i: number) => K) => Map<K, T[]>;
const M = Map as unknown as { groupBy?: GroupBy };
if (typeof M.groupBy !== "function") {
  M.groupBy = (items, key) => {
    const m = new Map();
    let i = 0;
    for (const it of items) {
      const k = key(it, i++);
      const g = m.get(k);
      if (g) g.push(it);
      else m.set(k, [it]);
    }
    return m;
  };
}
const O = Object as unknown as {
  groupBy?: <T>(items: Iterable<T>, key: (item: T, i: number) => PropertyKey) => Record<PropertyKey, T[]>;
};
if (typeof O.groupBy !== "function") {
  O.groupBy = (items, key) => Object.fromEntries(M.groupBy!(items, key));
}

export default defineConfig({
  test: {
    include: ["test/**/*.test.{ts,tsx}", "src/**/*.test.{ts,tsx}"],
    // A per-run TMPDIR, removed at the end (test/global-setup.ts).
    globalSetup: ["test/global-setup.ts"],
    // Not a performance limit: spawning Bun and Deno (cold caches, CI machines) is slow.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
