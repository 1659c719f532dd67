// Everything the socket handlers share, built once per app instance (two apps can live in one process).
import type { StreamProducer } from '@voip/bus/streams';
import type { CallStore } from '@voip/call-state/call-store';
import type { App } from '@voip/kit/app';
import type { Redis } from 'ioredis';
import type { Relay } from '../calls/relay.js';
import type { Config } from '../config.js';
import type { Presence } from '../connections/presence.js';
import type { DeviceRegistry } from '../devices/device-registry.js';
import type { SignalingMetrics } from '../ops/metrics.js';
import type { LocalSockets } from './local-sockets.js';
import type { SignalingServer, SignalingSocket } from './types.js';

export interface Signaling {
  app: App;
  io: SignalingServer;
  config: Config;
  redis: Redis;
  /** The adapter's subscriber connection (a PING on it is a barrier after joining rooms). */
  adapterSub: Redis;
  calls: CallStore;
  registry: DeviceRegistry;
  relay: Relay;
  /** Appends to the never-lost streams (call.quality summaries for the call service). */
  producer: StreamProducer;
  presence: Presence;
  local: LocalSockets;
  metrics: SignalingMetrics;
  state: { draining: boolean; startedAt: number };
  /** Runs work for a socket after everything queued before it (its events keep their order). */
  enqueue(socket: SignalingSocket, work: () => Promise<void>): Promise<void>;
  /** Resolves when every queued piece of socket work has finished (graceful shutdown). */
  idle(): Promise<void>;
}
