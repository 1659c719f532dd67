// The call service as an app: tests build this; server.ts only listens. Wires the call state, the calls
// collection, the user service client, TURN, wake-up pushes, the history consumer and the routes.

import type { StreamConsumer } from '@voip/bus/streams';
import type { CallStore } from '@voip/call-state/call-store';
import { createCallStore } from '@voip/call-state/call-store';
import type { Recording } from '@voip/contracts/media';
import { streams } from '@voip/contracts/redis-keys';
import { INTERNAL_TOKEN_HEADER } from '@voip/contracts/tokens';
import type { App } from '@voip/kit/app';
import { counter } from '@voip/kit/metrics';
import { createFixedWindowLimiter } from '@voip/kit/rate-limit';
import { createRedis } from '@voip/kit/redis';
import { createService } from '@voip/kit/service';
import {
  countDeadLetters,
  registerStreamBacklogGauges,
  watchConsumerReadiness,
} from '@voip/kit/stream-metrics';
import type { Redis } from 'ioredis';
import { Gauge } from 'prom-client';
import { createRingLimits } from './calls/ring-policy.js';
import { startRingSweeper } from './calls/ring-sweeper.js';
import type { Config } from './config.js';
import { type CallRepository, createCallRepository } from './history/call-repository.js';
import { createHistoryConsumer, HISTORY_GROUP } from './history/history-consumer.js';
import { createQualityMetrics } from './history/quality-metrics.js';
import { type BreakerState, createCircuitBreaker } from './push/circuit-breaker.js';
import { createFcmProvider } from './push/fcm-provider.js';
import { createAccessTokenSource, FCM_SCOPE, readServiceAccount } from './push/google-oauth.js';
import { createLogPushProvider } from './push/log-provider.js';
import type { PushProvider } from './push/provider.js';
import { createWakeUpDispatcher, type WakeUpDispatcher } from './push/wake-up-dispatcher.js';
import { callRoutes } from './routes/calls/index.js';
import { createIceServerIssuer, type IceServerIssuer } from './turn/ice-servers.js';
import { withReachMirror } from './users/reach-mirror.js';
import { createUserDirectory, type UserDirectory } from './users/user-directory.js';

declare module 'fastify' {
  interface FastifyInstance {
    callService: {
      store: CallStore;
      calls: CallRepository;
      directory: UserDirectory;
      turn: IceServerIssuer;
      push: WakeUpDispatcher;
      /** null when HISTORY_CONSUMER_ENABLED=false */
      history: StreamConsumer | null;
    };
  }
}

function pushProvider(config: Config, app: App): PushProvider | null {
  if (config.PUSH_PROVIDER === 'none') return null;
  if (config.PUSH_PROVIDER === 'log') return createLogPushProvider(app.log.child({ component: 'push' }));
  const account = readServiceAccount(config.FCM_SERVICE_ACCOUNT_JSON, config.FCM_SERVICE_ACCOUNT_FILE);
  return createFcmProvider({
    projectId: config.FCM_PROJECT_ID!,
    baseUrl: config.FCM_BASE_URL,
    timeoutMs: config.PUSH_TIMEOUT_MS,
    tokens: createAccessTokenSource({
      account,
      scope: FCM_SCOPE,
      tokenUrl: config.FCM_TOKEN_URL,
      timeoutMs: config.PUSH_TIMEOUT_MS,
    }),
  });
}

