// The media service as an app: tests build this; server.ts only listens. Wires Janus (the client, the
// probe and the rooms), the recordings collection, the recording flow, the post-processing job consumer,
// the periodic sweep, the metrics and the routes.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createStreamConsumer, createStreamProducer, type StreamConsumer } from '@voip/bus/streams';
import { createCallStore } from '@voip/call-state/call-store';
import { streams } from '@voip/contracts/redis-keys';
import type { App } from '@voip/kit/app';
import { every, type Periodic } from '@voip/kit/periodic';
import { createFixedWindowLimiter } from '@voip/kit/rate-limit';
import { createService } from '@voip/kit/service';
import {
  countDeadLetters,
  registerStreamBacklogGauges,
  watchConsumerReadiness,
} from '@voip/kit/stream-metrics';
import { Counter, Gauge } from 'prom-client';
import type { Config } from './config.js';
import { createJanusClient } from './janus/janus-client.js';
import { createRoomManager } from './janus/rooms.js';
import { createLinkSigner } from './recordings/links.js';
import { createPostProcessor } from './recordings/post-process.js';
import { createRecordingFlow, type RecordingFlow } from './recordings/recording-flow.js';
import { createRecordingRepository } from './recordings/repository.js';
import { internalRoutes, mediaRoutes } from './routes/media-routes.js';

export const JOB_GROUP = 'media-post-process';

declare module 'fastify' {
  interface FastifyInstance {
    media: { flow: RecordingFlow; jobs: StreamConsumer; janusUp: () => boolean };
  }
}

