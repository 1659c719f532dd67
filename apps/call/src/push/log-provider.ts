// The development push provider: logs the wake-up or cancel it would have sent and reports success.
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { PushProvider } from './provider.js';

export function createLogPushProvider(log: Pick<Logger, 'info'>): PushProvider {
  return {
    name: 'log',
    async send(target, message) {
      log.info(
        { deviceId: target.deviceId, platform: target.platform, ...message },
        `push (log provider): ${message.type ?? 'incoming-call'}`,
      );
      return { ok: true };
    },
  };
}
