import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // Not a performance limit: spawning Bun and Deno (cold caches, CI machines) is slow.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
