import { stackSuite } from '@voip/testkit/vitest-preset';

export default stackSuite(120_000, {
  // Redis and the MongoDB-compatible server for service.test.ts; recording.test.ts starts its own stack.
  globalSetup: ['@voip/testkit/global-setup'],
});
