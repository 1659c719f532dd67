import { defineConfig } from 'vitest/config';

// No globalSetup: the pure tests need no servers, and each stack test file starts a whole stack (its own
// Redis, MongoDB-compatible server, services, Nginx) through @voip/dev-stack/stack. One file at a time.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
