import { defineConfig } from 'vitest/config';

// No globalSetup: these tests read files and run docker-compose/promtool, they need no database.
export default defineConfig({ test: { testTimeout: 60_000, pool: 'forks' } });
