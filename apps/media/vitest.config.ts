import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // One stack and one Chromium for the whole file; files one after another (2 cores).
    fileParallelism: false,
  },
});
