// The auth service's configuration, read once from the environment.
import { baseConfigSpec, type ConfigOf, env, jwtVerifyConfigSpec, mongoConfigSpec, redisConfigSpec } from '@voip/kit/config';

export const configSpec = {
  ...baseConfigSpec,
  PORT: env.port(3001),
  ...redisConfigSpec,
  ...mongoConfigSpec,
  ...jwtVerifyConfigSpec,
};
export type Config = ConfigOf<typeof configSpec>;
