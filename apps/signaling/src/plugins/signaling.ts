// Socket.io on the Fastify app's own HTTP server, with the sharded Redis adapter for cross-instance
// delivery, and everything around it: handshake, the shared client map, presence, the call events, the
// wheels, the instance heartbeat, the guest manager, bus subscriptions and the graceful drain.

import { createShardedAdapter } from '@socket.io/redis-adapter';
import { createStreamProducer } from '@voip/bus/streams';
import { createCallStore } from '@voip/call-state/call-store';
import { channels } from '@voip/contracts/redis-keys';
import type { App } from '@voip/kit/app';
import { createFixedWindowLimiter } from '@voip/kit/rate-limit';
import fp from 'fastify-plugin';
import { Server } from 'socket.io';
import { fanOutCallEnded } from '../calls/call-ended.js';
import { installCallHandlers } from '../calls/call-handlers.js';
import { fanOutRecordingChanged } from '../calls/recording-events.js';
import { createRelay } from '../calls/relay.js';
import { startWheels, type Wheels } from '../calls/wheels.js';
import type { Config } from '../config.js';
import { installHttpAdmission } from '../connections/admission.js';
import { registerSocket, revokeSocket, unregisterSocket } from '../connections/connection-lifecycle.js';
import { type GuestManager, startGuestManager } from '../connections/guest-manager.js';
import { installHandshake } from '../connections/handshake.js';
import { type InstanceRegistry, startInstanceRegistry } from '../connections/instance-registry.js';
import { createPresence } from '../connections/presence.js';
import { createDeviceRegistry } from '../devices/device-registry.js';
import { createSignalingMetrics, observeSocketRtt } from '../ops/metrics.js';
import { statusRoute } from '../ops/status-route.js';
import { createAdapterSubscriber } from '../realtime/adapter-subscriber.js';
import type { Signaling } from '../realtime/context.js';
import { drain } from '../realtime/drain.js';
import { createLocalSockets } from '../realtime/local-sockets.js';
import type { SignalingServer, SignalingSocket } from '../realtime/types.js';

declare module 'fastify' {
  interface FastifyInstance {
    signaling: Signaling & { wheels: Wheels; instances: InstanceRegistry; guests: GuestManager };
  }
}

