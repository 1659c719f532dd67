import { defineConfig } from 'vitest/config';

// One stack for the whole file (its own Redis, MongoDB-compatible server, services, Nginx) through
// @voip/dev-stack/stack; the Java side runs as child JVMs (test/support/java-phone.ts).
export default defineConfig({
  test: {
    testTimeout: 90_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
