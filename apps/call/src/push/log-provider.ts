// The development push provider: logs the wake-up it would have sent and reports success.
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { PushProvider } from './provider.js';

export function createLogPushProvider(log: Pick<Logger, 'info'>): PushProvider {
  return {
    name: 'log',
    async send(target, message) {
      log.info(
        { deviceId: target.deviceId, platform: target.platform, ...message },
        'push (log provider): wake-up',
      );
      return { ok: true };
    },
  };
}
