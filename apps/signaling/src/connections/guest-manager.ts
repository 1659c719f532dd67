// The guest connection manager (seed 000), rebuilt on shared state: guests' liveness is watched with one
// timer for all of them (heartbeats, missed-ping counting, a hard time-out); a periodic clean-up
// reconciles Redis, this instance's memory and its real sockets; guests deleted by the auth/user
// housekeeping (`guest.deleted` on the account stream) are disconnected and forgotten on every instance.
import { createStreamConsumer, type StreamConsumer } from '@voip/bus/streams';
import { keys, streams } from '@voip/contracts/redis-keys';
import { every } from '@voip/kit/periodic';
import { countDeadLetters } from '@voip/kit/stream-metrics';
import type { Signaling } from '../realtime/context.js';
import { userRoom } from '../realtime/rooms.js';
import { revokeSocket } from './connection-lifecycle.js';

export interface ConnectionStats {
  connections: number;
  users: number;
  guests: number;
  responsiveGuests: number;
}

export interface CleanupReport {
  staleMemory: number;
  orphanedRecords: number;
  replacedSockets: number;
  /** Sockets (users and guests) closed because their auth session no longer exists. */
  revokedSockets: number;
  /** The guests among them. */
  goneGuests: number;
  /** Live-call index entries whose call record was gone. */
  prunedCalls: number;
  /** Accepted calls no device carried for longer than the resume window, ended as connection-lost. */
  abandonedCalls: number;
}

export interface GuestManager {
  /** One liveness pass over this instance's guests; returns how many were timed out. */
  checkLiveness(now?: number): number;
  /** Reconciles Redis, memory, sockets and live calls (runs every CLEANUP_INTERVAL_MS); `now` is the calls' clock. */
  cleanup(now?: number): Promise<CleanupReport>;
  /** Closes local sockets whose auth session is gone (runs every SESSION_SWEEP_INTERVAL_MS, and in cleanup). */
  sweepSessions(): Promise<{ revokedSockets: number; goneGuests: number }>;
  /** Disconnects and forgets deleted guests everywhere (the guest.deleted handler). */
  removeGuests(guestIds: string[]): Promise<void>;
  stats(now?: number): ConnectionStats;
  stop(): Promise<void>;
}

const BATCH = 500;

