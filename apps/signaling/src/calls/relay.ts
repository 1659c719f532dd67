// The hot path: relaying ICE candidates and renegotiations between the two devices of a call. One Lua
// script (the device registry's route) checks membership (a participant, on the device that is in the call), picks the peer device and
// either reports it connected (then the adapter delivers it) or queues the message while the peer is
// reconnecting (or sits on a dead instance not yet reaped): one Redis round trip per message, no MongoDB,
// no per-socket timers.
import type { ServerEventName, ServerEventPayload } from '@voip/contracts/socket';
import type { DeviceRegistry } from '../devices/device-registry.js';
import { clientRoom, userRoom } from '../realtime/rooms.js';
import type { SignalingServer } from '../realtime/types.js';

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

/** `instanceId`: this instance; a peer device connected here is delivered to directly, not through Redis. */
export function createRelay(io: SignalingServer, registry: DeviceRegistry, instanceId: string): Relay {
  const emit = (room: string, event: string, payload: unknown) =>
    (io.to(room).emit as (ev: string, p: unknown) => boolean)(event, payload);

  return {
    async relay(sender, event, payload) {
      const r = await registry.route(sender, payload.callId, event, payload);
      switch (r.route) {
        case 'live': {
          const room = clientRoom(r.userId, r.clientId);
          const out = r.seq ? { ...payload, seq: r.seq } : payload;
          // The peer device is registered on this instance and its socket is here: deliver it directly.
          // Through the adapter it would be published to Redis and come back to this instance only.
          if (r.instanceId === instanceId && io.of('/').adapter.rooms.has(room))
            (io.local.to(room).emit as (ev: string, p: unknown) => boolean)(event, out);
          else emit(room, event, out);
          return { ok: true, delivery: 'live' };
        }
        case 'user':
          emit(userRoom(r.userId), event, payload);
          return { ok: true, delivery: 'ringing' };
        case 'queued':
          return { ok: true, delivery: 'queued' };
        case 'gone':
          return { ok: true, delivery: 'gone' };
        case 'overflow':
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
      const { status, seq } = await registry.deliver({ userId, clientId }, [event, payload]);
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
