import { randomUUID } from 'node:crypto';
import { keys } from '@voip/contracts/redis-keys';
import { defineScript } from '@voip/kit/redis-script';
import { redisUrl } from '@voip/testkit/env';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_LUA, type CallRole, carryingDevice, deviceOf, peerOf, roleIn } from '../src/call-fields.js';
import { createCallStore } from '../src/call-store.js';

let redis: Redis;
beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterAll(() => redis.quit());

// The Lua twin, asked the same questions about a record the store wrote.
const ASK = defineScript({
  name: 'askCall',
  keys: ['call'],
  args: ['userId'],
  lua: `${CALL_LUA}
local call = readCall(K.call)
if not call then return {'none'} end
local role = roleIn(call, A.userId)
if not role then return {'stranger', call.state} end
local peer = peerRole(role)
return {role, call.state, carryingDevice(call, role), userOf(call, peer), carryingDevice(call, peer)}`,
  decode: (r) => r as string[],
});

describe('call fields: TypeScript and its Lua twin say the same', () => {
  it('for a ringing call, an accepted one and a stranger, on a record written by the store', async () => {
    const store = createCallStore(redis, { producerSource: 'test' });
    const [caller, callee] = [randomUUID(), randomUUID()];
    const created = await store.create({
      callerId: caller,
      callerKind: 'user',
      callerName: 'A',
      calleeId: callee,
      media: 'audio',
    });
    if (!created.ok) throw new Error('not created');
    const callId = created.call.callId;
    const check = async () => {
      const call = await store.get(callId);
      if (!call) throw new Error('gone');
      for (const userId of [caller, callee, 'someone-else']) {
        const lua = await ASK.run(redis, { call: keys.call(callId), userId });
        const role = roleIn(call, userId);
        if (!role) {
          expect(lua).toEqual(['stranger', call.state]);
          expect(deviceOf(call, userId)).toBeNull();
          continue;
        }
        const peer = peerOf(call, userId);
        expect(lua).toEqual([
          role,
          call.state,
          carryingDevice(call, role) ?? '',
          peer.userId,
          peer.clientId ?? '',
        ]);
        expect(deviceOf(call, userId)).toBe(carryingDevice(call, role as CallRole));
      }
    };
    await check();
    const offered = await store.recordOffer(callId, {
      byUserId: caller,
      clientId: 'phone-a',
      offer: { type: 'offer', sdp: 'v=0' },
    });
    expect(offered.ok).toBe(true);
    await check();
    const accepted = await store.transition(
      callId,
      { type: 'accept' },
      { byUserId: callee, clientId: 'tablet-b' },
    );
    expect(accepted.ok).toBe(true);
    await check();
    expect(deviceOf((await store.get(callId))!, callee)).toBe('tablet-b');
    expect(await ASK.run(redis, { call: keys.call(randomUUID()), userId: caller })).toEqual(['none']);
  });
});
