import { stackSuite } from '@voip/testkit/vitest-preset';

// Each file starts one whole stack (its own Redis, MongoDB-compatible server, services, Nginx) through
// @voip/dev-stack/stack and shares it between its tests. Files run one at a time: a stack is heavy and
// the faults are timed, so two stacks competing for two cores would only make both slower.
export default stackSuite(120_000, { include: ['test/**/*.test.ts'] });
