// The scenarios `pnpm bench` knows, in the order it runs them. Adding one: a module in this folder whose
// default export is a Scenario (lib/scenario.ts), and one line here.
export const scenarios = {
  relay: () => import('./relay.ts'),
  'call-setup': () => import('./call-setup.ts'),
  store: () => import('./store.ts'),
};
