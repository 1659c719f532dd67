import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Account,
  internalHeaders,
  startUserService,
  type TestService,
  withProfile,
} from '../harness.js';

/** Registration times order devices: make the next one land on a later millisecond. */
async function nextMillisecond() {
  const now = Date.now();
  while (Date.now() === now) await new Promise((r) => setImmediate(r));
}

describe('push devices', () => {
  let svc: TestService;
  const put = (a: Account, deviceId: string, body: unknown) =>
    svc.app.inject({
      method: 'PUT',
      url: `/api/users/me/devices/${deviceId}`,
      headers: a.headers,
      payload: body as object,
    });
  const list = async (a: Account) =>
    (await svc.app.inject({ url: '/api/users/me/devices', headers: a.headers })).json().items;
  const pushTargets = async (userId: string) =>
    (await svc.app.inject({ url: `/internal/users/${userId}/devices`, headers: internalHeaders })).json()
      .devices;

  beforeAll(async () => {
    svc = await startUserService({ MAX_DEVICES: '3' });
  });
  afterAll(() => svc.app.close());

  it('registers, updates and removes a device', async () => {
    const a = await withProfile(svc.app);
    const res = await put(a, 'pixel-8', { platform: 'android', pushToken: 'fcm-token-1' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      deviceId: 'pixel-8',
      platform: 'android',
      pushToken: 'fcm-token-1',
      updatedAt: expect.any(String),
    });
    // One token per device: a new token replaces the old one.
    await put(a, 'pixel-8', { platform: 'android', pushToken: 'fcm-token-2' });
    expect(await pushTargets(a.id)).toEqual([
      { deviceId: 'pixel-8', platform: 'android', pushToken: 'fcm-token-2' },
    ]);
    expect(
      (await svc.app.inject({ method: 'DELETE', url: '/api/users/me/devices/pixel-8', headers: a.headers }))
        .statusCode,
    ).toBe(204);
    expect(
      (await svc.app.inject({ method: 'DELETE', url: '/api/users/me/devices/pixel-8', headers: a.headers }))
        .statusCode,
    ).toBe(204);
    expect(await list(a)).toEqual([]);
  });

  it('moves a token registered by another account away from the first one', async () => {
    const first = await withProfile(svc.app);
    const second = await withProfile(svc.app);
    await put(first, 'shared-phone', { platform: 'android', pushToken: 'token-moves' });
    await put(first, 'other-phone', { platform: 'ios', pushToken: 'token-stays' });
    await put(second, 'shared-phone', { platform: 'android', pushToken: 'token-moves' });
    expect(await pushTargets(first.id)).toEqual([
      { deviceId: 'other-phone', platform: 'ios', pushToken: 'token-stays' },
    ]);
    expect(await pushTargets(second.id)).toEqual([
      { deviceId: 'shared-phone', platform: 'android', pushToken: 'token-moves' },
    ]);
    // Also within one account: the token moves to the device that registered it last.
    await put(second, 'new-id-same-phone', { platform: 'android', pushToken: 'token-moves' });
    expect((await pushTargets(second.id)).map((d: { deviceId: string }) => d.deviceId)).toEqual([
      'new-id-same-phone',
    ]);
  });

  it('settles two accounts racing for one token on exactly one owner', async () => {
    const accounts = await Promise.all(Array.from({ length: 6 }, () => withProfile(svc.app)));
    const results = await Promise.all(
      accounts.map((a, i) => put(a, `racer-${i}`, { platform: 'web', pushToken: 'contested' })),
    );
    for (const r of results) expect(r.statusCode).toBe(200);
    const owners = (await Promise.all(accounts.map((a) => pushTargets(a.id)))).filter((d) => d.length > 0);
    expect(owners).toHaveLength(1);
  });

  it('keeps only the most recent MAX_DEVICES devices', async () => {
    const a = await withProfile(svc.app);
    for (let i = 1; i <= 4; i++) {
      await put(a, `dev-${i}`, { platform: 'web', pushToken: `tok-limit-${i}` });
      await nextMillisecond();
    }
    expect((await list(a)).map((d: { deviceId: string }) => d.deviceId).sort()).toEqual([
      'dev-2',
      'dev-3',
      'dev-4',
    ]);
  });

  it.each([
    ['an unknown platform', 'd1', { platform: 'symbian', pushToken: 't' }],
    ['a missing token', 'd1', { platform: 'android' }],
    ['an empty token', 'd1', { platform: 'android', pushToken: '' }],
    ['a too long token', 'd1', { platform: 'android', pushToken: 't'.repeat(4097) }],
    ['an unknown field', 'd1', { platform: 'android', pushToken: 't', userId: 'someone-else' }],
    ['an operator object', 'd1', { platform: 'android', pushToken: { $gt: '' } }],
    ['a device id with bad characters', 'd%2F1', { platform: 'android', pushToken: 't' }],
    ['a too long device id', 'd'.repeat(129), { platform: 'android', pushToken: 't' }],
  ])('refuses %s with 400', async (_name, deviceId, body) => {
    const a = await withProfile(svc.app);
    const res = await put(a, deviceId, body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_FAILED');
    expect(await list(a)).toEqual([]);
  });

  it('answers an absurdly long path parameter in the API error shape', async () => {
    const a = await withProfile(svc.app);
    const res = await svc.app.inject({
      method: 'PUT',
      url: `/api/users/me/devices/${'d'.repeat(600)}`,
      headers: { ...a.headers, 'x-request-id': 'long-param' },
      payload: { platform: 'web', pushToken: 't' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers['x-request-id']).toBe('long-param');
    expect(res.json()).toEqual({ error: { code: 'VALIDATION_FAILED', message: expect.any(String) } });
  });

  it('needs a token', async () => {
    expect(
      (
        await svc.app.inject({
          method: 'PUT',
          url: '/api/users/me/devices/x',
          payload: { platform: 'web', pushToken: 't' },
        })
      ).statusCode,
    ).toBe(401);
  });
});
