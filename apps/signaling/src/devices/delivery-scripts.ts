// The Lua scripts behind the device registry's message delivery: to one device (deliver-or-queue, with
// numbering), to a user's away devices, the replay buffer's ack, and the relay's ROUTE, the hot path's one
// round trip (it reads the call through call-state's CALL_LUA, never by field name).
import { CALL_LUA } from '@voip/call-state/call-fields';
import { defineScript, str } from '@voip/kit/redis-script';
import { NUMBERED, PUSH_BOUNDED } from './device-lua.js';

export type DeliverStatus = 'live' | 'queued' | 'overflow' | 'gone';

/**
 * Deliver-or-queue for one device, and the message's seq (null when the device did not ask for numbering).
 * A device still marked connected on an instance whose heartbeat key is gone is on a dead instance nobody
 * has reaped yet: an emit would vanish with it, so its messages are queued for its resume, as if reconnecting.
 */
export const DELIVER = defineScript({
  name: 'deliverToDevice',
  keys: ['client', 'pending', 'pendingBytes', 'replay', 'replayBytes'],
  args: ['message', 'maxPending', 'recordTtlMs', 'instancePrefix', 'maxPendingBytes'],
  lua: `${PUSH_BOUNDED}${NUMBERED}
local cur = redis.call('HMGET', K.client, 'state', 'instanceId', 'seqOn')
local st = cur[1]
if st == 'connected' and redis.call('EXISTS', A.instancePrefix .. (cur[2] or '')) == 1 then
  if cur[3] ~= '1' then return {'live', ''} end
  local n = redis.call('HINCRBY', K.client, 'seq', 1)
  pushReplay(K.replay, K.replayBytes, withSeq(A.message, n), A.maxPending, A.maxPendingBytes, A.recordTtlMs)
  return {'live', tostring(n)}
end
if st == 'reconnecting' or st == 'connected' then
  local msg, n = A.message, nil
  if cur[3] == '1' then
    n = (tonumber(redis.call('HGET', K.client, 'seq') or '0') or 0) + 1
    msg = withSeq(msg, n)
  end
  if not pushBounded(K.pending, K.pendingBytes, msg, A.maxPending, A.maxPendingBytes, A.recordTtlMs) then return {'overflow', ''} end
  if n then redis.call('HSET', K.client, 'seq', n) end
  return {'queued', ''}
end
return {'gone', ''}
`,
  decode: (reply) => {
    const [status, seq] = reply as [DeliverStatus, string];
    return { status, seq: seq ? Number(seq) : null };
  },
});

/** A cumulative ack: the device has everything up to lastSeq; the replay buffer forgets those (they are at its head). */
export const ACK = defineScript({
  name: 'ackReplay',
  keys: ['replay', 'replayBytes'],
  args: ['lastSeq'],
  lua: `${NUMBERED}
local have = tonumber(A.lastSeq)
local used = tonumber(redis.call('GET', K.replayBytes) or '0') or 0
local n = 0
while true do
  local e = redis.call('LINDEX', K.replay, 0)
  if not e then break end
  local s = seqOf(e)
  if s and s > have then break end
  redis.call('LPOP', K.replay)
  used = used - #e
  n = n + 1
end
if n > 0 then
  if redis.call('EXISTS', K.replay) == 1 then redis.call('SET', K.replayBytes, used, 'KEEPTTL') else redis.call('DEL', K.replayBytes) end
end
return n
`,
  decode: (reply) => Number(reply),
});

/** Key templates (`{u}`, `{c}` filled in by the script) for scripts that reach devices they find on the way. */
const TEMPLATE_ARGS = [
  'clientKeyTemplate',
  'pendingKeyTemplate',
  'pendingBytesKeyTemplate',
  'replayKeyTemplate',
  'replayBytesKeyTemplate',
  'instancePrefix',
] as const;

/**
 * A message for every device of a user but one, about a call they were offered: queued for each device that
 * was offered it and is away (reconnecting, or connected on a dead instance nobody has reaped yet), in the
 * same script as the check. Returns the devices queued for; the caller emits to the user room except them.
 */
export const QUEUE_FOR_AWAY_OFFERED = defineScript({
  name: 'queueForAwayOffered',
  keys: ['userClients'],
  args: [
    ...TEMPLATE_ARGS,
    'userId',
    'exceptClientId',
    'callId',
    'message',
    'maxPending',
    'maxPendingBytes',
    'recordTtlMs',
  ],
  lua: `${PUSH_BOUNDED}
local queued = {}
for _, c in ipairs(redis.call('HKEYS', K.userClients)) do
  if c ~= A.exceptClientId then
    local cur = redis.call('HMGET', deviceKey(A.clientKeyTemplate, A.userId, c), 'state', 'instanceId', 'offeredCallId')
    local away = cur[1] == 'reconnecting' or (cur[1] == 'connected' and redis.call('EXISTS', A.instancePrefix .. (cur[2] or '')) == 0)
    if away and cur[3] == A.callId then
      local pk = deviceKey(A.pendingKeyTemplate, A.userId, c)
      local bk = deviceKey(A.pendingBytesKeyTemplate, A.userId, c)
      if pushBounded(pk, bk, A.message, A.maxPending, A.maxPendingBytes, A.recordTtlMs) then table.insert(queued, c) end
    end
  end
end
return queued
`,
  decode: (reply) => (reply as string[]).map(str),
});

