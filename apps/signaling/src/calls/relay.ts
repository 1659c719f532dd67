// The hot path: relaying ICE candidates and renegotiations between the two devices of a call. One Lua
// script checks membership (a participant, on the device that is in the call), picks the peer device and
// either reports it connected (then the adapter delivers it) or queues the message while the peer is
// reconnecting (or sits on a dead instance not yet reaped): one Redis round trip per message, no MongoDB,
// no per-socket timers.
import { keys } from '@voip/contracts/redis-keys';
import type { ServerEventName, ServerEventPayload } from '@voip/contracts/socket';
import type { Redis } from 'ioredis';
import {
  type ClientRegistry,
  clientKeyTemplate,
  instanceKeyPrefix,
  NUMBERED,
  PUSH_BOUNDED,
  pendingBytesKeyTemplate,
  pendingKeyTemplate,
  replayBytesKeyTemplate,
  replayKeyTemplate,
} from '../connections/client-registry.js';
import { luaScript } from '../realtime/lua-script.js';
import { clientRoom, userRoom } from '../realtime/rooms.js';
import type { SignalingServer } from '../realtime/types.js';

const ROUTE = luaScript(`${PUSH_BOUNDED}${NUMBERED}
local c = redis.call('HMGET', KEYS[1], 'callerId', 'calleeId', 'state', 'callerClientId', 'answeredByClientId')
if not c[3] then return {'NOT_FOUND'} end
local sender, dev = ARGV[1], ARGV[2]
local role
if sender == c[1] then role = 'caller' elseif sender == c[2] then role = 'callee' else return {'FORBIDDEN'} end
if c[3] == 'ended' then return {'ENDED'} end
local targetUser, targetClient
if role == 'caller' then
  if c[4] and c[4] ~= '' and c[4] ~= dev then return {'WRONG_DEVICE'} end
  targetUser = c[2]
  if c[3] == 'accepted' then targetClient = c[5] end
else
  if c[3] ~= 'accepted' then return {'NOT_ANSWERED'} end
  if c[5] ~= dev then return {'WRONG_DEVICE'} end
  targetUser = c[1]
  targetClient = c[4]
end
if not targetClient or targetClient == '' then
  -- Ringing: every callee device gets it; candidates are also kept for a device that connects later.
  -- Past their bounds they are still relayed live, just not kept.
  if ARGV[8] == '1' and role == 'caller' then pushBounded(KEYS[2], KEYS[3], ARGV[5], ARGV[13], ARGV[14], ARGV[7]) end
  return {'USER', targetUser}
end
local ck = string.gsub(string.gsub(ARGV[3], '{u}', targetUser), '{c}', targetClient)
local cur = redis.call('HMGET', ck, 'state', 'instanceId', 'seqOn')
local st = cur[1]
-- "connected" on an instance whose heartbeat is gone: dead, not yet reaped; queue for its resume.
if st == 'connected' and redis.call('EXISTS', ARGV[10] .. (cur[2] or '')) == 1 then
  if cur[3] ~= '1' then return {'LIVE', targetUser, targetClient, '', cur[2]} end
  -- Numbered: kept for a resume in case the link is already dead and nobody knows yet.
  local n = redis.call('HINCRBY', ck, 'seq', 1)
  local rk = string.gsub(string.gsub(ARGV[15], '{u}', targetUser), '{c}', targetClient)
  local rbk = string.gsub(string.gsub(ARGV[16], '{u}', targetUser), '{c}', targetClient)
  pushReplay(rk, rbk, withSeq(ARGV[9], n), ARGV[6], ARGV[12], ARGV[7])
  return {'LIVE', targetUser, targetClient, tostring(n), cur[2]}
end
if st == 'reconnecting' or st == 'connected' then
  local pk = string.gsub(string.gsub(ARGV[4], '{u}', targetUser), '{c}', targetClient)
  local bk = string.gsub(string.gsub(ARGV[11], '{u}', targetUser), '{c}', targetClient)
  local msg, n = ARGV[9], nil
  if cur[3] == '1' then
    n = (tonumber(redis.call('HGET', ck, 'seq') or '0') or 0) + 1
    msg = withSeq(msg, n)
  end
  if not pushBounded(pk, bk, msg, ARGV[6], ARGV[12], ARGV[7]) then return {'OVERFLOW'} end
  if n then redis.call('HSET', ck, 'seq', n) end
  return {'QUEUED'}
end
return {'GONE'}
`);

export type RelayEvent = 'ice-candidate' | 'renegotiate';

export type RelayOutcome =
  | { ok: true; delivery: 'live' | 'queued' | 'ringing' | 'gone' }
  | { ok: false; code: 'CALL_NOT_FOUND' | 'FORBIDDEN' | 'INVALID_STATE' | 'RATE_LIMITED'; message: string };

