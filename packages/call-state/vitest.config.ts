export { default } from '@voip/testkit/vitest-preset';
