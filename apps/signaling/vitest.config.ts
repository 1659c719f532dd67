import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['@voip/testkit/global-setup'],
    testTimeout: 40_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
