// The sharded Socket.io adapter's subscriber connection, safe while Redis is away. The adapter calls
// SSUBSCRIBE / SUNSUBSCRIBE and drops the promises, and ioredis's own re-subscription after a reconnect
// does too: while Redis is down (or not yet up at start-up) each of those rejects with "Connection is
// closed." and, unhandled, ends the process. Here every such call is caught, and a channel whose
// SSUBSCRIBE failed (which ioredis does not remember) is subscribed again as soon as the connection is
// ready, so rooms joined while Redis was away still get their messages.

import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';

export function createAdapterSubscriber(
  redis: Redis,
  connectionName: string,
  log: Pick<FastifyBaseLogger, 'warn' | 'debug'>,
): Redis {
  const sub = redis.duplicate({ connectionName });
  sub.on('error', (err) => log.warn({ err: err.message }, 'adapter subscriber connection error'));
  /** Channels wanted whose SSUBSCRIBE failed: retried on the next 'ready'. */
  const retry = new Set<string>();
  const channelsOf = (args: unknown[]) => args.flat().filter((a): a is string => typeof a === 'string');
  const ssubscribe = sub.ssubscribe.bind(sub) as (...channels: string[]) => Promise<unknown>;
  const sunsubscribe = sub.sunsubscribe.bind(sub) as (...channels: string[]) => Promise<unknown>;

  sub.ssubscribe = ((...args: unknown[]) => {
    const channels = channelsOf(args);
    return ssubscribe(...channels).then(
      (n) => {
        for (const c of channels) retry.delete(c);
        return n;
      },
      (err: Error) => {
        for (const c of channels) retry.add(c);
        log.debug(
          { err: err.message, channels: channels.length },
          'adapter SSUBSCRIBE failed; retrying when Redis is back',
        );
        return 0;
      },
    );
  }) as Redis['ssubscribe'];
  sub.sunsubscribe = ((...args: unknown[]) => {
    const channels = channelsOf(args);
    for (const c of channels) retry.delete(c);
    return sunsubscribe(...channels).catch((err: Error) => {
      log.debug({ err: err.message }, 'adapter SUNSUBSCRIBE failed');
      return 0;
    });
  }) as Redis['sunsubscribe'];

  sub.on('ready', () => {
    if (retry.size === 0) return;
    log.warn({ channels: retry.size }, 'adapter subscriber back: subscribing the channels it missed');
    for (const c of [...retry]) void sub.ssubscribe(c);
  });
  return sub;
}
