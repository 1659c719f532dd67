import { defineConfig } from 'vitest/config';

// The smoke test starts real servers (Redis, signaling instances, Toxiproxy) through the harness itself.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    pool: 'forks',
  },
});
