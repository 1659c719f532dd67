// The vitest configuration of a package whose tests share one Redis and one MongoDB-compatible server
// (global-setup.ts) and start services in-process. Its vitest.config.ts re-exports it:
// `export { default } from '@voip/testkit/vitest-preset';`. `stackSuite` is the configuration of a suite
// whose every file starts a whole stack instead. Packages that need other limits keep their own.
import { defineConfig, type ViteUserConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['@voip/testkit/global-setup'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});

/**
 * A suite whose every file starts a whole stack (its own Redis, MongoDB-compatible server, services, Nginx)
 * through @voip/dev-stack/stack: no shared servers unless `extra` adds them, three minutes for a stack to
 * start or stop, and files one at a time (a stack is heavy; two would compete for the two cores).
 */
export function stackSuite(testTimeout: number, extra: NonNullable<ViteUserConfig['test']> = {}) {
  return defineConfig({
    test: { testTimeout, hookTimeout: 180_000, pool: 'forks', fileParallelism: false, ...extra },
  });
}
