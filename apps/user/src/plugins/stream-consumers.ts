// The durable inputs of the user service: account events (group "user-service": profiles, guest
// removal) and call events (group "user-sync": call entries of the sync feed). Redis Streams with
// consumer groups, so nothing appended while this service was down is lost, and each instance takes
// its share; handlers are idempotent because an entry can be delivered again after a crash. While MongoDB
// is away both pause and retry the entry in hand with back-off (no delivery spent, nothing dead-lettered);
// /ready names the paused consumer ("account-events-consumer": "paused: mongo unavailable").
import { createStreamConsumer, createStreamConsumers, type StreamConsumer } from '@voip/bus/streams';
import { streams } from '@voip/contracts/redis-keys';
import { pickDefined } from '@voip/kit/objects';
import {
  countDeadLetters,
  registerStreamBacklogGauges,
  watchConsumerReadiness,
} from '@voip/kit/stream-metrics';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter } from 'prom-client';
import { applyAccountEvent } from '../accounts/account-events.js';
import { recordCallEnded } from '../sync/call-events.js';

export const ACCOUNT_EVENTS_GROUP = 'user-service';
export const CALL_EVENTS_GROUP = 'user-sync';

export interface StreamConsumerPluginOptions {
  /** From the config (STREAM_*), short in tests. */
  claimIdleMs?: number;
  blockMs?: number;
  maxDeliveries?: number;
  /** Consumers of "user-sync" in this process (its entries are independent: one feed entry per call and side, written once). */
  syncConsumers?: number;
  outageRetryMs?: number;
  outageRetryMaxMs?: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    streamConsumers: StreamConsumer[];
  }
}

export const streamConsumersPlugin = fp(
  async (app: FastifyInstance, opts: StreamConsumerPluginOptions) => {
    const outcomes = new Counter({
      name: 'user_stream_entries_total',
      help: 'Stream entries handled by the user service, by stream and outcome',
      labelNames: ['stream', 'outcome'] as const,
      registers: [app.metrics],
    });
    const common = {
      redis: app.redis,
      consumer: app.instanceId,
      logger: app.log,
      ...pickDefined(opts, ['claimIdleMs', 'blockMs', 'maxDeliveries', 'outageRetryMs', 'outageRetryMaxMs']),
      dependency: 'mongo',
      isDependencyAvailable: () => app.mongo.readyState === 1,
    };
    const deadLetters = countDeadLetters(app.metrics, [
      { stream: streams.accountEvents, group: ACCOUNT_EVENTS_GROUP },
      { stream: streams.callEvents, group: CALL_EVENTS_GROUP },
    ]);
    const domain = app.domain;
    const consumers = [
      createStreamConsumer({
        ...common,
        stream: streams.accountEvents,
        group: ACCOUNT_EVENTS_GROUP,
        handlers: {
          'user.registered': (e) => applyAccountEvent(domain, e),
          'guest.created': (e) => applyAccountEvent(domain, e),
          'guest.deleted': (e) => applyAccountEvent(domain, e),
        },
        onOutcome: (outcome, info) => {
          outcomes.inc({ stream: 'account-events', outcome });
          deadLetters(outcome, info);
        },
      }),
      createStreamConsumers({
        ...common,
        count: opts.syncConsumers ?? 1,
        stream: streams.callEvents,
        group: CALL_EVENTS_GROUP,
        handlers: { 'call.ended': (e) => recordCallEnded(domain, e.data) },
        onOutcome: (outcome, info) => {
          outcomes.inc({ stream: 'call-events', outcome });
          deadLetters(outcome, info);
        },
      }),
    ];
    registerStreamBacklogGauges(app.metrics, app.redis, [
      { stream: streams.accountEvents, group: ACCOUNT_EVENTS_GROUP },
      { stream: streams.callEvents, group: CALL_EVENTS_GROUP },
    ]);
    watchConsumerReadiness(app.readiness, 'account-events-consumer', consumers[0]!);
    watchConsumerReadiness(app.readiness, 'sync-consumer', consumers[1]!);
    app.decorate('streamConsumers', consumers);
    app.addHook('onReady', async () => {
      for (const c of consumers) c.start();
    });
    app.addHook('onClose', async () => {
      await Promise.all(consumers.map((c) => c.stop({ timeoutMs: 5000 })));
    });
  },
  { name: 'stream-consumers', dependencies: ['domain'] },
);
