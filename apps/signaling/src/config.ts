// The signaling service's configuration, read once from the environment.
import { baseConfigSpec, type ConfigOf, env, jwtVerifyConfigSpec, redisConfigSpec } from '@voip/kit/config';

export const configSpec = {
  ...baseConfigSpec,
  PORT: env.port(3004),
  ...redisConfigSpec,
  ...jwtVerifyConfigSpec,
};
export type Config = ConfigOf<typeof configSpec>;
