// What an idle socket keeps (issue 16, connections: heap per idle socket against bare Socket.io): not its
// access or resume token once the handshake is done, and one listener for every client event rather
// than one closure per event name. The events themselves still work (call-flow and untrusted-input tests).
import { ClientEventSchemas } from '@voip/contracts/socket';
import type { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { connect, type Instance, principal, useCluster } from './support/cluster.js';

const cluster = useCluster(1);
let a: Instance;
let redis: Redis;
beforeAll(() => {
  [a] = cluster.instances as [Instance];
  ({ redis } = cluster);
});

describe('idle socket footprint', () => {
  it('keeps neither token after the handshake, and no listener per client event', async () => {
    const x = await principal(redis);
    const first = cluster.track(await connect(a.url, { token: x.token }));
    // A resume carries both tokens.
    const c = cluster.track(
      await connect(a.url, {
        token: x.token,
        clientId: first.clientId,
        resumeToken: first.session!.resumeToken,
      }),
    );
    const socket = [...a.app.signaling.local.byUser(x.userId)].find((s) => s.data.clientId === c.clientId)!;
    expect(socket).toBeDefined();
    expect(JSON.stringify(socket.handshake.auth)).not.toContain(x.token);
    expect(JSON.stringify(socket.handshake.auth)).not.toContain(first.session!.resumeToken);
    expect(socket.data.presentedResumeTokenHash).not.toBe('');
    const perEvent = Object.keys(ClientEventSchemas).filter((e) => socket.listenerCount(e as never) > 0);
    expect(perEvent).toEqual([]);
    expect(await c.ack('heartbeat', {})).toMatchObject({ ok: true });
  });
});
