import { defineConfig } from 'vitest/config';

// End-to-end tests: each file starts a whole stack (its own Redis, MongoDB-compatible server, services,
// coturn, Nginx) and a real Chromium, hence no globalSetup, generous limits and one file at a time.
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
