import { defineConfig } from 'vitest/config';

// No globalSetup: the drawing tests read the dashboard file, they need no server.
export default defineConfig({ test: { testTimeout: 60_000, pool: 'forks' } });
