// The operator command for admin rights: `pnpm admin grant <userId>`, `pnpm admin revoke <userId>`.
// Reads MONGODB_URI and REDIS_URL like the auth service (the same .env), writes the account's kind in
// MongoDB and, for a revoke, ends the account's sessions in Redis and tells signaling (session.revoked).
import { createPublisher } from '@voip/bus/pubsub';
import { Id } from '@voip/contracts/common';
import { validator } from '@voip/contracts/validate';
import { loadConfig, mongoConfigSpec, redisConfigSpec } from '@voip/kit/config';
import { createMongoConnection } from '@voip/kit/mongo';
import { createRedis } from '@voip/kit/redis';
import { setAdmin } from '../accounts/admin-rights.js';
import { createUserRepository } from '../accounts/user-repository.js';
import { createSessionStore } from '../sessions/session-store.js';

const USAGE = 'usage: pnpm admin grant|revoke <userId>';
const [action, userId] = process.argv.slice(2);
if ((action !== 'grant' && action !== 'revoke') || !userId || !validator(Id).check(userId)) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}

const config = loadConfig({ ...mongoConfigSpec, ...redisConfigSpec });
const mongo = createMongoConnection(config.MONGODB_URI);
const redis = createRedis(config.REDIS_URL);
try {
  await Promise.all([mongo.asPromise(), redis.connect()]);
  const store = createSessionStore(redis, { ttlSeconds: 60 });
  const bus = createPublisher(redis, 'auth-admin-cli');
  const result = await setAdmin(
    {
      users: createUserRepository(mongo),
      async revokeSessionsOf(id) {
        let n = 0;
        for (const sid of await store.sessionIdsOf(id)) {
          if (!(await store.delete(sid))) continue;
          n++;
          await bus.publish('session.revoked', { sessionId: sid, userId: id, reason: 'admin' });
        }
        return n;
      },
    },
    userId,
    action === 'grant',
  );
  if (result.status === 'not-found') {
    process.stderr.write(`no account with id ${userId} (guests cannot be admins)\n`);
    process.exitCode = 1;
  } else if (result.status === 'unchanged') process.stdout.write(`${userId} is already ${result.kind}\n`);
  else
    process.stdout.write(
      `${userId} is now ${result.kind}${result.sessionsRevoked ? ` (${result.sessionsRevoked} sessions ended)` : ''}\n`,
    );
} finally {
  await mongo.close();
  redis.disconnect();
}
