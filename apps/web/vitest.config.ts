import { defineConfig } from 'vitest/config';

// End-to-end tests: a whole stack per file and a real Chromium, hence the generous limits.
export default defineConfig({
  test: {
    globalSetup: ['@voip/testkit/global-setup'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
