// The user ↔ client ↔ socket map in Redis, shared by every instance: which instance holds which device,
// resume tokens, the reconnecting state of a dropped device and the messages queued for it, the call it
// carries and the ringing call it was offered. Every change is one Lua script, so a device moving between
// instances never races its own old connection.
import { keys } from '@voip/contracts/redis-keys';
import { hasConnectedDevice } from '@voip/contracts/user-clients';
import type { Redis } from 'ioredis';
import { luaScript } from '../realtime/lua-script.js';

const clientKeyTemplate = keys.client('{u}', '{c}');
const pendingKeyTemplate = keys.pending('{u}', '{c}');
const pendingBytesKeyTemplate = keys.pendingBytes('{u}', '{c}');
const replayKeyTemplate = keys.replay('{u}', '{c}');
const replayBytesKeyTemplate = keys.replayBytes('{u}', '{c}');
const instanceClientsPrefix = keys.instanceClients('');
/** keys.instance(id) is this prefix + id: scripts check an instance's heartbeat by name. */
export const instanceKeyPrefix = keys.instance('');

/**
 * Lua: RPUSH onto a list bounded in count and in bytes; the byte total lives in its own key (written with
 * the list and with its TTL), so the bound costs no read of the list. At either bound the message is
 * refused (false), never an older one dropped: what is queued first (an answer, early candidates) is what
 * the peer needs first, and the sender hears the refusal.
 */
export const PUSH_BOUNDED = `
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
`;

/**
 * Lua: numbered delivery, for a device whose record has `seqOn` (it sent `auth.lastSeq`). withSeq adds
 * `"seq":n` to a JSON `[event, {payload}]` message (the payload is never empty: it has a callId); seqOf
 * reads it back (nil for an unnumbered message). pushReplay appends to the device's replay buffer of
 * messages already emitted, dropping the OLDEST past either bound: unlike the pending queue nobody could be
 * told of a refusal here (the message is already on its way), and a device that was gone for longer than the
 * buffer holds has lost its media state anyway.
 */
export const NUMBERED = `
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

export const memberOf = (userId: string, clientId: string) => `${userId}:${clientId}`;
export const splitMember = (member: string): [string, string] => {
  const i = member.indexOf(':');
  return [member.slice(0, i), member.slice(i + 1)];
};

const REGISTER = luaScript(`${NUMBERED}
local old = redis.call('HMGET', KEYS[1], 'state', 'resumeTokenHash', 'resumeDeadlineMs', 'instanceId', 'socketId', 'connSessionId', 'callId', 'offeredCallId', 'seq')
local state, hash, deadline, oldInst, oldSock, oldConn, callId, offered = old[1], old[2], old[3], old[4], old[5], old[6], old[7], old[8]
local now = tonumber(ARGV[9])
local resumed = 0
if state and ARGV[5] ~= '' and hash == ARGV[5] then
  if state == 'connected' or (state == 'reconnecting' and tonumber(deadline or '0') >= now) then resumed = 1 end
end
local conn = ARGV[10]
if resumed == 1 and oldConn then conn = oldConn end
if oldInst and oldInst ~= ARGV[7] then redis.call('SREM', ARGV[11] .. oldInst, ARGV[12]) end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'userId', ARGV[1], 'clientId', ARGV[2], 'kind', ARGV[3], 'sessionId', ARGV[4],
  'resumeTokenHash', ARGV[6], 'instanceId', ARGV[7], 'socketId', ARGV[8], 'state', 'connected', 'connectedAt', ARGV[13],
  'connSessionId', conn)
if resumed == 1 and callId then redis.call('HSET', KEYS[1], 'callId', callId) end
if resumed == 1 and offered then redis.call('HSET', KEYS[1], 'offeredCallId', offered) end
-- Numbering (ARGV[14] = the seq the device has, '' = not asked for): kept across a resume, from 1 otherwise.
local numbered = ARGV[14] ~= ''
if numbered then redis.call('HSET', KEYS[1], 'seqOn', '1') end
if resumed == 1 and old[9] then redis.call('HSET', KEYS[1], 'seq', old[9]) end
redis.call('HSET', KEYS[2], ARGV[2], cjson.encode({instanceId = ARGV[7], socketId = ARGV[8], connectedAt = ARGV[13], state = 'connected', kind = ARGV[3]}))
redis.call('SADD', KEYS[3], ARGV[12])
redis.call('ZREM', KEYS[5], ARGV[12])
-- Handed over now: what was emitted and the device does not have (seq > ARGV[14]), then what was queued.
local out = {}
if resumed == 1 then
  local have = tonumber(ARGV[14]) or -1
  if numbered then
    for _, e in ipairs(redis.call('LRANGE', KEYS[7], 0, -1)) do
      local s = seqOf(e)
      if s and s > have then table.insert(out, e) end
    end
  end
  for _, e in ipairs(redis.call('LRANGE', KEYS[4], 0, -1)) do
    local s = seqOf(e)
    if not (s and s <= have) then table.insert(out, e) end
  end