export function startGuestManager(ctx: Signaling): GuestManager {
  const { io, redis, app, config, local, calls, registry } = ctx;
  const me = app.instanceId;

  function stats(now = Date.now()): ConnectionStats {
    let guests = 0;
    let responsive = 0;
    for (const s of local.guests()) {
      guests++;
      if (now - s.data.lastSeenMs < config.GUEST_PING_INTERVAL_MS) responsive++;
    }
    return {
      connections: local.connectionCount(),
      users: local.userCount(),
      guests,
      responsiveGuests: responsive,
    };
  }

  function checkLiveness(now = Date.now()): number {
    let timedOut = 0;
    for (const s of [...local.guests()]) {
      const idle = now - s.data.lastSeenMs;
      const missed = Math.floor(idle / config.GUEST_PING_INTERVAL_MS);
      if (missed >= config.GUEST_MAX_MISSED_PINGS || idle >= config.GUEST_CONNECTION_TIMEOUT_MS) {
        app.log.info(
          { guestId: s.data.userId, clientId: s.data.clientId, idleMs: idle, missedPings: missed },
          'guest timed out',
        );
        // Like a dropped network: the guest may resume within the window.
        s.data.kick = 'timeout';
        s.disconnect(true);
        timedOut++;
      }
    }
    return timedOut;
  }

  // Sockets whose auth session is gone: session.revoked is pub/sub (a lost message is never repeated)
  // and a revocation between the handshake's check and the socket's registration is missed by it, so
  // every local socket's session is checked again, every SESSION_SWEEP_INTERVAL_MS: one EXISTS per
  // distinct session, pipelined in batches (20 000 sockets: 40 round trips of 500 cheap commands).
  async function sweepSessions(): Promise<{ revokedSockets: number; goneGuests: number }> {
    const swept = { revokedSockets: 0, goneGuests: 0 };
    const sessionIds = [...new Set([...local.all()].map((s) => s.data.sessionId))];
    for (let i = 0; i < sessionIds.length; i += BATCH) {
      const batch = sessionIds.slice(i, i + BATCH);
      const pipe = redis.pipeline();
      for (const sid of batch) pipe.exists(keys.session(sid));
      const rows = (await pipe.exec()) ?? [];
      for (const [j, sid] of batch.entries()) {
        const [err, exists] = rows[j] ?? [];
        if (err || exists !== 0) continue;
        app.sessions.invalidate(sid);
        for (const s of local.bySession(sid)) {
          if (!s.connected) continue;
          const guest = s.data.kind === 'guest';
          revokeSocket(
            s,
            guest ? 'guest-deleted' : 'revoked',
            guest ? 'guest-session-ended' : 'session-ended',
          );
          if (guest) swept.goneGuests++;
          swept.revokedSockets++;
        }
      }
    }
    if (swept.revokedSockets > 0)
      app.log.info(swept, 'sockets of ended sessions closed (their session.revoked was not heard)');
    return swept;
  }

  async function cleanup(now = Date.now()): Promise<CleanupReport> {
    const report: CleanupReport = {
      staleMemory: 0,
      orphanedRecords: 0,
      replacedSockets: 0,
      revokedSockets: 0,
      goneGuests: 0,
      prunedCalls: 0,
      abandonedCalls: 0,
    };
    const live = io.of('/').sockets;

    // Memory vs sockets: index entries whose socket is gone.
    for (const s of [...local.all()]) {
      if (!s.connected || !live.has(s.id)) {
        local.remove(s);
        report.staleMemory++;
      }
    }

    // Redis vs sockets: records that say "on this instance" with no socket here.
    for await (const page of registry.devicesOnInstance(me)) {
      for (let i = 0; i < page.length; i += BATCH) {
        const batch = page.slice(i, i + BATCH);
        const holders = await registry.holdersOf(batch);
        for (const [j, device] of batch.entries()) {
          const { instanceId, socketId, state } = holders[j] ?? {};
          if (instanceId === me && state === 'connected' && socketId && live.has(socketId)) continue;
          if (instanceId === me && state === 'connected') {
            const r = await registry.orphan(device, me);
            if (r.status === 'reconnecting') report.orphanedRecords++;
          }
          await registry.leaveInstance(device, me);
        }
      }
    }

    // Sockets vs Redis: a socket whose device record points elsewhere was replaced by a newer connection.
    const settled = Date.now() - 10_000;
    const sockets = [...local.all()].filter((s) => s.handshake.issued < settled);
    for (let i = 0; i < sockets.length; i += BATCH) {
      const batch = sockets.slice(i, i + BATCH);
      const holders = await registry.holdersOf(batch.map((s) => s.data));
      for (const [j, s] of batch.entries()) {
        if (holders[j]?.socketId === s.id) continue;
        s.data.kick = 'replaced';
        s.disconnect(true);
        report.replacedSockets++;
      }
    }

    const swept = await sweepSessions();
    report.revokedSockets = swept.revokedSockets;
    report.goneGuests = swept.goneGuests;

    // Calls vs records and devices (cluster-wide, a cheap batched scan): the live-calls index loses calls
    // whose record expired through its live TTL (they never sent call.ended; the gauges counted them), and
    // an accepted call that no device has carried for longer than the resume window ends, once.
    const reconciled = await calls.reconcileLive({
      now,
      unattended: (batch) => registry.unattendedCalls(batch),
      unattendedForMs: config.RESUME_WINDOW_MS,
    });
    report.prunedCalls = reconciled.pruned;
    report.abandonedCalls = reconciled.ended.length;
    for (const call of reconciled.ended) {
      app.log.warn({ callId: call.callId }, 'call ended: no device carried it any more');
      await Promise.all([ctx.presence.update(call.callerId), ctx.presence.update(call.calleeId)]);
    }

    app.log.info({ ...stats(), ...report }, 'connection stats');
    return report;
  }

  async function removeGuests(guestIds: string[]): Promise<void> {
    for (const guestId of guestIds) {
      const active = await calls.activeCallOf(guestId);
      if (active)
        await calls.transition(
          active.callId,
          { type: 'fail', reason: 'connection-lost' },
          { endedBy: guestId },
        );
      await registry.forgetUser(guestId);
      await ctx.presence.forget(guestId);
      for (const s of local.byUser(guestId)) s.data.kick = 'guest-deleted';
      // Cluster-wide: the record is gone, so other instances' disconnect handlers find nothing to keep.
      io.to(userRoom(guestId)).emit('session-revoked', { reason: 'guest-deleted' });
      io.in(userRoom(guestId)).disconnectSockets(true);
      if (active) {
        const other = active.callerId === guestId ? active.calleeId : active.callerId;
        await ctx.presence.update(other);
      }
    }
    if (guestIds.length > 0)
      app.log.info({ guests: guestIds.length }, 'deleted guests disconnected and forgotten');
  }

  // A guest's life signs are its pongs to Socket.io's pings: if those come further apart than the guest
  // limits allow, healthy idle guests are dropped. Said once at start-up (tests use it on purpose to make
  // guests look silent, so it is a warning, not a refusal).
  const pongEveryMs = config.PING_INTERVAL_MS + config.PING_TIMEOUT_MS;
  const guestLimitMs = Math.min(
    config.GUEST_PING_INTERVAL_MS * config.GUEST_MAX_MISSED_PINGS,
    config.GUEST_CONNECTION_TIMEOUT_MS,
  );
  if (pongEveryMs > guestLimitMs)
    app.log.warn(
      { pongEveryMs, guestLimitMs },
      'PING_INTERVAL_MS + PING_TIMEOUT_MS exceed the guest liveness limit (GUEST_PING_INTERVAL_MS × GUEST_MAX_MISSED_PINGS, GUEST_CONNECTION_TIMEOUT_MS): idle guests will be timed out while healthy',
    );

  const livenessTimer = setInterval(() => checkLiveness(), config.HEARTBEAT_INTERVAL_MS);
  livenessTimer.unref();
  const cleaning = every({ name: 'connection clean-up', intervalMs: config.CLEANUP_INTERVAL_MS, log: app.log }, cleanup);
  const sweeping = every(
    {
      name: 'session sweep',
      intervalMs: config.SESSION_SWEEP_INTERVAL_MS,
      log: app.log,
      // While Redis is away there is nothing to check against (and no new socket gets in).
      when: () => redis.status === 'ready',
    },
    sweepSessions,
  );

  const consumer: StreamConsumer = createStreamConsumer({
    redis,
    stream: streams.accountEvents,
    group: 'signaling',
    consumer: me,
    logger: app.log,
    handlers: { 'guest.deleted': (env) => removeGuests(env.data.guestIds) },
    onOutcome: countDeadLetters(app.metrics, [{ stream: streams.accountEvents, group: 'signaling' }]),
  });
  consumer.start();

  return {
    checkLiveness,
    cleanup,
    sweepSessions,
    removeGuests,
    stats,
    async stop() {
      clearInterval(livenessTimer);
      await cleaning.stop();
      await sweeping.stop();
      await consumer.stop({ timeoutMs: 2000 });
    },
  };
}
