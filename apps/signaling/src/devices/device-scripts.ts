// The Lua scripts behind the device registry (device-registry.ts, their only user) that change one
// device's record and place in the device map: register or resume, disconnect, orphan and reclaim, expire,
// and the call it carries or was offered. Each is one step, so a device moving between instances never
// races its own old connection. Keys and arguments are named once (@voip/kit/redis-script).
import { defineScript, str } from '@voip/kit/redis-script';
import { MAP_ENTRY, NUMBERED, PUSH_BOUNDED, parseMessages } from './device-lua.js';

/** A device's own keys, as every script that changes one device names them. */
const DEVICE_KEYS = ['client', 'userClients', 'pending', 'pendingBytes'] as const;

export type PreviousState = '' | 'connected' | 'reconnecting';

export const REGISTER = defineScript({
  name: 'registerDevice',
  keys: [...DEVICE_KEYS, 'instanceClients', 'resumeDeadlines', 'replay', 'replayBytes'],
  args: [
    'userId',
    'clientId',
    'kind',
    'sessionId',
    'presentedHash',
    'newHash',
    'instanceId',
    'socketId',
    'nowMs',
    'newConnSessionId',
    'instanceClientsPrefix',
    'member',
    'connectedAt',
    /** The seq the device has, '' = no numbering asked for. */
    'lastSeq',
    'maxPending',
    'maxPendingBytes',
    'recordTtlMs',
  ],
  lua: `${NUMBERED}
local old = redis.call('HMGET', K.client, 'state', 'resumeTokenHash', 'resumeDeadlineMs', 'instanceId', 'socketId', 'connSessionId', 'callId', 'offeredCallId', 'seq')
local state, hash, deadline, oldInst, oldSock, oldConn, callId, offered, oldSeq = old[1], old[2], old[3], old[4], old[5], old[6], old[7], old[8], old[9]
local resumed = 0
if state and A.presentedHash ~= '' and hash == A.presentedHash then
  if state == 'connected' or (state == 'reconnecting' and tonumber(deadline or '0') >= tonumber(A.nowMs)) then resumed = 1 end
end
local conn = A.newConnSessionId
if resumed == 1 and oldConn then conn = oldConn end
if oldInst and oldInst ~= A.instanceId then redis.call('SREM', A.instanceClientsPrefix .. oldInst, A.member) end
redis.call('DEL', K.client)
redis.call('HSET', K.client, 'userId', A.userId, 'clientId', A.clientId, 'kind', A.kind, 'sessionId', A.sessionId,
  'resumeTokenHash', A.newHash, 'instanceId', A.instanceId, 'socketId', A.socketId, 'state', 'connected',
  'connectedAt', A.connectedAt, 'connSessionId', conn)
if resumed == 1 and callId then redis.call('HSET', K.client, 'callId', callId) end
if resumed == 1 and offered then redis.call('HSET', K.client, 'offeredCallId', offered) end
-- Numbering: kept across a resume, from 1 otherwise.
local numbered = A.lastSeq ~= ''
if numbered then redis.call('HSET', K.client, 'seqOn', '1') end
if resumed == 1 and oldSeq then redis.call('HSET', K.client, 'seq', oldSeq) end
redis.call('HSET', K.userClients, A.clientId, cjson.encode({instanceId = A.instanceId, socketId = A.socketId, connectedAt = A.connectedAt, state = 'connected', kind = A.kind}))
redis.call('SADD', K.instanceClients, A.member)
redis.call('ZREM', K.resumeDeadlines, A.member)
-- Handed over now: what was emitted and the device does not have (seq > lastSeq), then what was queued.
local out = {}
if resumed == 1 then
  local have = tonumber(A.lastSeq) or -1
  if numbered then
    for _, e in ipairs(redis.call('LRANGE', K.replay, 0, -1)) do
      local s = seqOf(e)
      if s and s > have then table.insert(out, e) end
    end
  end
  for _, e in ipairs(redis.call('LRANGE', K.pending, 0, -1)) do
    local s = seqOf(e)
    if not (s and s <= have) then table.insert(out, e) end
  end
end
redis.call('DEL', K.pending, K.pendingBytes, K.replay, K.replayBytes)
-- Numbered messages handed to this socket stay replayable: this connection may drop silently too.
if numbered then
  for _, e in ipairs(out) do
    if seqOf(e) then pushReplay(K.replay, K.replayBytes, e, A.maxPending, A.maxPendingBytes, A.recordTtlMs) end
  end
end
return {resumed, conn, state or '', oldInst or '', oldSock or '', callId or '', out, (resumed == 1 and offered) or ''}
`,
  decode: (reply) => {
    const r = reply as [number, string, string, string, string, string, string[], string];
    return {
      resumed: r[0] === 1,
      connSessionId: str(r[1]),
      previousState: str(r[2]) as PreviousState,
      previousInstanceId: str(r[3]),
      previousSocketId: str(r[4]),
      callId: str(r[5]),
      pending: parseMessages(r[6]),
      offeredCallId: str(r[7]),
    };
  },
});

