// Builds the user service's repositories over the app's MongoDB connection and Redis, creates their
// indexes (now, or as soon as MongoDB is reachable), and exposes them as `app.domain`.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Model } from 'mongoose';
import { createDeviceRepository } from '../devices/device-repository.js';
import type { UserDomain } from '../domain.js';
import { createRedisMirrors } from '../mirrors/redis-mirrors.js';
import { createProfileRepository } from '../profiles/profile-repository.js';
import { createRelationRepository } from '../relations/relation-repository.js';
import { createChangeLog } from '../sync/change-log.js';

declare module 'fastify' {
  interface FastifyInstance {
    domain: UserDomain;
  }
}

export interface DomainOptions {
  limits: UserDomain['limits'];
  syncHoleGraceMs: number;
}

export const domainPlugin = fp(
  async (app: FastifyInstance, opts: DomainOptions) => {
    const conn = app.mongo;
    const profiles = createProfileRepository(conn);
    const contacts = createRelationRepository(conn, 'Contact', 'contacts');
    const blocks = createRelationRepository(conn, 'Block', 'blocks');
    const devices = createDeviceRepository(conn);
    const changes = createChangeLog(conn, {
      holeGraceMs: opts.syncHoleGraceMs,
      onHoleFilled: (info) => app.log.warn(info, 'sync feed hole left by a writer that died was filled'),
    });
    const domain: UserDomain = {
      profiles,
      contacts,
      blocks,
      devices,
      changes,
      mirrors: createRedisMirrors(app.redis),
      redis: app.redis,
      bus: app.bus,
      log: app.log,
      limits: opts.limits,
    };
    app.decorate('domain', domain);

    const models = [
      profiles.model,
      contacts.model,
      blocks.model,
      devices.model,
      ...changes.models,
    ] as Model<unknown>[];
    let indexed = false;
    const ensureIndexes = async () => {
      if (indexed) return;
      await Promise.all(models.map((m) => m.createIndexes()));
      indexed = true;
    };
    if (conn.readyState === 1) await ensureIndexes();
    else
      conn.on('connected', () => {
        ensureIndexes().catch((err: unknown) => app.log.error({ err }, 'could not create indexes'));
      });
    // The unique device-token index is what moves a token between accounts: not ready without it.
    app.readiness.set('indexes', async () => {
      if (!indexed) await ensureIndexes();
    });
  },
  { name: 'domain', dependencies: ['mongo', 'redis'] },
);
