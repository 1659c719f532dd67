import { stackSuite } from '@voip/testkit/vitest-preset';

// Each file starts its own whole stack (Redis, a MongoDB-compatible server, coturn, every service, Nginx)
// through @voip/dev-stack/stack and attacks it through Nginx's port. Files run one at a time: a stack is heavy.
export default stackSuite(90_000);