export type RouteResult =
  | { route: 'live'; userId: string; clientId: string; seq: number | null; instanceId: string }
  | { route: 'user'; userId: string }
  | { route: 'queued' | 'gone' | 'overflow' }
  | { route: 'NOT_FOUND' | 'FORBIDDEN' | 'ENDED' | 'WRONG_DEVICE' | 'NOT_ANSWERED' };

/**
 * The hot path (relay.ts): checks membership (a participant, on the device that carries the call, as
 * call-state's CALL_LUA says), picks the peer device and either reports it connected (then the adapter
 * delivers) or queues the message while the peer is reconnecting (or sits on a dead instance not yet
 * reaped). While the call rings the caller's candidates are also kept for a callee device that connects later.
 */
export const ROUTE = defineScript({
  name: 'routeToPeer',
  keys: ['call', 'candidates', 'candidateBytes'],
  args: [
    ...TEMPLATE_ARGS,
    'senderUserId',
    'senderClientId',
    /** The payload alone (kept as a ringing candidate) and as an [event, payload] message. */
    'payload',
    'message',
    'keepCandidate',
    'maxPending',
    'maxPendingBytes',
    'maxCandidates',
    'maxCandidateBytes',
    'ttlMs',
  ],
  lua: `${PUSH_BOUNDED}${NUMBERED}${CALL_LUA}
local call = readCall(K.call)
if not call then return {'NOT_FOUND'} end
local role = roleIn(call, A.senderUserId)
if not role then return {'FORBIDDEN'} end
if call.state == 'ended' then return {'ENDED'} end
if role == 'callee' and call.state ~= 'accepted' then return {'NOT_ANSWERED'} end
-- Only from the device carrying the call: a caller may relay from any device before it has one (no offer
-- yet), a callee never (an accepted call names the device that answered).
local carrier = carryingDevice(call, role)
if carrier ~= A.senderClientId and (carrier ~= '' or role == 'callee') then return {'WRONG_DEVICE'} end
local peer = peerRole(role)
local targetUser, targetClient = userOf(call, peer), carryingDevice(call, peer)
if targetClient == '' then
  -- Ringing: every callee device gets it; candidates are also kept for a device that connects later.
  -- Past their bounds they are still relayed live, just not kept.
  if A.keepCandidate == '1' and role == 'caller' then pushBounded(K.candidates, K.candidateBytes, A.payload, A.maxCandidates, A.maxCandidateBytes, A.ttlMs) end
  return {'user', targetUser}
end
local ck = deviceKey(A.clientKeyTemplate, targetUser, targetClient)
local cur = redis.call('HMGET', ck, 'state', 'instanceId', 'seqOn')
local st = cur[1]
-- "connected" on an instance whose heartbeat is gone: dead, not yet reaped; queue for its resume.
if st == 'connected' and redis.call('EXISTS', A.instancePrefix .. (cur[2] or '')) == 1 then
  if cur[3] ~= '1' then return {'live', targetUser, targetClient, '', cur[2]} end
  -- Numbered: kept for a resume in case the link is already dead and nobody knows yet.
  local n = redis.call('HINCRBY', ck, 'seq', 1)
  local rk = deviceKey(A.replayKeyTemplate, targetUser, targetClient)
  local rbk = deviceKey(A.replayBytesKeyTemplate, targetUser, targetClient)
  pushReplay(rk, rbk, withSeq(A.message, n), A.maxPending, A.maxPendingBytes, A.ttlMs)
  return {'live', targetUser, targetClient, tostring(n), cur[2]}
end
if st == 'reconnecting' or st == 'connected' then
  local pk = deviceKey(A.pendingKeyTemplate, targetUser, targetClient)
  local bk = deviceKey(A.pendingBytesKeyTemplate, targetUser, targetClient)
  local msg, n = A.message, nil
  if cur[3] == '1' then
    n = (tonumber(redis.call('HGET', ck, 'seq') or '0') or 0) + 1
    msg = withSeq(msg, n)
  end
  if not pushBounded(pk, bk, msg, A.maxPending, A.maxPendingBytes, A.ttlMs) then return {'overflow'} end
  if n then redis.call('HSET', ck, 'seq', n) end
  return {'queued'}
end
return {'gone'}
`,
  decode: (reply): RouteResult => {
    const r = (reply as string[]).map(str);
    switch (r[0]) {
      case 'live':
        return {
          route: 'live',
          userId: r[1] ?? '',
          clientId: r[2] ?? '',
          seq: r[3] ? Number(r[3]) : null,
          instanceId: r[4] ?? '',
        };
      case 'user':
        return { route: 'user', userId: r[1] ?? '' };
      case 'queued':
      case 'gone':
      case 'overflow':
        return { route: r[0] };
      default:
        return { route: (r[0] ?? 'NOT_FOUND') as 'NOT_FOUND' };
    }
  },
});
