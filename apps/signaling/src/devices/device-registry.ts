// The device registry: the one owner of the devices' state in Redis, shared by every instance. The device
// map (keys.userClients), each device's record (which instance and socket hold it, resume token, the call
// it carries and the ringing call it was offered, its numbering), its pending queue and replay buffer, the
// instance sets and resume deadlines, and a ringing call's kept candidates: no other code reads or writes
// those keys (the layout is in @voip/contracts/redis-keys; other services read the device map only through
// @voip/contracts/user-clients). Every change is one script of device-scripts.ts or delivery-scripts.ts.
// Just over ~400 lines on purpose: being the only owner of those keys is the point of the file.
import type { LiveCallDevices } from '@voip/call-state/call-store';
import { keys } from '@voip/contracts/redis-keys';
import { userHasConnectedDevice } from '@voip/contracts/user-clients';
import { HSET_IF_EXISTS } from '@voip/kit/redis-script';
import type { Redis } from 'ioredis';
import {
  ACK,
  DELIVER,
  type DeliverStatus,
  QUEUE_FOR_AWAY_OFFERED,
  ROUTE,
  type RouteResult,
} from './delivery-scripts.js';
import {
  CLEAR_OFFERED,
  DISCONNECT,
  EXPIRE,
  MARK_OFFERED_TO_CONNECTED,
  ORPHAN,
  type PreviousState,
  RECLAIM,
  REGISTER,
  SET_CALL,
} from './device-scripts.js';

export type { DeliverStatus, RouteResult };

/** A device of a user: what the registry's methods take and give. */
export interface Device {
  userId: string;
  clientId: string;
}

const member = (d: Device) => `${d.userId}:${d.clientId}`;
const deviceOfMember = (m: string): Device => {
  const i = m.indexOf(':');
  return { userId: m.slice(0, i), clientId: m.slice(i + 1) };
};

/** Key templates the scripts fill for devices they find on the way (a peer, a user's other devices). */
const TEMPLATES = {
  clientKeyTemplate: keys.client('{u}', '{c}'),
  pendingKeyTemplate: keys.pending('{u}', '{c}'),
  pendingBytesKeyTemplate: keys.pendingBytes('{u}', '{c}'),
  replayKeyTemplate: keys.replay('{u}', '{c}'),
  replayBytesKeyTemplate: keys.replayBytes('{u}', '{c}'),
  /** keys.instance(id) is this prefix + id: scripts check an instance's heartbeat by name. */
  instancePrefix: keys.instance(''),
};

const deviceKeys = ({ userId, clientId }: Device) => ({
  client: keys.client(userId, clientId),
  userClients: keys.userClients(userId),
  pending: keys.pending(userId, clientId),
  pendingBytes: keys.pendingBytes(userId, clientId),
});

