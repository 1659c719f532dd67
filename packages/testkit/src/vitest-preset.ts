// The vitest configuration of a package whose tests share one Redis and one MongoDB-compatible server
// (global-setup.ts) and start services in-process. Its vitest.config.ts re-exports it:
// `export { default } from '@voip/testkit/vitest-preset';`. Packages that need other limits keep their own.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['@voip/testkit/global-setup'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
