// A revoked session whose session.revoked message was lost: each instance's session sweep (every
// SESSION_SWEEP_INTERVAL_MS, short here) closes its sockets without waiting for the 5-minute clean-up.
import { keys } from '@voip/contracts/redis-keys';
import { ulid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { connect, connectError, principal, useCluster } from './support/cluster.js';

// The full clean-up stays at its default (5 min): only the sweep can close the sockets in this test.
const cluster = useCluster(1, { SESSION_SWEEP_INTERVAL_MS: '300' });

describe('session sweep', () => {
  it("closes a revoked session's sockets when its pub/sub message was lost, and only those", async () => {
    const [a] = cluster.instances;
    const { redis, track } = cluster;
    const stolen = await principal(redis);
    const phone = track(await connect(a!.url, { token: stolen.token }));
    const bystander = track(await connect(a!.url, { token: (await principal(redis)).token }));
    const closed = new Promise<string>((r) => phone.socket.once('disconnect', r));
    // What auth's revocation does to Redis, without the session.revoked message.
    await redis.del(keys.session(stolen.sessionId));

    // waitFor's own limit (8 s) is far under CLEANUP_INTERVAL_MS: only the sweep can do it.
    expect(await phone.waitFor('session-revoked', () => true, 8000)).toEqual({ reason: 'session-ended' });
    expect(await closed).toBe('io server disconnect');
    expect(bystander.socket.connected).toBe(true);
    expect(await bystander.ack('heartbeat', {})).toMatchObject({ ok: true });
    expect((await connectError(a!.url, { token: stolen.token, clientId: ulid() }))?.data?.code).toBe(
      'SESSION_REVOKED',
    );
  });
});