export const signalingPlugin = fp(
  async (fastify, opts: { config: Config }) => {
    const app = fastify as unknown as App;
    const { config } = opts;
    const log = app.log;
    // A reconnecting device must be able to receive at least one message of the largest size accepted.
    if (config.MAX_PENDING_BYTES < config.MAX_PAYLOAD_BYTES)
      throw new Error('MAX_PENDING_BYTES must be at least MAX_PAYLOAD_BYTES');

    const adapterSub = createAdapterSubscriber(app.redis, `${app.instanceId}-adapter`, log);
    // Redis may not accept connections yet: serve anyway (/ready says 503), ioredis keeps reconnecting.
    await adapterSub
      .connect()
      .catch((err: Error) =>
        log.error(
          { err: err.message },
          'adapter subscriber: redis not reachable yet; retrying in the background',
        ),
      );

    const io: SignalingServer = new Server(app.server, {
      path: '/socket.io',
      serveClient: false,
      // Signaling messages are small and latency-bound; compression costs CPU and memory per socket.
      perMessageDeflate: false,
      httpCompression: false,
      maxHttpBufferSize: config.MAX_PAYLOAD_BYTES,
      pingInterval: config.PING_INTERVAL_MS,
      pingTimeout: config.PING_TIMEOUT_MS,
      connectTimeout: config.CONNECT_TIMEOUT_MS,
      cleanupEmptyChildNamespaces: true,
      // Sharded pub/sub (Redis 7): a message for one room goes to the instances holding that room only.
      adapter: createShardedAdapter(app.redis, adapterSub, {
        channelPrefix: channels.socketIoAdapterPrefix,
        subscriptionMode: 'dynamic',
      }),
    });

    const local = createLocalSockets();
    const calls = createCallStore(app.redis, {
      producerSource: app.instanceId,
      ringTimeoutMs: config.RING_TIMEOUT_MS,
    });
    const registry = createDeviceRegistry(app.redis, {
      resumeWindowMs: config.RESUME_WINDOW_MS,
      maxPending: config.MAX_PENDING_MESSAGES,
      maxPendingBytes: config.MAX_PENDING_BYTES,
      maxCallCandidates: config.MAX_CALL_CANDIDATES,
      maxCallCandidateBytes: config.MAX_CALL_CANDIDATE_BYTES,
      ringTimeoutMs: config.RING_TIMEOUT_MS,
    });
    const relay = createRelay(io, registry, app.instanceId);
    const presence = createPresence(io, app.redis, app.bus, log);
    const metrics = createSignalingMetrics(app.metrics, local, calls, app.redis);
    const inflight = new Set<Promise<void>>();

    const ctx: Signaling = {
      app,
      io,
      config,
      redis: app.redis,
      adapterSub,
      calls,
      registry,
      relay,
      producer: createStreamProducer(app.redis, app.instanceId),
      presence,
      local,
      metrics,
      state: { draining: false, startedAt: Date.now() },
      enqueue(socket: SignalingSocket, work: () => Promise<void>) {
        const p = socket.data.queue.then(work).catch((err: unknown) => {
          log.error(
            { err, userId: socket.data.userId, clientId: socket.data.clientId },
            'socket work failed',
          );
        });
        socket.data.queue = p;
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
        return p;
      },
      async idle() {
        while (inflight.size > 0) await Promise.allSettled([...inflight]);
      },
    };

    installHttpAdmission(ctx);
    installHandshake(
      ctx,
      createFixedWindowLimiter(
        app.redis,
        'signaling-connect-ip',
        config.CONNECTIONS_PER_IP,
        config.CONNECTIONS_PER_IP_WINDOW_MS,
      ),
    );

    io.on('connection', (socket) => {
      local.add(socket);
      // Any packet or pong from the client counts as a sign of life (the guest manager reads it).
      socket.conn.on('heartbeat', () => {
        socket.data.lastSeenMs = Date.now();
      });
      observeSocketRtt(socket, metrics.socketRtt);
      void ctx.enqueue(socket, async () => {
        try {
          await registerSocket(ctx, socket);
        } catch (err) {
          log.error({ err, userId: socket.data.userId }, 'registration failed; closing the socket');
          socket.disconnect(true);
        }
      });
      installCallHandlers(ctx, socket);
      socket.on('disconnect', (reason) => {
        local.remove(socket);
        metrics.disconnects.inc({ reason });
        void ctx.enqueue(socket, () => unregisterSocket(ctx, socket, reason));
      });
    });

    // Revoked sessions: every instance closes its own sockets of that session.
    await app.subscriber.on('session.revoked', (e) => {
      for (const s of local.bySession(e.data.sessionId)) revokeSocket(s, 'revoked', e.data.reason);
    });
    // Ended calls, whoever ended them: every instance tells its own sockets (calls/call-ended.ts).
    await app.subscriber.on('call.ended', (e) => fanOutCallEnded(ctx, e.data));

    // Recording events from the media service, the same way (calls/recording-events.ts).
    await app.subscriber.on('recording.changed', (e) => fanOutRecordingChanged(ctx, e.data));

    const instances = startInstanceRegistry(ctx);
    // On start, only what THIS instance left behind (a crash with the same INSTANCE_ID) is cleaned up;
    // while Redis is away, as soon as it is back (until then /ready is 503 and no socket registers).
    const startUp = async () => {
      const leftovers = await instances.orphanClientsOf(app.instanceId);
      if (leftovers > 0)
        log.warn({ clients: leftovers }, 'clients left by a previous run of this instance are reconnecting');
      await instances.beat();
    };
    const startUpWhenReady = (err: Error) => {
      log.warn({ err: err.message }, 'start-up clean-up waits for redis');
      app.redis.once('ready', () => void startUp().catch(startUpWhenReady));
    };
    await startUp().catch(startUpWhenReady);
    const wheels = startWheels(ctx);
    const guests = startGuestManager(ctx);

    app.decorate('signaling', Object.assign(ctx, { wheels, instances, guests }));
    app.readiness.set('signaling', () => {
      if (ctx.state.draining) throw new Error('draining');
    });
    statusRoute(app, ctx);

    app.addHook('preClose', async () => {
      await drain(ctx);
    });
    app.addHook('onClose', async () => {
      wheels.stop();
      await guests.stop();
      await instances.stop();
      metrics.stop();
      io.engine.close();
      await Promise.resolve(io.of('/').adapter.close()).catch(() => undefined);
      await adapterSub.quit().catch(() => adapterSub.disconnect());
    });
  },
  { name: 'signaling', dependencies: ['redis'] },
);