end
redis.call('DEL', KEYS[4], KEYS[6], KEYS[7], KEYS[8])
-- Numbered messages handed to this socket stay replayable: this connection may drop silently too.
if numbered then
  for _, e in ipairs(out) do
    if seqOf(e) then pushReplay(KEYS[7], KEYS[8], e, ARGV[15], ARGV[16], ARGV[17]) end
  end
end
return {resumed, conn, state or '', oldInst or '', oldSock or '', callId or '', out, (resumed == 1 and offered) or ''}
`);

// Moves a client that lost its socket to `reconnecting` (or removes it), unless a newer socket took it over.
const DISCONNECT = luaScript(`
local cur = redis.call('HMGET', KEYS[1], 'socketId', 'callId', 'clientId')
if cur[1] ~= ARGV[1] then return {'stale', ''} end
local callId = cur[2] or ''
redis.call('SREM', KEYS[3], ARGV[5])
if ARGV[4] == 'remove' then
  redis.call('DEL', KEYS[1], KEYS[4], KEYS[6])
  redis.call('HDEL', KEYS[2], cur[3])
  redis.call('ZREM', KEYS[5], ARGV[5])
  return {'removed', callId}
end
redis.call('HSET', KEYS[1], 'state', 'reconnecting', 'disconnectedAt', ARGV[6], 'resumeDeadlineMs', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('ZADD', KEYS[5], ARGV[3], ARGV[5])
local entry = redis.call('HGET', KEYS[2], cur[3])
if entry then
  local e = cjson.decode(entry)
  e.state = 'reconnecting'
  redis.call('HSET', KEYS[2], cur[3], cjson.encode(e))
end
return {'reconnecting', callId}
`);

// A client of a dead instance (or of this instance's previous run): reconnecting, so its calls survive.
// It leaves the instance's client set in the same step. A reaper (ARGV[7] = '1') claims nothing once the
// instance's heartbeat is back: a live instance wrongly declared dead re-claims what was taken so far.
const ORPHAN = luaScript(`
if ARGV[7] == '1' and redis.call('EXISTS', KEYS[5]) == 1 then return {'alive', ''} end
redis.call('SREM', KEYS[4], ARGV[3])
local cur = redis.call('HMGET', KEYS[1], 'instanceId', 'state', 'callId')
if cur[1] ~= ARGV[1] or cur[2] ~= 'connected' then return {'skip', ''} end
redis.call('HSET', KEYS[1], 'state', 'reconnecting', 'disconnectedAt', ARGV[4], 'resumeDeadlineMs', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
local entry = redis.call('HGET', KEYS[2], ARGV[6])
if entry then
  local e = cjson.decode(entry)
  e.state = 'reconnecting'
  redis.call('HSET', KEYS[2], ARGV[6], cjson.encode(e))
end
return {'reconnecting', cur[3] or ''}
`);

// This instance was reaped while its socket was open: the record is connected again (if it still names
// this socket), back in the instance's set, off the resume wheel, and hands over what was queued meanwhile.
// A numbered device's queued messages also go to its replay buffer: after a long freeze the socket that
// gets them may be one its client already gave up on, and the client's resume must still find them.
const RECLAIM = luaScript(`${NUMBERED}
local cur = redis.call('HMGET', KEYS[1], 'instanceId', 'socketId', 'state', 'callId')
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] then return {'gone', '', {}} end
local was = cur[3] or ''
if was == 'reconnecting' then
  redis.call('HSET', KEYS[1], 'state', 'connected')
  redis.call('HDEL', KEYS[1], 'disconnectedAt', 'resumeDeadlineMs')
  redis.call('PERSIST', KEYS[1])
  local entry = redis.call('HGET', KEYS[2], ARGV[4])
  if entry then
    local e = cjson.decode(entry)
    e.state = 'connected'
    redis.call('HSET', KEYS[2], ARGV[4], cjson.encode(e))
  end
end
redis.call('ZREM', KEYS[5], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[3])
local pending = redis.call('LRANGE', KEYS[4], 0, -1)
redis.call('DEL', KEYS[4], KEYS[6])
for _, e in ipairs(pending) do
  if seqOf(e) then pushReplay(KEYS[7], KEYS[8], e, ARGV[5], ARGV[6], ARGV[7]) end
end
return {was, cur[4] or '', pending}
`);

// The resume wheel: a reconnecting client whose window passed is removed, once, by whichever instance gets here first.
const EXPIRE = luaScript(`
local cur = redis.call('HMGET', KEYS[1], 'state', 'resumeDeadlineMs', 'callId')
if cur[1] == 'connected' then redis.call('ZREM', KEYS[4], ARGV[1]) return {'connected', ''} end
if cur[1] == 'reconnecting' and tonumber(cur[2] or '0') > tonumber(ARGV[2]) then return {'later', ''} end
if redis.call('ZREM', KEYS[4], ARGV[1]) == 0 then return {'taken', ''} end
redis.call('DEL', KEYS[1], KEYS[3], KEYS[5])
redis.call('HDEL', KEYS[2], ARGV[3])
return {'expired', cur[3] or ''}
`);

// Deliver-or-queue for one device: 1 connected, 2 queued, 3 queue full, 0 unknown, and the message's seq
// ('' when the device did not ask for numbering). A device still marked connected on an instance whose
// heartbeat key is gone is on a dead instance nobody has reaped yet: an emit would vanish with it, so its
// messages are queued for its resume, as if reconnecting.
const DELIVER = luaScript(`${PUSH_BOUNDED}${NUMBERED}
local cur = redis.call('HMGET', KEYS[1], 'state', 'instanceId', 'seqOn')
local st = cur[1]
if st == 'connected' and redis.call('EXISTS', ARGV[4] .. (cur[2] or '')) == 1 then
  if cur[3] ~= '1' then return {1, ''} end
  local n = redis.call('HINCRBY', KEYS[1], 'seq', 1)
  pushReplay(KEYS[4], KEYS[5], withSeq(ARGV[1], n), ARGV[2], ARGV[5], ARGV[3])
  return {1, tostring(n)}
end
if st == 'reconnecting' or st == 'connected' then
  local msg, n = ARGV[1], nil
  if cur[3] == '1' then
    n = (tonumber(redis.call('HGET', KEYS[1], 'seq') or '0') or 0) + 1
    msg = withSeq(msg, n)
  end
  if not pushBounded(KEYS[2], KEYS[3], msg, ARGV[2], ARGV[5], ARGV[3]) then return {3, ''} end
  if n then redis.call('HSET', KEYS[1], 'seq', n) end
  return {2, ''}
end
return {0, ''}
`);

// A cumulative ack: the device has everything up to ARGV[1]; the replay buffer forgets those (they are at its head).
const ACK = luaScript(`${NUMBERED}
local have = tonumber(ARGV[1])
local used = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
local n = 0
while true do
  local e = redis.call('LINDEX', KEYS[1], 0)
  if not e then break end
  local s = seqOf(e)
  if s and s > have then break end
  redis.call('LPOP', KEYS[1])
  used = used - #e
  n = n + 1
end
if n > 0 then
  if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('SET', KEYS[2], used, 'KEEPTTL') else redis.call('DEL', KEYS[2]) end
end
return n
`);

// Only an existing record gets the call marker: a write after the record was removed must not resurrect it.
// A callee device that now carries the call it was offered (it answered) is no longer just "offered" it.
const SET_CALL = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] == '' then redis.call('HDEL', KEYS[1], 'callId') else redis.call('HSET', KEYS[1], 'callId', ARGV[1]) end
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'offeredCallId') == ARGV[1] then redis.call('HDEL', KEYS[1], 'offeredCallId') end
return 1
`);

