import { stackSuite } from '@voip/testkit/vitest-preset';

// No globalSetup: the pure tests need no servers, and each stack test file starts a whole stack (its own
// Redis, MongoDB-compatible server, services, Nginx) through @voip/dev-stack/stack. One file at a time.
export default stackSuite(60_000);
