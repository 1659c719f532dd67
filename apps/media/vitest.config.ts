import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Redis and the MongoDB-compatible server for service.test.ts; recording.test.ts starts its own stack.
    globalSetup: ['@voip/testkit/global-setup'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // One stack and one Chromium per file; files one after another (2 cores).
    fileParallelism: false,
  },
});
