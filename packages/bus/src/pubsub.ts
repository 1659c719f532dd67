// Fan-out that may be lost (presence, session revocations for live sockets, cache invalidation):
// Redis pub/sub, one channel per event type. For what must not be lost, use streams.ts.
import type { BusEventData, BusEventType } from '@voip/contracts/bus-events';
import { channels } from '@voip/contracts/redis-keys';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { type BusEnvelope, createEnvelope, parseEnvelope } from './envelope.js';

/** How long on() waits for its SUBSCRIBE before returning anyway (Redis away: 'ready' subscribes later). */
const SUBSCRIBE_WAIT_MS = 2_000;
export interface Publisher {
  readonly source: string;
  publish<K extends BusEventType>(type: K, data: BusEventData<K>): Promise<BusEnvelope<K>>;
}

export function createPublisher(redis: Redis, source: string): Publisher {
  return {
    source,
    async publish(type, data) {
      const env = createEnvelope(type, data, source);
      await redis.publish(channels.bus(type), JSON.stringify(env));
      return env;
    },
  };
}

export type Handler<K extends BusEventType> = (envelope: BusEnvelope<K>) => void | Promise<void>;

export interface Subscriber {
  /** Resolves once subscribed, or (Redis unreachable) once it is arranged to subscribe when Redis is back. */
  on<K extends BusEventType>(type: K, handler: Handler<K>): Promise<void>;
  close(): Promise<void>;
}

export interface SubscriberOptions {
  /** This process's source id: its own messages are skipped unless includeOwn. */
  source: string;
  logger?: Pick<Logger, 'warn' | 'error'>;
  includeOwn?: boolean;
}

/** Subscribes on a dedicated connection (a subscribed ioredis client can do nothing else). */
export function createSubscriber(redis: Redis, opts: SubscriberOptions): Subscriber {
  const sub = redis.duplicate({ lazyConnect: false, connectionName: `${opts.source}-sub` });
  sub.on('error', (err) => opts.logger?.warn({ err: err.message }, 'bus subscriber connection error'));
  const handlers = new Map<string, Handler<BusEventType>[]>();
  sub.on('message', (channel: string, raw: string) => {
    const list = handlers.get(channel);
    if (!list) return;
    const parsed = parseEnvelope(raw);
    if (!parsed.ok) {
      opts.logger?.warn({ channel, reason: parsed.reason, detail: parsed.detail }, 'bus message dropped');
      return;
    }
    if (!opts.includeOwn && parsed.envelope.source === opts.source) return;
    for (const h of list) {
      Promise.resolve()
        .then(() => h(parsed.envelope))
        .catch((err: unknown) =>
          opts.logger?.error(
            { err, type: parsed.envelope.type, id: parsed.envelope.id },
            'bus handler failed',
          ),
        );
    }
  });
  // ioredis re-subscribes after a reconnect only to channels whose SUBSCRIBE once succeeded; a channel
  // asked for while Redis was unreachable is subscribed here as soon as the connection is ready.
  sub.on('ready', () => {
    if (handlers.size === 0) return;
    sub
      .subscribe(...handlers.keys())
      .catch((err: Error) =>
        opts.logger?.warn({ err: err.message }, 'bus subscribe failed; retrying on reconnect'),
      );
  });
  return {
    async on(type, handler) {
      const ch = channels.bus(type);
      const list = handlers.get(ch) ?? [];
      list.push(handler as Handler<BusEventType>);
      if (!handlers.has(ch)) {
        handlers.set(ch, list);
        // A service must start while Redis is down (readiness says 503): never throw here, and never wait
        // long for a connection that is not there (a SUBSCRIBE queued offline held signaling's plugin past
        // Fastify's start timeout); the 'ready' listener above subscribes every channel once Redis is back.
        const subscribed = sub
          .subscribe(ch)
          .catch((err: Error) =>
            opts.logger?.warn(
              { channel: ch, err: err.message },
              'bus subscribe failed; subscribing once Redis is back',
            ),
          );
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          subscribed,
          new Promise<void>((r) => (timer = setTimeout(r, SUBSCRIBE_WAIT_MS))),
        ]);
        clearTimeout(timer);
      }
    },
    async close() {
      handlers.clear();
      if (sub.status !== 'ready') sub.disconnect();
      else await sub.quit().catch(() => sub.disconnect());
    },
  };
}
