import { defineConfig } from 'vitest/config';

// No globalSetup: each file starts a whole stack (its own Redis, MongoDB-compatible server, services
// and Nginx) through @voip/dev-stack/stack. Files run one at a time: a stack is heavy.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
