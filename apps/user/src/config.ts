// The user service's configuration, read once from the environment.
import {
  type ConfigOf,
  env,
  rateLimitConfigSpec,
  serviceConfigSpec,
  streamConsumerConfigSpec,
} from '@voip/kit/config';

export const configSpec = {
  ...serviceConfigSpec(3002),
  /** Most ids one GET /presence may ask about (one Redis pipeline per request). */
  PRESENCE_MAX_IDS: env.int(200, { min: 1, max: 1000 }),
  /** Most contacts one account may keep (GET /me/contacts is not paginated). */
  MAX_CONTACTS: env.int(1000, { min: 1, max: 100_000 }),
  /** Most push devices per account; registering one more drops the least recently registered. */
  MAX_DEVICES: env.int(20, { min: 1, max: 1000 }),
  /** Changes per GET /sync/changes page when the client does not say. */
  SYNC_PAGE_SIZE: env.int(100, { min: 1, max: 500 }),
  /**
   * A sync-feed number taken but not written for this long is taken for a writer that died and is
   * filled, so readers move on (see sync/change-log.ts).
   */
  SYNC_HOLE_GRACE_MS: env.int(30_000, { min: 0, max: 3_600_000 }),
  /** Searches per principal (user or guest) per window: the directory cannot be paged through quickly. */
  ...rateLimitConfigSpec('SEARCH', 30),
  /** Consume the account and call streams (off only for tools that must not take messages). */
  STREAM_CONSUMERS: env.bool(true),
  /** STREAM_BLOCK_MS, STREAM_CLAIM_IDLE_MS, STREAM_MAX_DELIVERIES and the outage back-off (kit). */
  ...streamConsumerConfigSpec('STREAM'),
  /** Consumers of the "user-sync" group per instance (account events stay one: their order matters). */
  SYNC_CONSUMERS: env.int(1, { min: 1, max: 64 }),
};
export type Config = ConfigOf<typeof configSpec>;