/** Moves a device that lost its socket to `reconnecting` (or removes it), unless a newer socket took it over. */
export const DISCONNECT = defineScript({
  name: 'disconnectDevice',
  keys: [...DEVICE_KEYS, 'instanceClients', 'resumeDeadlines'],
  args: ['socketId', 'deadlineMs', 'mode', 'member', 'disconnectedAt', 'recordTtlMs'],
  lua: `${MAP_ENTRY}
local cur = redis.call('HMGET', K.client, 'socketId', 'callId', 'clientId')
if cur[1] ~= A.socketId then return {'stale', ''} end
local callId = cur[2] or ''
redis.call('SREM', K.instanceClients, A.member)
if A.mode == 'remove' then
  redis.call('DEL', K.client, K.pending, K.pendingBytes)
  redis.call('HDEL', K.userClients, cur[3])
  redis.call('ZREM', K.resumeDeadlines, A.member)
  return {'removed', callId}
end
redis.call('HSET', K.client, 'state', 'reconnecting', 'disconnectedAt', A.disconnectedAt, 'resumeDeadlineMs', A.deadlineMs)
redis.call('PEXPIRE', K.client, A.recordTtlMs)
redis.call('ZADD', K.resumeDeadlines, A.deadlineMs, A.member)
setEntryState(K.userClients, cur[3], 'reconnecting')
return {'reconnecting', callId}
`,
  decode: (reply) => {
    const [status, callId] = reply as [string, string];
    return { status: status as 'stale' | 'removed' | 'reconnecting', callId: str(callId) };
  },
});

/**
 * A device of a dead instance (or of this instance's previous run): reconnecting, so its calls survive. It
 * leaves the instance's set in the same step. A reaper (onlyIfDead = '1') claims nothing once the instance's
 * heartbeat is back: a live instance wrongly declared dead re-claims what was taken so far.
 */
export const ORPHAN = defineScript({
  name: 'orphanDevice',
  keys: ['client', 'userClients', 'resumeDeadlines', 'instanceClients', 'instance'],
  args: ['instanceId', 'deadlineMs', 'member', 'disconnectedAt', 'recordTtlMs', 'clientId', 'onlyIfDead'],
  lua: `${MAP_ENTRY}
if A.onlyIfDead == '1' and redis.call('EXISTS', K.instance) == 1 then return {'alive', ''} end
redis.call('SREM', K.instanceClients, A.member)
local cur = redis.call('HMGET', K.client, 'instanceId', 'state', 'callId')
if cur[1] ~= A.instanceId or cur[2] ~= 'connected' then return {'skip', ''} end
redis.call('HSET', K.client, 'state', 'reconnecting', 'disconnectedAt', A.disconnectedAt, 'resumeDeadlineMs', A.deadlineMs)
redis.call('PEXPIRE', K.client, A.recordTtlMs)
redis.call('ZADD', K.resumeDeadlines, A.deadlineMs, A.member)
setEntryState(K.userClients, A.clientId, 'reconnecting')
return {'reconnecting', cur[3] or ''}
`,
  decode: (reply) => {
    const [status, callId] = reply as [string, string];
    return { status: status as 'reconnecting' | 'skip' | 'alive', callId: str(callId) };
  },
});

/**
 * This instance was reaped while its socket was open: the record is connected again (if it still names this
 * socket), back in the instance's set, off the resume wheel, and hands over what was queued meanwhile.
 */
