// The scenarios `pnpm bench` knows, in the order it runs them. Adding one: a module in this folder whose
// default export is a Scenario (lib/scenario.ts), and one line here.
export const scenarios = {
  relay: () => import('./relay.ts'),
  connections: () => import('./connections.ts'),
  'call-setup': () => import('./call-setup.ts'),
  'cross-instance': () => import('./cross-instance.ts'),
  resume: () => import('./resume.ts'),
  gateway: () => import('./gateway.ts'),
  soak: () => import('./soak.ts'),
  store: () => import('./store.ts'),
};