export async function buildApp(config: Config): Promise<App> {
  const app = await createService({ service: 'media', config, mongo: true });
  const log = app.log;
  await mkdir(join(config.RECORDINGS_DIR, 'raw'), { recursive: true });
  await mkdir(join(config.RECORDINGS_DIR, 'files'), { recursive: true });

  const m = app.metrics;
  const recordingsTotal = new Counter({
    name: 'media_recordings_total',
    help: 'Recording transitions, by outcome (started, stopped, lost, declined, cancelled, failed, ready, deleted)',
    labelNames: ['outcome'] as const,
    registers: [m],
  });
  const failures = new Counter({
    name: 'media_failures_total',
    help: 'Media-server and post-processing failures, by kind',
    labelNames: ['kind'] as const,
    registers: [m],
  });
  let janusUp = false;
  const janusUpGauge = new Gauge({
    name: 'media_janus_up',
    help: '1 while Janus answers its probe',
    registers: [m],
  });

  const janus = createJanusClient({
    url: config.JANUS_URL,
    apiSecret: config.JANUS_API_SECRET,
    timeoutMs: config.JANUS_TIMEOUT_MS,
    log: log.child({ component: 'janus' }),
  });
  let flow: RecordingFlow | undefined;
  const rooms = createRoomManager({
    janus,
    apiSecret: config.JANUS_API_SECRET,
    recordingsDir: config.RECORDINGS_DIR,
    onLost: (recordingId, err) => {
      failures.inc({ kind: 'janus-session-lost' });
      void flow
        ?.onJanusLost(recordingId, err)
        .catch((e: Error) => log.error({ err: e.message, recordingId }, 'lost room not handled'));
    },
  });
  new Gauge({
    name: 'media_rooms_active',
    help: 'Janus VideoRoom rooms this instance holds (one per recording call)',
    registers: [m],
    collect() {
      this.set(rooms.size);
    },
  });
  new Gauge({
    name: 'media_publishers_active',
    help: 'Participants publishing to those rooms',
    registers: [m],
    collect() {
      this.set(rooms.publishers);
    },
  });

  const repo = createRecordingRepository(app.mongo);
  repo.model
    .init()
    .catch((err: Error) => log.warn({ err: err.message }, 'recordings indexes not created yet'));
  new Gauge({
    name: 'media_recordings_active',
    help: 'Recordings by state that are not final (requested, recording, processing)',
    labelNames: ['state'] as const,
    registers: [m],
    async collect() {
      for (const state of ['requested', 'recording', 'processing'] as const)
        this.set(
          { state },
          await repo.model
            .countDocuments({ state })
            .exec()
            .catch(() => 0),
        );
    },
  });

  const calls = createCallStore(app.redis, { producerSource: app.instanceId, ringTimeoutMs: 30_000 });
  flow = createRecordingFlow({
    repo,
    rooms,
    calls,
    redis: app.redis,
    bus: app.bus,
    jobs: createStreamProducer(app.redis, app.instanceId),
    instanceId: app.instanceId,
    recordingsDir: config.RECORDINGS_DIR,
    consentTimeoutMs: config.RECORDING_CONSENT_TIMEOUT_MS,
    maxDurationMs: config.RECORDING_MAX_DURATION_MS,
    retentionDays: config.RECORDING_RETENTION_DAYS,
    janusUp: () => janusUp,
    metrics: {
      recordings: (outcome) => recordingsTotal.inc({ outcome }),
      failure: (kind) => failures.inc({ kind }),
    },
    log: log.child({ component: 'recordings' }),
  });
  const theFlow = flow;

  const post = createPostProcessor({
    repo,
    flow: theFlow,
    recordingsDir: config.RECORDINGS_DIR,
    retentionDays: config.RECORDING_RETENTION_DAYS,
    timeoutMs: config.RECORDING_JOB_TIMEOUT_MS,
    tools: { janusPpRec: config.JANUS_PP_REC, ffmpeg: config.FFMPEG, ffprobe: config.FFPROBE },
    log: log.child({ component: 'post-process' }),
    onFailure: (kind) => {
      failures.inc({ kind });
      recordingsTotal.inc({ outcome: 'failed' });
    },
    onReady: () => recordingsTotal.inc({ outcome: 'ready' }),
  });
  const deadLetters = countDeadLetters(m, [{ stream: streams.recordingJobs, group: JOB_GROUP }]);
  const jobs = createStreamConsumer({
    redis: app.redis,
    stream: streams.recordingJobs,
    group: JOB_GROUP,
    consumer: app.instanceId,
    handlers: { 'recording.process': (env) => post.process(env.data.recordingId) },
    logger: log.child({ component: 'jobs' }),
    blockMs: 2_000,
    claimIdleMs: config.RECORDING_JOB_CLAIM_IDLE_MS,
    maxDeliveries: config.RECORDING_JOB_MAX_DELIVERIES,
    isDependencyAvailable: () => app.mongo.readyState === 1,
    dependency: 'mongo',
    outageRetryMs: config.STREAM_OUTAGE_RETRY_MS,
    outageRetryMaxMs: config.STREAM_OUTAGE_RETRY_MAX_MS,
    onOutcome: (outcome, info) => deadLetters(outcome, info),
  });
  registerStreamBacklogGauges(m, app.redis, [{ stream: streams.recordingJobs, group: JOB_GROUP }]);
  watchConsumerReadiness(app.readiness, 'recording-jobs', jobs);

  app.decorate('media', { flow: theFlow, jobs, janusUp: () => janusUp });

  // The call's end, from any instance that saw it: its recording stops (the sweep catches a missed one).
  await app.subscriber.on('call.ended', (e) => {
    void theFlow
      .onCallEnded(e.data.callId)
      .catch((err: Error) => log.warn({ err: err.message, callId: e.data.callId }, 'call end not applied'));
  });

  // Janus's probe. Janus down does not make this service unready: downloads and the history still work,
  // and asking to record answers 503 with a clear reason instead.
  let probing: Periodic | undefined;
  const probe = async () => {
    const up = await janus
      .info(Math.min(config.JANUS_TIMEOUT_MS, config.JANUS_PROBE_INTERVAL_MS * 2))
      .then(() => true)
      .catch(() => false);
    if (up !== janusUp)
      log[up ? 'info' : 'warn']({ janus: config.JANUS_URL }, up ? 'janus is up' : 'janus is down');
    if (!up && janusUp) failures.inc({ kind: 'janus-down' });
    janusUp = up;
    janusUpGauge.set(up ? 1 : 0);
  };
  let sweeping: Periodic | undefined;
  app.addHook('onReady', async () => {
    probing = every({ name: 'janus probe', intervalMs: config.JANUS_PROBE_INTERVAL_MS, log }, probe);
    await probing.run();
    jobs.start();
    sweeping = every({ name: 'recording sweep', intervalMs: config.RECORDING_SWEEP_INTERVAL_MS, log }, () =>
      theFlow.sweep(),
    );
    // At start: recordings this instance held before a restart are closed and post-processed.
    void sweeping.run();
  });
  app.addHook('preClose', async () => {
    // No further probes or sweeps; one in flight is not waited for (it would eat the grace period, and the
    // recordings it would stop are stopped just below).
    void probing?.stop();
    void sweeping?.stop();
    // Rooms are closed (recordings stop and are queued) before the connections go.
    for (const rec of await repo.inStates(['recording'], { owner: app.instanceId }).catch(() => []))
      await theFlow.onJanusLost(rec._id, new Error('media service stopping')).catch(() => {});
    await rooms.closeAll();
    await jobs.stop({ timeoutMs: 5_000 });
  });

  const askLimiter = createFixedWindowLimiter(
    app.redis,
    'recording-ask',
    config.RECORDING_RATE_LIMIT,
    config.RECORDING_RATE_WINDOW_MS,
  );
  const links = createLinkSigner(config.RECORDING_LINK_SECRET, config.RECORDING_LINK_TTL_SECONDS);
  await app.register(
    async (scope) => mediaRoutes(scope as unknown as App, { flow: theFlow, repo, links, askLimiter }),
    {
      prefix: '/api/media',
    },
  );
  await app.register(async (scope) => internalRoutes(scope as unknown as App, { repo }));
  return app;
}