// The ringing call each device was offered (incoming-call went to it), so a device that was away when the
// call was answered elsewhere or ended learns it on resume. incoming-call to the user room reaches every
// connected device: each of those is marked (a reconnecting one is offered the call when it resumes).
const MARK_OFFERED_TO_CONNECTED = luaScript(`
for _, c in ipairs(redis.call('HKEYS', KEYS[1])) do
  local ck = string.gsub(string.gsub(ARGV[2], '{u}', ARGV[3]), '{c}', c)
  if redis.call('HGET', ck, 'state') == 'connected' then redis.call('HSET', ck, 'offeredCallId', ARGV[1]) end
end
return 0
`);

// incoming-call to one device (it connected or resumed while the call rings); an existing record only.
const MARK_OFFERED = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'offeredCallId', ARGV[1])
return 1
`);

// The device heard the end of the call it was offered (live, or on resume): forget it, unless it was offered another since.
const CLEAR_OFFERED = luaScript(`
if redis.call('HGET', KEYS[1], 'offeredCallId') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'offeredCallId')
return 1
`);

// A message for every device of a user but one, about a call they were offered: queued for each device that
// was offered it and is away (reconnecting, or connected on a dead instance nobody has reaped yet), in the
// same script as the check. Returns the devices queued for; the caller emits to the user room except them.
const QUEUE_FOR_AWAY_OFFERED = luaScript(`${PUSH_BOUNDED}
local queued = {}
for _, c in ipairs(redis.call('HKEYS', KEYS[1])) do
  if c ~= ARGV[2] then
    local ck = string.gsub(string.gsub(ARGV[4], '{u}', ARGV[1]), '{c}', c)
    local cur = redis.call('HMGET', ck, 'state', 'instanceId', 'offeredCallId')
    local away = cur[1] == 'reconnecting' or (cur[1] == 'connected' and redis.call('EXISTS', ARGV[8] .. (cur[2] or '')) == 0)
    if away and cur[3] == ARGV[3] then
      local pk = string.gsub(string.gsub(ARGV[5], '{u}', ARGV[1]), '{c}', c)
      local bk = string.gsub(string.gsub(ARGV[10], '{u}', ARGV[1]), '{c}', c)
      if pushBounded(pk, bk, ARGV[6], ARGV[7], ARGV[11], ARGV[9]) then table.insert(queued, c) end
    end
  end
