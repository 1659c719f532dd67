// The Lua scripts behind the device registry (device-registry.ts, their only user): each one change of the
// device map, a device's record, its pending queue and replay buffer, or a call's kept candidates, done in
// one step so a device moving between instances never races its own old connection. Keys and arguments
// are named once (@voip/kit/redis-script); the registry builds them and reads the decoded replies.
// Over ~400 lines on purpose: fourteen scripts that share two Lua helpers and are read side by side.
import { CALL_LUA } from '@voip/call-state/call-fields';
import { defineScript, str } from '@voip/kit/redis-script';

/**
 * Lua: RPUSH onto a list bounded in count and in bytes; the byte total lives in its own key (written with
 * the list and with its TTL), so the bound costs no read of the list. At either bound the message is
 * refused (false), never an older one dropped: what is queued first (an answer, early candidates) is what
 * the peer needs first, and the sender hears the refusal. deviceKey fills a `{u}`/`{c}` key template.
 */
const PUSH_BOUNDED = `
local function pushBounded(list, bytesKey, msg, maxCount, maxBytes, ttl)
  local n = redis.call('LLEN', list)
  local used = 0
  if n > 0 then used = tonumber(redis.call('GET', bytesKey) or '0') or 0 end
  if n >= tonumber(maxCount) or used + #msg > tonumber(maxBytes) then return false end
  redis.call('RPUSH', list, msg)
  redis.call('PEXPIRE', list, ttl)
  redis.call('SET', bytesKey, used + #msg, 'PX', ttl)
  return true
end
local function deviceKey(template, u, c)
  local k = string.gsub(string.gsub(template, '{u}', u), '{c}', c)
  return k
end
`;

/**
 * Lua: numbered delivery, for a device whose record has `seqOn` (it sent `auth.lastSeq`). withSeq adds
 * `"seq":n` to a JSON `[event, {payload}]` message (the payload is never empty: it has a callId); seqOf
 * reads it back (nil for an unnumbered message). pushReplay appends to the device's replay buffer of
 * messages already emitted, dropping the OLDEST past either bound: unlike the pending queue nobody could be
 * told of a refusal here (the message is already on its way), and a device that was gone for longer than the
 * buffer holds has lost its media state anyway.
 */
const NUMBERED = `
local function withSeq(msg, n) return string.sub(msg, 1, -3) .. ',"seq":' .. n .. '}]' end
local function seqOf(entry) return tonumber(string.match(entry, '"seq":(%d+)}%]$')) end
local function pushReplay(list, bytesKey, msg, maxCount, maxBytes, ttl)
  local n = redis.call('RPUSH', list, msg)
  local used = #msg
  if n > 1 then used = used + (tonumber(redis.call('GET', bytesKey) or '0') or 0) end
  while n > 1 and (n > tonumber(maxCount) or used > tonumber(maxBytes)) do
    used = used - #redis.call('LPOP', list)
    n = n - 1
  end
  redis.call('PEXPIRE', list, ttl)
  redis.call('SET', bytesKey, used, 'PX', ttl)
end
`;

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
  lua: `
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
local entry = redis.call('HGET', K.userClients, cur[3])
if entry then
  local e = cjson.decode(entry)
  e.state = 'reconnecting'
  redis.call('HSET', K.userClients, cur[3], cjson.encode(e))
end
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
  lua: `
if A.onlyIfDead == '1' and redis.call('EXISTS', K.instance) == 1 then return {'alive', ''} end
redis.call('SREM', K.instanceClients, A.member)
local cur = redis.call('HMGET', K.client, 'instanceId', 'state', 'callId')
if cur[1] ~= A.instanceId or cur[2] ~= 'connected' then return {'skip', ''} end
redis.call('HSET', K.client, 'state', 'reconnecting', 'disconnectedAt', A.disconnectedAt, 'resumeDeadlineMs', A.deadlineMs)
redis.call('PEXPIRE', K.client, A.recordTtlMs)
redis.call('ZADD', K.resumeDeadlines, A.deadlineMs, A.member)
local entry = redis.call('HGET', K.userClients, A.clientId)
if entry then
  local e = cjson.decode(entry)
  e.state = 'reconnecting'
  redis.call('HSET', K.userClients, A.clientId, cjson.encode(e))
end
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
  keys: [...DEVICE_KEYS, 'instanceClients', 'resumeDeadlines'],
  args: ['instanceId', 'socketId', 'member', 'clientId'],
  lua: `
local cur = redis.call('HMGET', K.client, 'instanceId', 'socketId', 'state', 'callId')
if cur[1] ~= A.instanceId or cur[2] ~= A.socketId then return {'gone', '', {}} end
local was = cur[3] or ''
if was == 'reconnecting' then
  redis.call('HSET', K.client, 'state', 'connected')
  redis.call('HDEL', K.client, 'disconnectedAt', 'resumeDeadlineMs')
  redis.call('PERSIST', K.client)
  local entry = redis.call('HGET', K.userClients, A.clientId)
  if entry then
    local e = cjson.decode(entry)
    e.state = 'connected'
    redis.call('HSET', K.userClients, A.clientId, cjson.encode(e))
  end
end
redis.call('ZREM', K.resumeDeadlines, A.member)
redis.call('SADD', K.instanceClients, A.member)
local pending = redis.call('LRANGE', K.pending, 0, -1)
redis.call('DEL', K.pending, K.pendingBytes)
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

/** incoming-call to one device (it connected or resumed while the call rings); an existing record only. */
export const MARK_OFFERED = defineScript({
  name: 'markOffered',
  keys: ['client'],
  args: ['callId'],
  lua: `
if redis.call('EXISTS', K.client) == 0 then return 0 end
redis.call('HSET', K.client, 'offeredCallId', A.callId)
return 1
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
  | { route: 'live'; userId: string; clientId: string; seq: number | null }
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
  if cur[3] ~= '1' then return {'live', targetUser, targetClient} end
  -- Numbered: kept for a resume in case the link is already dead and nobody knows yet.
  local n = redis.call('HINCRBY', ck, 'seq', 1)
  local rk = deviceKey(A.replayKeyTemplate, targetUser, targetClient)
  local rbk = deviceKey(A.replayBytesKeyTemplate, targetUser, targetClient)
  pushReplay(rk, rbk, withSeq(A.message, n), A.maxPending, A.maxPendingBytes, A.ttlMs)
  return {'live', targetUser, targetClient, tostring(n)}
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
        return { route: 'live', userId: r[1] ?? '', clientId: r[2] ?? '', seq: r[3] ? Number(r[3]) : null };
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

/** Queued [event, payload] messages, oldest first; a corrupt entry is dropped, never thrown at the client. */
function parseMessages(raw: readonly string[] | undefined): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const entry of raw ?? []) {
    try {
      out.push(JSON.parse(entry) as [string, unknown]);
    } catch {
      // skip it
    }
  }
  return out;
}
