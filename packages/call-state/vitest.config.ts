import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['@voip/testkit/global-setup'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