export interface Relay {
  relay<K extends RelayEvent>(
    sender: { userId: string; clientId: string },
    event: K,
    payload: ServerEventPayload<K> & { callId: string },
  ): Promise<RelayOutcome>;
  /** One device (queued while it reconnects), or every device of the user when clientId is null. */
  toDevice<K extends ServerEventName>(
    userId: string,
    clientId: string | null,
    event: K,
    payload: ServerEventPayload<K>,
  ): Promise<void>;
  toUser<K extends ServerEventName>(userId: string, event: K, payload: ServerEventPayload<K>): void;
  /**
   * Every device of the user but `exceptClientId`, about a call they were offered: live devices through
   * the user room, away ones that were offered `callId` queued for their resume (each device gets it once).
   */
  toOtherDevices<K extends ServerEventName>(
    userId: string,
    exceptClientId: string,
    callId: string,
    event: K,
    payload: ServerEventPayload<K>,
  ): Promise<void>;
}

export function createRelay(
  io: SignalingServer,
  redis: Redis,
  registry: ClientRegistry,
  opts: {
    maxPending: number;
    maxPendingBytes: number;
    maxCallCandidates: number;
    maxCallCandidateBytes: number;
    ringTimeoutMs: number;
    /** This instance: a peer device connected here is delivered to directly, not through Redis. */
    instanceId?: string;
  },
): Relay {
  const ttl = registry.recordTtlMs;
  const emit = (room: string, event: string, payload: unknown) =>
    (io.to(room).emit as (ev: string, p: unknown) => boolean)(event, payload);

  return {
    async relay(sender, event, payload) {
      // Serialized once: the queued/numbered form is the same JSON inside the [event, payload] pair.
      const payloadJson = JSON.stringify(payload);
      const message = `[${JSON.stringify(event)},${payloadJson}]`;
      const r = (await ROUTE(
        redis,
        [
          keys.call(payload.callId),
          keys.callCandidates(payload.callId),
          keys.callCandidateBytes(payload.callId),
        ],
        [
          sender.userId,
          sender.clientId,
          clientKeyTemplate,
          pendingKeyTemplate,
          payloadJson,
          opts.maxPending,
          Math.max(ttl, opts.ringTimeoutMs + 60_000),
          event === 'ice-candidate' ? '1' : '0',
          message,
          instanceKeyPrefix,
          pendingBytesKeyTemplate,
          opts.maxPendingBytes,
          opts.maxCallCandidates,
          opts.maxCallCandidateBytes,
          replayKeyTemplate,
          replayBytesKeyTemplate,
        ],
      )) as string[];
      switch (r[0]) {
        case 'LIVE': {
          const room = clientRoom(r[1]!, r[2]!);
          const out = r[3] ? { ...payload, seq: Number(r[3]) } : payload;
          // The peer device is registered on this instance and its socket is here: deliver it directly.
          // Through the adapter it would be published to Redis and come back to this instance only.
          if (r[4] === opts.instanceId && io.of('/').adapter.rooms.has(room))
            (io.local.to(room).emit as (ev: string, p: unknown) => boolean)(event, out);
          else emit(room, event, out);
          return { ok: true, delivery: 'live' };
        }
        case 'USER':
          emit(userRoom(r[1]!), event, payload);
          return { ok: true, delivery: 'ringing' };
        case 'QUEUED':
          return { ok: true, delivery: 'queued' };
        case 'GONE':
          return { ok: true, delivery: 'gone' };
        case 'OVERFLOW':
          return {
            ok: false,
            code: 'RATE_LIMITED',
            message: 'the reconnecting peer has too many messages queued; retry once it is back',
          };
        case 'NOT_FOUND':
          return { ok: false, code: 'CALL_NOT_FOUND', message: 'no such call' };
        case 'FORBIDDEN':
          return { ok: false, code: 'FORBIDDEN', message: 'not a participant of this call' };
        case 'WRONG_DEVICE':
          return { ok: false, code: 'FORBIDDEN', message: 'this call is on another of your devices' };
        case 'NOT_ANSWERED':
          return { ok: false, code: 'INVALID_STATE', message: 'accept the call first' };
        default:
          return { ok: false, code: 'INVALID_STATE', message: 'the call has ended' };
      }
    },

    async toDevice(userId, clientId, event, payload) {
      if (!clientId) {
        emit(userRoom(userId), event, payload);
        return;
      }
      const { status, seq } = await registry.deliver(userId, clientId, [event, payload]);
      if (status === 'live') emit(clientRoom(userId, clientId), event, seq ? { ...payload, seq } : payload);
    },

    toUser(userId, event, payload) {
      emit(userRoom(userId), event, payload);
    },

    async toOtherDevices(userId, exceptClientId, callId, event, payload) {
      const queued = await registry.queueForAwayOffered(userId, exceptClientId, callId, [event, payload]);
      const except = [exceptClientId, ...queued].map((c) => clientRoom(userId, c));
      (io.to(userRoom(userId)).except(except).emit as (ev: string, p: unknown) => boolean)(event, payload);
    },
  };
}
