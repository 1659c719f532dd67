import { defineConfig } from 'vitest/config';

// Each file starts one whole stack (its own Redis, MongoDB-compatible server, services, Nginx) through
// @voip/dev-stack/stack and shares it between its tests. Files run one at a time: a stack is heavy and
// the faults are timed, so two stacks competing for two cores would only make both slower.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
