// The user ↔ client ↔ socket map in Redis, shared by every instance: which instance holds which device,
// resume tokens, the reconnecting state of a dropped device and the messages queued for it. Every change
// is one Lua script, so a device moving between instances never races its own old connection.
import { keys } from '@voip/contracts/redis-keys';
import type { Redis } from 'ioredis';
import { luaScript } from '../realtime/lua-script.js';

const clientKeyTemplate = keys.client('{u}', '{c}');
const pendingKeyTemplate = keys.pending('{u}', '{c}');
const instanceClientsPrefix = keys.instanceClients('');
/** keys.instance(id) is this prefix + id: scripts check an instance's heartbeat by name. */
export const instanceKeyPrefix = keys.instance('');

export const memberOf = (userId: string, clientId: string) => `${userId}:${clientId}`;
export const splitMember = (member: string): [string, string] => {
  const i = member.indexOf(':');
  return [member.slice(0, i), member.slice(i + 1)];
};

const REGISTER = luaScript(`
local old = redis.call('HMGET', KEYS[1], 'state', 'resumeTokenHash', 'resumeDeadlineMs', 'instanceId', 'socketId', 'connSessionId', 'callId')
local state, hash, deadline, oldInst, oldSock, oldConn, callId = old[1], old[2], old[3], old[4], old[5], old[6], old[7]
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
redis.call('HSET', KEYS[2], ARGV[2], cjson.encode({instanceId = ARGV[7], socketId = ARGV[8], connectedAt = ARGV[13], state = 'connected', kind = ARGV[3]}))
redis.call('SADD', KEYS[3], ARGV[12])
redis.call('ZREM', KEYS[5], ARGV[12])
local pending = {}
if resumed == 1 then pending = redis.call('LRANGE', KEYS[4], 0, -1) end
redis.call('DEL', KEYS[4])
return {resumed, conn, state or '', oldInst or '', oldSock or '', callId or '', pending}
`);

// Moves a client that lost its socket to `reconnecting` (or removes it), unless a newer socket took it over.
const DISCONNECT = luaScript(`
local cur = redis.call('HMGET', KEYS[1], 'socketId', 'callId', 'clientId')
if cur[1] ~= ARGV[1] then return {'stale', ''} end
local callId = cur[2] or ''
redis.call('SREM', KEYS[3], ARGV[5])
if ARGV[4] == 'remove' then
  redis.call('DEL', KEYS[1], KEYS[4])
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
const ORPHAN = luaScript(`
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

// The resume wheel: a reconnecting client whose window passed is removed, once, by whichever instance gets here first.
const EXPIRE = luaScript(`
local cur = redis.call('HMGET', KEYS[1], 'state', 'resumeDeadlineMs', 'callId')
if cur[1] == 'connected' then redis.call('ZREM', KEYS[4], ARGV[1]) return {'connected', ''} end
if cur[1] == 'reconnecting' and tonumber(cur[2] or '0') > tonumber(ARGV[2]) then return {'later', ''} end
if redis.call('ZREM', KEYS[4], ARGV[1]) == 0 then return {'taken', ''} end
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('HDEL', KEYS[2], ARGV[3])
return {'expired', cur[3] or ''}
`);

// Deliver-or-queue for one device: 1 connected, 2 queued, 3 queue full, 0 unknown. A device still
// marked connected on an instance whose heartbeat key is gone is on a dead instance nobody has reaped
// yet: an emit would vanish with it, so its messages are queued for its resume, as if reconnecting.
const DELIVER = luaScript(`
local cur = redis.call('HMGET', KEYS[1], 'state', 'instanceId')
local st = cur[1]
if st == 'connected' and redis.call('EXISTS', ARGV[4] .. (cur[2] or '')) == 1 then return 1 end
if st == 'reconnecting' or st == 'connected' then
  if redis.call('LLEN', KEYS[2]) >= tonumber(ARGV[2]) then return 3 end
  redis.call('RPUSH', KEYS[2], ARGV[1])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return 2
end
return 0
`);

// Only an existing record gets the call marker: a write after the record was removed must not resurrect it.
const SET_CALL = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] == '' then redis.call('HDEL', KEYS[1], 'callId') else redis.call('HSET', KEYS[1], 'callId', ARGV[1]) end
return 1
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
}

export interface RegisterResult {
  resumed: boolean;
  connSessionId: string;
  previousState: '' | 'connected' | 'reconnecting';
  previousInstanceId: string;
  previousSocketId: string;
  /** The call this device was in before (resumed or not). */
  callId: string;
  /** Queued [event, payload] messages, oldest first (resumed only). */
  pending: [string, unknown][];
}

export type DeliverStatus = 'live' | 'queued' | 'overflow' | 'gone';
const deliverStatus: Record<number, DeliverStatus> = { 0: 'gone', 1: 'live', 2: 'queued', 3: 'overflow' };

export interface ClientRegistryOptions {
  resumeWindowMs: number;
  maxPending: number;
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
        ],
      )) as [number, string, string, string, string, string, string[]];
      const pending: [string, unknown][] = [];
      for (const raw of res[6] ?? []) {
        try {
          pending.push(JSON.parse(raw) as [string, unknown]);
        } catch {
          // A corrupt entry is dropped, never thrown at the client.
        }
      }
      return {
        resumed: res[0] === 1,
        connSessionId: res[1],
        previousState: res[2] as RegisterResult['previousState'],
        previousInstanceId: res[3],
        previousSocketId: res[4],
        callId: res[5],
        pending,
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

    async orphan(
      userId: string,
      clientId: string,
      deadInstanceId: string,
    ): Promise<{ status: string; callId: string }> {
      const now = Date.now();
      const res = (await ORPHAN(
        redis,
        [keys.client(userId, clientId), keys.userClients(userId), keys.resumeDeadlines()],
        [
          deadInstanceId,
          now + opts.resumeWindowMs,
          memberOf(userId, clientId),
          new Date(now).toISOString(),
          recordTtlMs,
          clientId,
        ],
      )) as [string, string];
      return { status: res[0], callId: res[1] };
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
        ],
        [member, now, clientId],
      )) as [string, string];
      return { status: res[0], callId: res[1] };
    },

    dueResumes(now: number, limit = 200): Promise<string[]> {
      return redis.zrangebyscore(keys.resumeDeadlines(), '-inf', String(now), 'LIMIT', 0, limit);
    },

    async deliver(userId: string, clientId: string, message: [string, unknown]): Promise<DeliverStatus> {
      const r = await DELIVER(
        redis,
        [keys.client(userId, clientId), keys.pending(userId, clientId)],
        [JSON.stringify(message), opts.maxPending, recordTtlMs, instanceKeyPrefix],
      );
      return deliverStatus[Number(r)] ?? 'gone';
    },

    /** Marks the call a device is in, so a resume or the resume wheel knows which call to restore or end. */
    async setCall(userId: string, clientId: string, callId: string | null): Promise<void> {
      await SET_CALL(redis, [keys.client(userId, clientId)], [callId ?? '']);
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
      const entries = await redis.hvals(keys.userClients(userId));
      return entries.some((e) => {
        try {
          return (JSON.parse(e) as { state?: string }).state !== 'reconnecting';
        } catch {
          return false;
        }
      });
    },
  };
}

export type ClientRegistry = ReturnType<typeof createClientRegistry>;
export { clientKeyTemplate, pendingKeyTemplate };
