// What a test needs to boot a service in-process: the URLs of the real servers, a fresh key pair and
// an internal credential, in the shape of the environment a service reads.
import { generateKeyPairSync } from 'node:crypto';
import { mongoUriFor, uniqueName } from './servers.js';

export function redisUrl(): string {
  const u = process.env.REDIS_URL;
  if (!u) throw new Error('REDIS_URL is not set: is @voip/testkit/global-setup in vitest.config.ts?');
  return u;
}

export function mongoUri(dbName?: string): string {
  const u = process.env.MONGODB_URI;
  if (!u) throw new Error('MONGODB_URI is not set: is @voip/testkit/global-setup in vitest.config.ts?');
  return mongoUriFor(u, dbName ?? uniqueName('db'));
}

export interface TestKeys {
  privateKey: string;
  publicKey: string;
}

let shared: TestKeys | undefined;
/** One P-256 key pair per test worker. */
export function testKeys(): TestKeys {
  if (!shared) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    shared = {
      privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    };
  }
  return shared;
}

export const TEST_INTERNAL_TOKEN = 'test-internal-token-0123456789abcdef';

/** Environment for a service under test: real servers, fresh keys, quiet logs. Override as needed. */
export function serviceEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const k = testKeys();
  return {
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: process.env.VOIP_TEST_LOG_LEVEL ?? 'silent',
    REDIS_URL: redisUrl(),
    MONGODB_URI: process.env.MONGODB_URI ? mongoUri() : '',
    JWT_PUBLIC_KEY: k.publicKey,
    JWT_PRIVATE_KEY: k.privateKey,
    INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
    INSTANCE_ID: uniqueName('inst'),
    ...extra,
  };
}