export const RECLAIM = defineScript({
  name: 'reclaimDevice',
  keys: [...DEVICE_KEYS, 'instanceClients', 'resumeDeadlines', 'replay', 'replayBytes'],
  args: ['instanceId', 'socketId', 'member', 'clientId', 'maxPending', 'maxPendingBytes', 'recordTtlMs'],
  lua: `${MAP_ENTRY}${NUMBERED}
local cur = redis.call('HMGET', K.client, 'instanceId', 'socketId', 'state', 'callId')
if cur[1] ~= A.instanceId or cur[2] ~= A.socketId then return {'gone', '', {}} end
local was = cur[3] or ''
if was == 'reconnecting' then
  redis.call('HSET', K.client, 'state', 'connected')
  redis.call('HDEL', K.client, 'disconnectedAt', 'resumeDeadlineMs')
  redis.call('PERSIST', K.client)
  setEntryState(K.userClients, A.clientId, 'connected')
end
redis.call('ZREM', K.resumeDeadlines, A.member)
redis.call('SADD', K.instanceClients, A.member)
local pending = redis.call('LRANGE', K.pending, 0, -1)
redis.call('DEL', K.pending, K.pendingBytes)
-- Handed to a socket that may be dying as the instance wakes (its client gave up on it during the
-- lapse): numbered messages stay replayable, so the client's resume gets what this socket swallowed.
if redis.call('HGET', K.client, 'seqOn') == '1' then
  for _, e in ipairs(pending) do
    if seqOf(e) then pushReplay(K.replay, K.replayBytes, e, A.maxPending, A.maxPendingBytes, A.recordTtlMs) end
  end
end
return {was, cur[4] or '', pending}
`,
  decode: (reply) => {
    const [status, callId, pending] = reply as [string, string, string[]];
    return {
      status: status as 'gone' | 'connected' | 'reconnecting',
      callId: str(callId),
      pending: parseMessages(pending),
    };
  },
});

/** The resume wheel: a reconnecting device whose window passed is removed, once, by whichever instance gets here first. */
export const EXPIRE = defineScript({
  name: 'expireDevice',
  keys: [...DEVICE_KEYS, 'resumeDeadlines'],
  args: ['member', 'nowMs', 'clientId'],
  lua: `
local cur = redis.call('HMGET', K.client, 'state', 'resumeDeadlineMs', 'callId')
if cur[1] == 'connected' then redis.call('ZREM', K.resumeDeadlines, A.member) return {'connected', ''} end
if cur[1] == 'reconnecting' and tonumber(cur[2] or '0') > tonumber(A.nowMs) then return {'later', ''} end
if redis.call('ZREM', K.resumeDeadlines, A.member) == 0 then return {'taken', ''} end
redis.call('DEL', K.client, K.pending, K.pendingBytes)
redis.call('HDEL', K.userClients, A.clientId)
return {'expired', cur[3] or ''}
`,
  decode: (reply) => {
    const [status, callId] = reply as [string, string];
    return { status: status as 'connected' | 'later' | 'taken' | 'expired', callId: str(callId) };
  },
});

/**
 * Only an existing record gets the call marker: a write after the record was removed must not resurrect it.
 * A callee device that now carries the call it was offered (it answered) is no longer just "offered" it.
 */
export const SET_CALL = defineScript({
  name: 'setDeviceCall',
  keys: ['client'],
  args: ['callId'],
  lua: `
if redis.call('EXISTS', K.client) == 0 then return 0 end
if A.callId == '' then redis.call('HDEL', K.client, 'callId') else redis.call('HSET', K.client, 'callId', A.callId) end
if A.callId ~= '' and redis.call('HGET', K.client, 'offeredCallId') == A.callId then redis.call('HDEL', K.client, 'offeredCallId') end
return 1
`,
  decode: () => undefined,
});

/**
 * The ringing call each device was offered (incoming-call went to it), so a device that was away when the
 * call was answered elsewhere or ended learns it on resume. incoming-call to the user room reaches every
 * connected device: each of those is marked (a reconnecting one is offered the call when it resumes).
 */
export const MARK_OFFERED_TO_CONNECTED = defineScript({
  name: 'markOfferedToConnected',
  keys: ['userClients'],
  args: ['callId', 'clientKeyTemplate', 'userId'],
  lua: `${PUSH_BOUNDED}
for _, c in ipairs(redis.call('HKEYS', K.userClients)) do
  local ck = deviceKey(A.clientKeyTemplate, A.userId, c)
  if redis.call('HGET', ck, 'state') == 'connected' then redis.call('HSET', ck, 'offeredCallId', A.callId) end
end
return 0
`,
  decode: () => undefined,
});

/** The device heard the end of the call it was offered (live, or on resume): forget it, unless it was offered another since. */
export const CLEAR_OFFERED = defineScript({
  name: 'clearOffered',
  keys: ['client'],
  args: ['callId'],
  lua: `
if redis.call('HGET', K.client, 'offeredCallId') ~= A.callId then return 0 end
redis.call('HDEL', K.client, 'offeredCallId')
return 1
`,
  decode: () => undefined,
});
