import { stackSuite } from '@voip/testkit/vitest-preset';

// One stack for the whole file (its own Redis, MongoDB-compatible server, services, Nginx) through
// @voip/dev-stack/stack; the Java side runs as child JVMs (test/support/java-phone.ts).
export default stackSuite(90_000);
