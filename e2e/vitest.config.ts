import { stackSuite } from '@voip/testkit/vitest-preset';

// No globalSetup: each file starts a whole stack (its own Redis, MongoDB-compatible server, services
// and Nginx) through @voip/dev-stack/stack. Files run one at a time: a stack is heavy.
export default stackSuite(60_000);
