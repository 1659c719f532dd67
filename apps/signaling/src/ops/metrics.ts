// The signaling metrics on the app's Prometheus registry: connections, users, guests, calls by state,
// reconnecting clients, messages by event, rejections by reason, resume outcomes and event-loop lag.
// Gauges are computed when scraped, so the hot path only ever increments a counter.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { CallStore } from '@voip/call-state/call-store';
import { keys, streams } from '@voip/contracts/redis-keys';
import { counter, histogram } from '@voip/kit/metrics';
import { registerStreamBacklogGauges } from '@voip/kit/stream-metrics';
import type { Redis } from 'ioredis';
import { type Counter, Gauge, type Histogram, type Registry } from 'prom-client';
import type { LocalSockets } from '../realtime/local-sockets.js';

export interface SignalingMetrics {
  messages: Counter<'event'>;
  rejected: Counter<'reason'>;
  resumes: Counter<'result'>;
  connections: Counter<'result'>;
  disconnects: Counter<'reason'>;
  /** Call creation to answer, observed once per answered call by the instance that accepted it. */
  callSetup: Histogram;
  /** `call-quality` summaries accepted (their figures are measured by the call service). */
  qualitySummaries: Counter;
  /** Each socket's round trip: engine.io ping sent → its pong received. */
  socketRtt: Histogram;
  stop(): void;
}

export function createSignalingMetrics(
  registry: Registry,
  local: LocalSockets,
  calls: CallStore,
  redis: Redis,
): SignalingMetrics {
  const lag = monitorEventLoopDelay({ resolution: 20 });
  lag.enable();
  // The account-events group this service consumes (guest.deleted → disconnect those guests).
  registerStreamBacklogGauges(registry, redis, [{ stream: streams.accountEvents, group: 'signaling' }]);

  new Gauge({
    name: 'signaling_connections',
    help: 'Open Socket.io connections on this instance',
    registers: [registry],
    collect() {
      this.set(local.connectionCount());
    },
  });
  new Gauge({
    name: 'signaling_users',
    help: 'Distinct users connected to this instance',
    registers: [registry],
    collect() {
      this.set(local.userCount());
    },
  });
  new Gauge({
    name: 'signaling_guests',
    help: 'Distinct guests connected to this instance',
    registers: [registry],
    collect() {
      this.set(local.guestCount());
    },
  });
  new Gauge({
    name: 'signaling_calls',
    help: 'Live calls in the cluster by state',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const c = await calls.countLive().catch(() => null);
      if (!c) return;
      this.set({ state: 'ringing' }, c.ringing);
      this.set({ state: 'accepted' }, c.accepted);
    },
  });
  new Gauge({
    name: 'signaling_reconnecting_clients',
    help: 'Clients in the cluster inside their resume window',
    registers: [registry],
    async collect() {
      const n = await redis.zcard(keys.resumeDeadlines()).catch(() => null);
      if (n !== null) this.set(n);
    },
  });
  new Gauge({
    name: 'signaling_event_loop_lag_p99_seconds',
    help: 'p99 event-loop delay since the last scrape',
    registers: [registry],
    collect() {
      this.set(lag.percentile(99) / 1e9);
      lag.reset();
    },
  });

  return {
    messages: counter(registry, 'signaling_messages_total', 'Client events accepted, by event', ['event']),
    rejected: counter(registry, 'signaling_rejected_messages_total', 'Client events refused, by reason (error code)', ['reason']),
    resumes: counter(registry, 'signaling_resumes_total', 'Reconnections presenting a resume token, by result', ['result']),
    connections: counter(registry, 'signaling_connection_attempts_total', 'Handshakes by result (accepted or the connect_error code)', ['result']),
    disconnects: counter(registry, 'signaling_disconnects_total', 'Disconnections by Socket.io reason', ['reason']),
    callSetup: histogram(registry, 'signaling_call_setup_seconds', 'Time from call creation (POST /api/calls) to the callee accepting', [0.5, 1, 2, 3, 5, 8, 13, 20, 30, 45]),
    qualitySummaries: counter(registry, 'signaling_quality_summaries_total', 'call-quality summaries accepted and handed to the call service'),
    socketRtt: histogram(registry, 'signaling_socket_rtt_seconds', "Round trip of each socket's heartbeat (engine.io ping sent to its pong received)", [0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5]),
    stop: () => lag.disable(),
  };
}

/**
 * Observes the socket's round trip at every heartbeat: engine.io sends `ping` every PING_INTERVAL_MS and
 * the client answers `pong` (packetCreate / packet events of the engine.io socket). A pong with no ping
 * in flight (a client's own) is not counted. Nothing per socket but one number; no label.
 */
export function observeSocketRtt(
  socket: { conn: { on(ev: string, fn: (packet: { type: string }) => void): unknown } },
  rtt: Histogram,
): void {
  let pingAt = 0;
  socket.conn.on('packetCreate', (packet) => {
    if (packet.type === 'ping') pingAt = performance.now();
  });
  socket.conn.on('packet', (packet) => {
    if (packet.type !== 'pong' || pingAt === 0) return;
    rtt.observe((performance.now() - pingAt) / 1000);
    pingAt = 0;
  });
}