end
return queued
`);

export interface RegisterInput {
  userId: string;
  clientId: string;
  kind: string;
  sessionId: string;
  presentedResumeTokenHash: string;
  newResumeTokenHash: string;
  instanceId: string;
  socketId: string;
  newConnSessionId: string;
  /** auth.lastSeq: the device numbers what it receives and has up to this seq; null = no numbering. */
  lastSeq: number | null;
}

export interface RegisterResult {
  resumed: boolean;
  connSessionId: string;
  previousState: '' | 'connected' | 'reconnecting';
  previousInstanceId: string;
  previousSocketId: string;
  /** The call this device was in before (resumed or not). */
  callId: string;
  /**
   * [event, payload] messages to emit right after `session`, oldest first (resumed only): the numbered ones
   * the device does not have yet (seq above its lastSeq), then the ones queued while it was away.
   */
  pending: [string, unknown][];
  /** The ringing call this device was offered and has not heard the end of (resumed only). */
  offeredCallId: string;
}

export type DeliverStatus = 'live' | 'queued' | 'overflow' | 'gone';
const deliverStatus: Record<number, DeliverStatus> = { 0: 'gone', 1: 'live', 2: 'queued', 3: 'overflow' };

/** Queued [event, payload] messages, oldest first; a corrupt entry is dropped, never thrown at the client. */
function parsePending(raw: string[] | undefined): [string, unknown][] {
  const pending: [string, unknown][] = [];
  for (const entry of raw ?? []) {
    try {
      pending.push(JSON.parse(entry) as [string, unknown]);
    } catch {
      // skip it
    }
  }
  return pending;
}

export interface ClientRegistryOptions {
  resumeWindowMs: number;
  /** Bounds of each device's pending queue: messages, and bytes of their JSON. */
  maxPending: number;
  maxPendingBytes: number;
}

export function createClientRegistry(redis: Redis, opts: ClientRegistryOptions) {
  // Records of reconnecting clients outlive their window a little, so the wheel always finds them.
  const recordTtlMs = opts.resumeWindowMs + 60_000;

  return {
    recordTtlMs,

    async register(input: RegisterInput): Promise<RegisterResult> {
      const now = Date.now();
      const res = (await REGISTER(
        redis,
        [
          keys.client(input.userId, input.clientId),
          keys.userClients(input.userId),
          keys.instanceClients(input.instanceId),
          keys.pending(input.userId, input.clientId),
          keys.resumeDeadlines(),
          keys.pendingBytes(input.userId, input.clientId),
          keys.replay(input.userId, input.clientId),
          keys.replayBytes(input.userId, input.clientId),
        ],
        [
          input.userId,
          input.clientId,
          input.kind,
          input.sessionId,
          input.presentedResumeTokenHash,
          input.newResumeTokenHash,
          input.instanceId,
          input.socketId,
          now,
          input.newConnSessionId,
          instanceClientsPrefix,
          memberOf(input.userId, input.clientId),
          new Date(now).toISOString(),
          input.lastSeq === null ? '' : input.lastSeq,
          opts.maxPending,
          opts.maxPendingBytes,
          recordTtlMs,
        ],
      )) as [number, string, string, string, string, string, string[], string];
      const pending = parsePending(res[6]);
      return {
        resumed: res[0] === 1,
        connSessionId: res[1],
        previousState: res[2] as RegisterResult['previousState'],
        previousInstanceId: res[3],
        previousSocketId: res[4],
        callId: res[5],
        pending,
        offeredCallId: res[7] ?? '',
      };
    },

    /** The socket is gone: `reconnecting` for the resume window, or removed. 'stale' when a newer socket owns the client. */
    async disconnect(
      userId: string,
      clientId: string,
      socketId: string,
      instanceId: string,
      mode: 'reconnecting' | 'remove',
    ): Promise<{ status: 'stale' | 'removed' | 'reconnecting'; callId: string }> {
      const now = Date.now();
      const res = (await DISCONNECT(
        redis,
        [
          keys.client(userId, clientId),
          keys.userClients(userId),
          keys.instanceClients(instanceId),
          keys.pending(userId, clientId),
          keys.resumeDeadlines(),
          keys.pendingBytes(userId, clientId),
        ],
        [
          socketId,
          now,
          now + opts.resumeWindowMs,
          mode,
          memberOf(userId, clientId),
          new Date(now).toISOString(),
          recordTtlMs,
        ],
      )) as [string, string];
      return { status: res[0] as 'stale' | 'removed' | 'reconnecting', callId: res[1] };
    },

    /**
     * Moves a client the instance left in Redis to reconnecting and drops it from the instance's set.
     * `onlyIfDead` (the reaper): 'alive', and nothing changes, when the instance's heartbeat is back.
     */
    async orphan(
      userId: string,
      clientId: string,
      deadInstanceId: string,
      { onlyIfDead = false }: { onlyIfDead?: boolean } = {},
    ): Promise<{ status: 'reconnecting' | 'skip' | 'alive'; callId: string }> {
      const now = Date.now();
      const res = (await ORPHAN(
        redis,
        [
          keys.client(userId, clientId),
          keys.userClients(userId),
          keys.resumeDeadlines(),
          keys.instanceClients(deadInstanceId),
          keys.instance(deadInstanceId),
        ],
        [
          deadInstanceId,
          now + opts.resumeWindowMs,
          memberOf(userId, clientId),
          new Date(now).toISOString(),
          recordTtlMs,
          clientId,
          onlyIfDead ? '1' : '0',
        ],
      )) as [string, string];
      return { status: res[0] as 'reconnecting' | 'skip' | 'alive', callId: res[1] };
    },

    /** Takes back a record this instance's open socket still carries after the instance was reaped. */
    async reclaim(
      userId: string,
      clientId: string,
      instanceId: string,
      socketId: string,
    ): Promise<{
      status: 'gone' | 'connected' | 'reconnecting';
      callId: string;
      pending: [string, unknown][];
    }> {
      const res = (await RECLAIM(
        redis,
        [
          keys.client(userId, clientId),
          keys.userClients(userId),
          keys.instanceClients(instanceId),
          keys.pending(userId, clientId),
          keys.resumeDeadlines(),
          keys.pendingBytes(userId, clientId),
          keys.replay(userId, clientId),
          keys.replayBytes(userId, clientId),
        ],
        [
          instanceId,
          socketId,
          memberOf(userId, clientId),
          clientId,
          opts.maxPending,
          opts.maxPendingBytes,
          recordTtlMs,
        ],
      )) as [string, string, string[]];
      return {
        status: res[0] as 'gone' | 'connected' | 'reconnecting',
        callId: res[1],
        pending: parsePending(res[2]),
      };
    },

    async expire(member: string, now: number): Promise<{ status: string; callId: string }> {
      const [userId, clientId] = splitMember(member);
      const res = (await EXPIRE(
        redis,
        [
          keys.client(userId, clientId),
          keys.userClients(userId),
          keys.pending(userId, clientId),
          keys.resumeDeadlines(),
          keys.pendingBytes(userId, clientId),
        ],
        [member, now, clientId],
      )) as [string, string];
      return { status: res[0], callId: res[1] };
    },

    dueResumes(now: number, limit = 200): Promise<string[]> {
      return redis.zrangebyscore(keys.resumeDeadlines(), '-inf', String(now), 'LIMIT', 0, limit);
    },

    /** Live (with its seq when the device numbers), queued, refused or gone. */
    async deliver(
      userId: string,
      clientId: string,
      message: [string, unknown],
    ): Promise<{ status: DeliverStatus; seq: number | null }> {
      const r = (await DELIVER(
        redis,
        [
          keys.client(userId, clientId),
          keys.pending(userId, clientId),
          keys.pendingBytes(userId, clientId),
          keys.replay(userId, clientId),
          keys.replayBytes(userId, clientId),
        ],
        [JSON.stringify(message), opts.maxPending, recordTtlMs, instanceKeyPrefix, opts.maxPendingBytes],
      )) as [number, string];
      return { status: deliverStatus[Number(r[0])] ?? 'gone', seq: r[1] ? Number(r[1]) : null };
    },

    /** The device acknowledged every numbered message up to lastSeq: drop them from its replay buffer. */
    async ack(userId: string, clientId: string, lastSeq: number): Promise<number> {
      return Number(
        await ACK(redis, [keys.replay(userId, clientId), keys.replayBytes(userId, clientId)], [lastSeq]),
      );
    },

    /** Marks the call a device is in, so a resume or the resume wheel knows which call to restore or end. */
    async setCall(userId: string, clientId: string, callId: string | null): Promise<void> {
      await SET_CALL(redis, [keys.client(userId, clientId)], [callId ?? '']);
    },

    /** incoming-call went to the user room: every connected device of the user was offered callId. */
    async markOfferedToConnected(userId: string, callId: string): Promise<void> {
      await MARK_OFFERED_TO_CONNECTED(redis, [keys.userClients(userId)], [callId, clientKeyTemplate, userId]);
    },

    /** incoming-call went to this one device. */
    async markOffered(userId: string, clientId: string, callId: string): Promise<void> {
      await MARK_OFFERED(redis, [keys.client(userId, clientId)], [callId]);
    },

    /** The device heard how the call it was offered ended. */
    async clearOffered(userId: string, clientId: string, callId: string): Promise<void> {
      await CLEAR_OFFERED(redis, [keys.client(userId, clientId)], [callId]);
    },

    /** Queues `message` for the user's away devices (all but `exceptClientId`) that were offered callId; returns them. */
    async queueForAwayOffered(
      userId: string,
      exceptClientId: string,
      callId: string,
      message: [string, unknown],
    ): Promise<string[]> {
      return (await QUEUE_FOR_AWAY_OFFERED(
        redis,
        [keys.userClients(userId)],
        [
          userId,
          exceptClientId,
          callId,
          clientKeyTemplate,
          pendingKeyTemplate,
          JSON.stringify(message),
          opts.maxPending,
          instanceKeyPrefix,
          recordTtlMs,
          pendingBytesKeyTemplate,
          opts.maxPendingBytes,
        ],
      )) as string[];
    },

    async socketOf(
      userId: string,
      clientId: string,
    ): Promise<{ socketId: string | null; instanceId: string | null; state: string | null }> {
      const [socketId, instanceId, state] = await redis.hmget(
        keys.client(userId, clientId),
        'socketId',
        'instanceId',
        'state',
      );
      return { socketId: socketId ?? null, instanceId: instanceId ?? null, state: state ?? null };
    },

    /** Are any of the user's devices connected right now (not just reconnecting)? */
    async hasConnectedClient(userId: string): Promise<boolean> {
      return hasConnectedDevice(await redis.hvals(keys.userClients(userId)));
    },
  };
}

export type ClientRegistry = ReturnType<typeof createClientRegistry>;
export {
  clientKeyTemplate,
  pendingBytesKeyTemplate,
  pendingKeyTemplate,
  replayBytesKeyTemplate,
  replayKeyTemplate,
};
