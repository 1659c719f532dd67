import { defineConfig } from 'vitest/config';

// `turbo dev` from a clean copy of the tree (minutes on a loaded 2-core machine) and stack-cli --stop.
export default defineConfig({ test: { testTimeout: 900_000, hookTimeout: 300_000, pool: 'forks' } });
