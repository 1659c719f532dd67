// Structured pino logging, the same for every service: service name, instance id, redacted secrets.
import pino, { type LoggerOptions } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-internal-token"]',
  'password',
  '*.password',
  'refreshToken',
  '*.refreshToken',
  'accessToken',
  '*.accessToken',
  'token',
  '*.token',
];

export function loggerOptions(service: string, level: string, instanceId?: string): LoggerOptions {
  return {
    level,
    base: { service, ...(instanceId ? { instanceId } : {}) },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
}

export function createLogger(service: string, level = 'info', instanceId?: string) {
  return pino(loggerOptions(service, level, instanceId));
}
export type { Logger } from 'pino';