/** The media service's internal view of a call's recordings (GET /api/calls/:id shows them). */
function mediaRecordings(config: Config, log: App['log']) {
  const base = config.MEDIA_SERVICE_URL;
  if (!base) return undefined;
  return async (callId: string): Promise<Recording[] | null> => {
    try {
      const res = await fetch(`${base}/internal/calls/${encodeURIComponent(callId)}/recordings`, {
        headers: { [INTERNAL_TOKEN_HEADER]: config.INTERNAL_TOKEN },
        signal: AbortSignal.timeout(config.MEDIA_SERVICE_TIMEOUT_MS),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return ((await res.json()) as { items: Recording[] }).items;
    } catch (err) {
      log.warn({ err: (err as Error).message, callId }, 'recordings not available from the media service');
      return null;
    }
  };
}

const BREAKER_LEVEL: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

export async function buildApp(config: Config): Promise<App> {
  const app = await createService({ service: 'call', config, mongo: true });
  const log = app.log;

  const calls = createCallRepository(app.mongo);
  calls.model.init().catch((err: Error) => log.warn({ err: err.message }, 'calls indexes not created yet'));
  const store = createCallStore(app.redis, {
    producerSource: app.instanceId,
    ringTimeoutMs: config.RING_TIMEOUT_MS,
  });
  const mirrorReads = counter(
    app.metrics,
    'call_reach_mirror_reads_total',
    "Callee look-ups at call set-up, by whether the user service's Redis mirror answered (hit) or the service itself (miss)",
    ['result'],
  );
  const directory = withReachMirror(
    app.redis,
    createUserDirectory({
      baseUrl: config.USER_SERVICE_URL,
      internalToken: config.INTERNAL_TOKEN,
      timeoutMs: config.USER_SERVICE_TIMEOUT_MS,
    }),
    (result) => mirrorReads.inc({ result }),
  );

  // coturn's Redis user db: its own connection, to its own database number (call-scoped mode only).
  let turnRedis: Redis | undefined;
  if (config.TURN_MODE === 'call-scoped' && config.TURN_URLS.length > 0 && config.TURN_REDIS_URL) {
    const conn = createRedis(config.TURN_REDIS_URL, { connectionName: `${app.instanceId}-turn` });
    conn.on('error', (err) => log.warn({ err: err.message }, 'turn redis error'));
    await conn
      .connect()
      .catch((err: Error) => log.error({ err: err.message }, 'turn redis not reachable yet; retrying'));
    app.readiness.set('turn-redis', async () => {
      await conn.ping();
    });
    app.addHook('onClose', async () => {
      await conn.quit().catch(() => conn.disconnect());
    });
    turnRedis = conn;
  }
  const turn = createIceServerIssuer({
    mode: config.TURN_MODE,
    stunUrls: config.STUN_URLS,
    turnUrls: [...config.TURN_URLS, ...config.TURNS_URLS],
    realm: config.TURN_REALM,
    secret: config.TURN_SECRET,
    ttlSeconds: config.TURN_TTL_SECONDS,
    turnRedis,
  });

  const pushSends = counter(
    app.metrics,
    'call_push_sends_total',
    'Wake-up push sends to one device, by result',
    ['result'],
  );
  const breakerGauge = new Gauge({
    name: 'call_push_breaker_state',
    help: 'Push endpoint circuit: 0 closed, 1 half-open, 2 open',
    registers: [app.metrics],
  });
  const breaker = createCircuitBreaker({
    threshold: config.PUSH_BREAKER_THRESHOLD,
    cooldownMs: config.PUSH_BREAKER_COOLDOWN_MS,
    onStateChange: (state, previous) => {
      breakerGauge.set(BREAKER_LEVEL[state]);
      log.warn({ state, previous }, 'push circuit breaker changed state');
    },
  });
  const push = createWakeUpDispatcher({
    provider: pushProvider(config, app),
    breaker,
    directory,
    calls,
    redis: app.redis,
    callState: (callId) => store.get(callId),
    log: log.child({ component: 'push' }),
    maxAttempts: config.PUSH_MAX_ATTEMPTS,
    retryBaseMs: config.PUSH_RETRY_BASE_MS,
    retryMaxMs: config.PUSH_RETRY_MAX_MS,
    onSend: (result) => pushSends.inc({ result }),
  });

  const historyEvents = counter(
    app.metrics,
    'call_history_entries_total',
    'call-events stream entries seen by the call-history consumer, by outcome',
    ['outcome'],
  );
  const deadLetters = countDeadLetters(
    app.metrics,
    config.HISTORY_CONSUMER_ENABLED ? [{ stream: streams.callEvents, group: HISTORY_GROUP }] : [],
  );
  const history = config.HISTORY_CONSUMER_ENABLED
    ? createHistoryConsumer({
        redis: app.redis,
        calls,
        turn,
        push,
        consumer: app.instanceId,
        log: log.child({ component: 'history' }),
        blockMs: config.HISTORY_BLOCK_MS,
        claimIdleMs: config.HISTORY_CLAIM_IDLE_MS,
        maxDeliveries: config.HISTORY_MAX_DELIVERIES,
        count: config.HISTORY_CONSUMERS,
        isDependencyAvailable: () => app.mongo.readyState === 1,
        outageRetryMs: config.STREAM_OUTAGE_RETRY_MS,
        outageRetryMaxMs: config.STREAM_OUTAGE_RETRY_MAX_MS,
        quality: createQualityMetrics(app.metrics),
        onOutcome: (outcome, info) => {
          historyEvents.inc({ outcome });
          deadLetters(outcome, info);
        },
      })
    : null;

  if (history) {
    registerStreamBacklogGauges(app.metrics, app.redis, [
      { stream: streams.callEvents, group: HISTORY_GROUP },
    ]);
    watchConsumerReadiness(app.readiness, 'history-consumer', history);
  }

  app.decorate('callService', { store, calls, directory, turn, push, history });

  const sweeper =
    config.RING_SWEEP_INTERVAL_MS > 0 ? startRingSweeper(store, config.RING_SWEEP_INTERVAL_MS, log) : null;
  app.addHook('onReady', async () => {
    history?.start();
  });
  // Before the connections close: stop taking stream entries, finish or abandon pushes, stop sweeping.
  app.addHook('preClose', async () => {
    await Promise.all([history?.stop({ timeoutMs: 5000 }), push.close(), sweeper?.stop()]);
  });

  const initiateLimiter = createFixedWindowLimiter(
    app.redis,
    'call-initiate',
    config.CALL_RATE_LIMIT,
    config.CALL_RATE_WINDOW_MS,
  );
  await app.register(
    async (scope) =>
      callRoutes(scope as unknown as App, {
        redis: app.redis,
        store,
        calls,
        directory,
        turn,
        push,
        initiateLimiter,
        recordings: mediaRecordings(config, log),
        ringLimits: createRingLimits(app.redis, {
          windowMs: config.RING_LIMIT_WINDOW_MS,
          ringsPerPair: config.RING_LIMIT_PER_PAIR,
          ringsPerCalleeFromStrangers: config.RING_LIMIT_PER_CALLEE_FROM_STRANGERS,
          pushesPerPair: config.PUSH_LIMIT_PER_PAIR,
          pushesPerCalleeFromStrangers: config.PUSH_LIMIT_PER_CALLEE_FROM_STRANGERS,
        }),
      }),
    { prefix: '/api/calls' },
  );
  return app;
}