export interface RegisterInput extends Device {
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
  previousState: PreviousState;
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

export interface DeviceRegistryOptions {
  resumeWindowMs: number;
  /** Bounds of each device's pending queue: messages, and bytes of their JSON. */
  maxPending: number;
  maxPendingBytes: number;
  /** Bounds of a ringing call's kept candidates (for a callee device that connects later). */
  maxCallCandidates: number;
  maxCallCandidateBytes: number;
  ringTimeoutMs: number;
}

export function createDeviceRegistry(redis: Redis, opts: DeviceRegistryOptions) {
  // Records of reconnecting devices outlive their window a little, so the wheel always finds them.
  const recordTtlMs = opts.resumeWindowMs + 60_000;
  const bounds = { maxPending: opts.maxPending, maxPendingBytes: opts.maxPendingBytes, recordTtlMs };
  const iso = (ms: number) => new Date(ms).toISOString();

  return {
    async register(input: RegisterInput): Promise<RegisterResult> {
      const now = Date.now();
      return REGISTER.run(redis, {
        ...deviceKeys(input),
        instanceClients: keys.instanceClients(input.instanceId),
        resumeDeadlines: keys.resumeDeadlines(),
        replay: keys.replay(input.userId, input.clientId),
        replayBytes: keys.replayBytes(input.userId, input.clientId),
        userId: input.userId,
        clientId: input.clientId,
        kind: input.kind,
        sessionId: input.sessionId,
        presentedHash: input.presentedResumeTokenHash,
        newHash: input.newResumeTokenHash,
        instanceId: input.instanceId,
        socketId: input.socketId,
        nowMs: now,
        newConnSessionId: input.newConnSessionId,
        instanceClientsPrefix: keys.instanceClients(''),
        member: member(input),
        connectedAt: iso(now),
        lastSeq: input.lastSeq === null ? '' : input.lastSeq,
        ...bounds,
      });
    },

    /** The socket is gone: `reconnecting` for the resume window, or removed. 'stale' when a newer socket owns the device. */
    disconnect(device: Device, socketId: string, instanceId: string, mode: 'reconnecting' | 'remove') {
      const now = Date.now();
      return DISCONNECT.run(redis, {
        ...deviceKeys(device),
        instanceClients: keys.instanceClients(instanceId),
        resumeDeadlines: keys.resumeDeadlines(),
        socketId,
        deadlineMs: now + opts.resumeWindowMs,
        mode,
        member: member(device),
        disconnectedAt: iso(now),
        recordTtlMs,
      });
    },

    /**
     * Moves a device the instance left in Redis to reconnecting and drops it from the instance's set.
     * `onlyIfDead` (the reaper): 'alive', and nothing changes, when the instance's heartbeat is back.
     */
    orphan(device: Device, deadInstanceId: string, { onlyIfDead = false }: { onlyIfDead?: boolean } = {}) {
      const now = Date.now();
      return ORPHAN.run(redis, {
        client: keys.client(device.userId, device.clientId),
        userClients: keys.userClients(device.userId),
        resumeDeadlines: keys.resumeDeadlines(),
        instanceClients: keys.instanceClients(deadInstanceId),
        instance: keys.instance(deadInstanceId),
        instanceId: deadInstanceId,
        deadlineMs: now + opts.resumeWindowMs,
        member: member(device),
        disconnectedAt: iso(now),
        recordTtlMs,
        clientId: device.clientId,
        onlyIfDead: onlyIfDead ? '1' : '0',
      });
    },

    /** Takes back a record this instance's open socket still carries after the instance was reaped. */
    reclaim(device: Device, instanceId: string, socketId: string) {
      return RECLAIM.run(redis, {
        ...deviceKeys(device),
        instanceClients: keys.instanceClients(instanceId),
        resumeDeadlines: keys.resumeDeadlines(),
        replay: keys.replay(device.userId, device.clientId),
        replayBytes: keys.replayBytes(device.userId, device.clientId),
        instanceId,
        socketId,
        member: member(device),
        clientId: device.clientId,
        ...bounds,
      });
    },

    /** The resume window of a reconnecting device passed: removed, once ('expired' to whoever got here first). */
    expire(device: Device, now: number) {
      return EXPIRE.run(redis, {
        ...deviceKeys(device),
        resumeDeadlines: keys.resumeDeadlines(),
        member: member(device),
        nowMs: now,
        clientId: device.clientId,
      });
    },

    /** Reconnecting devices whose resume window has passed, oldest first. */
    async dueResumes(now: number, limit = 200): Promise<Device[]> {
      const due = await redis.zrangebyscore(keys.resumeDeadlines(), '-inf', String(now), 'LIMIT', 0, limit);
      return due.map(deviceOfMember);
    },

    /** The devices an instance's set names, a page at a time (SSCAN: the set may change meanwhile). */
    async *devicesOnInstance(instanceId: string): AsyncGenerator<Device[]> {
      let cursor = '0';
      do {
        const [next, members] = await redis.sscan(keys.instanceClients(instanceId), cursor, 'COUNT', 500);
        cursor = next;
        yield members.map(deviceOfMember);
      } while (cursor !== '0');
    },

    /** Who holds each device now, as its record says (null fields: no record). One pipelined read. */
    async holdersOf(
      devices: readonly Device[],
    ): Promise<{ instanceId: string | null; socketId: string | null; state: string | null }[]> {
      if (devices.length === 0) return [];
      const pipe = redis.pipeline();
      for (const d of devices)
        pipe.hmget(keys.client(d.userId, d.clientId), 'instanceId', 'socketId', 'state');
      const rows = (await pipe.exec()) ?? [];
      return devices.map((_, i) => {
        const [instanceId, socketId, state] = (rows[i]?.[1] as (string | null)[] | undefined) ?? [];
        return { instanceId: instanceId ?? null, socketId: socketId ?? null, state: state ?? null };
      });
    },

    /** Drops a device from an instance's set (its record says it is elsewhere, or gone). */
    async leaveInstance(device: Device, instanceId: string): Promise<void> {
      await redis.srem(keys.instanceClients(instanceId), member(device));
    },

    /** Forgets every device of a user (a deleted guest): records, queues, buffers, deadlines and the map. */
    async forgetUser(userId: string): Promise<void> {
      const clientIds = await redis.hkeys(keys.userClients(userId));
      const tx = redis.multi();
      for (const clientId of clientIds) {
        const d = { userId, clientId };
        tx.del(
          keys.client(userId, clientId),
          keys.pending(userId, clientId),
          keys.pendingBytes(userId, clientId),
          keys.replay(userId, clientId),
          keys.replayBytes(userId, clientId),
        ).zrem(keys.resumeDeadlines(), member(d));
      }
      tx.del(keys.userClients(userId));
      await tx.exec();
    },

    /** Live (with its seq when the device numbers), queued, refused or gone. */
    deliver(device: Device, message: [string, unknown]) {
      return DELIVER.run(redis, {
        client: keys.client(device.userId, device.clientId),
        pending: keys.pending(device.userId, device.clientId),
        pendingBytes: keys.pendingBytes(device.userId, device.clientId),
        replay: keys.replay(device.userId, device.clientId),
        replayBytes: keys.replayBytes(device.userId, device.clientId),
        message: JSON.stringify(message),
        instancePrefix: TEMPLATES.instancePrefix,
        ...bounds,
      });
    },

    /** The device acknowledged every numbered message up to lastSeq: drop them from its replay buffer. */
    ack(device: Device, lastSeq: number): Promise<number> {
      return ACK.run(redis, {
        replay: keys.replay(device.userId, device.clientId),
        replayBytes: keys.replayBytes(device.userId, device.clientId),
        lastSeq,
      });
    },

    /** Marks the call a device is in, so a resume or the resume wheel knows which call to restore or end. */
    setCall(device: Device, callId: string | null): Promise<void> {
      return SET_CALL.run(redis, {
        client: keys.client(device.userId, device.clientId),
        callId: callId ?? '',
      });
    },

    /** incoming-call went to the user room: every connected device of the user was offered callId. */
    markOfferedToConnected(userId: string, callId: string): Promise<void> {
      return MARK_OFFERED_TO_CONNECTED.run(redis, {
        userClients: keys.userClients(userId),
        callId,
        clientKeyTemplate: TEMPLATES.clientKeyTemplate,
        userId,
      });
    },

    /** incoming-call went to this one device (it connected or resumed while the call rings); an existing record only. */
    async markOffered(device: Device, callId: string): Promise<void> {
      await HSET_IF_EXISTS.run(redis, {
        hash: keys.client(device.userId, device.clientId),
        field: 'offeredCallId',
        value: callId,
      });
    },

    /** The device heard how the call it was offered ended. */
    clearOffered(device: Device, callId: string): Promise<void> {
      return CLEAR_OFFERED.run(redis, { client: keys.client(device.userId, device.clientId), callId });
    },

    /** Queues `message` for the user's away devices (all but `exceptClientId`) that were offered callId; returns them. */
    queueForAwayOffered(
      userId: string,
      exceptClientId: string,
      callId: string,
      message: [string, unknown],
    ): Promise<string[]> {
      return QUEUE_FOR_AWAY_OFFERED.run(redis, {
        userClients: keys.userClients(userId),
        ...TEMPLATES,
        userId,
        exceptClientId,
        callId,
        message: JSON.stringify(message),
        ...bounds,
      });
    },

    /**
     * The relay's one round trip: is the sender the call's participant on its carrying device, and where is
     * the peer device (live, queued for its resume, every callee device while ringing, gone)? A ringing
     * caller's ice-candidate is also kept for a callee device that connects later (ringingCandidates).
     */
    route(sender: Device, callId: string, event: string, payload: { callId: string }): Promise<RouteResult> {
      // Serialized once: the message is the same JSON inside the [event, payload] pair.
      const payloadJson = JSON.stringify(payload);
      return ROUTE.run(redis, {
        call: keys.call(callId),
        candidates: keys.callCandidates(callId),
        candidateBytes: keys.callCandidateBytes(callId),
        ...TEMPLATES,
        senderUserId: sender.userId,
        senderClientId: sender.clientId,
        payload: payloadJson,
        message: `[${JSON.stringify(event)},${payloadJson}]`,
        keepCandidate: event === 'ice-candidate' ? '1' : '0',
        maxPending: opts.maxPending,
        maxPendingBytes: opts.maxPendingBytes,
        maxCandidates: opts.maxCallCandidates,
        maxCandidateBytes: opts.maxCallCandidateBytes,
        ttlMs: Math.max(recordTtlMs, opts.ringTimeoutMs + 60_000),
      });
    },

    /** The caller's candidates kept while the call rang, oldest first (a corrupt entry is skipped). */
    async ringingCandidates(callId: string): Promise<unknown[]> {
      const out: unknown[] = [];
      for (const raw of await redis.lrange(keys.callCandidates(callId), 0, -1)) {
        try {
          out.push(JSON.parse(raw));
        } catch {
          // skip a corrupt entry
        }
      }
      return out;
    },

    /** The call was answered: no device will need its ringing candidates any more. */
    async dropRingingCandidates(callId: string): Promise<void> {
      await redis.del(keys.callCandidates(callId), keys.callCandidateBytes(callId));
    },

    /**
     * For each accepted call (in order): true when neither participant's device carries it any more, i.e. no
     * device record (connected or reconnecting) names the call. One pipelined read for the whole batch.
     */
    async unattendedCalls(calls: readonly LiveCallDevices[]): Promise<boolean[]> {
      const pipe = redis.pipeline();
      const slots: number[][] = [];
      let n = 0;
      for (const c of calls) {
        const mine: number[] = [];
        for (const [userId, clientId] of [
          [c.callerId, c.callerClientId],
          [c.calleeId, c.answeredByClientId],
        ] as const) {
          if (!clientId) continue;
          pipe.hget(keys.client(userId, clientId), 'callId');
          mine.push(n++);
        }
        slots.push(mine);
      }
      const rows = n > 0 ? ((await pipe.exec()) ?? []) : [];
      return calls.map((c, i) =>
        (slots[i] ?? []).every((k) => {
          const [err, callId] = rows[k] ?? [];
          // A failed read counts as "carried": never end a call on doubt.
          return !err && callId !== c.callId;
        }),
      );
    },

    /** Are any of the user's devices connected right now (not just reconnecting)? */
    hasConnectedClient(userId: string): Promise<boolean> {
      return userHasConnectedDevice(redis, userId);
    },
  };
}

export type DeviceRegistry = ReturnType<typeof createDeviceRegistry>;
