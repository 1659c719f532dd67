import { stackSuite } from '@voip/testkit/vitest-preset';

// End-to-end tests: each file starts a whole stack (its own Redis, MongoDB-compatible server, services,
// coturn, Nginx) and a real Chromium, hence no globalSetup, generous limits and one file at a time.
export default stackSuite(120_000);
