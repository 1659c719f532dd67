// Everything the user service's logic works with, built once per app (see plugins/domain.ts) and
// handed to the domain functions, so they can be called from routes and stream consumers alike.
import type { Publisher } from '@voip/bus/pubsub';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import type { DeviceRepository } from './devices/device-repository.js';
import type { RedisMirrors } from './mirrors/redis-mirrors.js';
import type { ProfileRepository } from './profiles/profile-repository.js';
import type { RelationRepository } from './relations/relation-repository.js';
import type { ChangeLog } from './sync/change-log.js';

export interface UserDomain {
  profiles: ProfileRepository;
  contacts: RelationRepository;
  blocks: RelationRepository;
  devices: DeviceRepository;
  changes: ChangeLog;
  mirrors: RedisMirrors;
  redis: Redis;
  bus: Publisher;
  log: FastifyBaseLogger;
  limits: {
    maxContacts: number;
    maxDevices: number;
    presenceMaxIds: number;
    syncPageSize: number;
    searchRateLimit: number;
    searchRateWindowMs: number;
  };
}
