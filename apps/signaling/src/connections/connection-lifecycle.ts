// A socket's life: join its rooms, register (or resume) in the shared client map, get `session`, the
// messages queued while it was away, the end of a call it missed and any call ringing for it; on
// disconnect, keep its calls in `reconnecting` for the resume window instead of ending them.
import { randomBytes } from 'node:crypto';
import { deviceOf } from '@voip/call-state/call-fields';
import { keys } from '@voip/contracts/redis-keys';
import type { ServerEventPayload } from '@voip/contracts/socket';
import { ulid } from 'ulid';
import { endCallOfLostDevice, notifyPeer } from '../calls/call-devices.js';
import { callEndedPayload } from '../calls/call-ended.js';
import { callSession } from '../calls/call-session.js';
import type { RegisterResult } from '../devices/device-registry.js';
import type { Signaling } from '../realtime/context.js';
import { clientRoom, userRoom } from '../realtime/rooms.js';
import type { SignalingSocket } from '../realtime/types.js';
import { sha256 } from './handshake.js';

export async function registerSocket(ctx: Signaling, socket: SignalingSocket): Promise<void> {
  const { registry, calls, config, metrics, app, io } = ctx;
  const d = socket.data;
  await socket.join([userRoom(d.userId), clientRoom(d.userId, d.clientId)]);
  // The adapter subscribes to the new rooms on its own connection; a PING there returns after the
  // subscriptions are in place, so nothing published to these rooms from now on can be missed.
  await ctx.adapterSub.ping();

  const resumeToken = randomBytes(24).toString('base64url');
  const reg = await registry.register({
    userId: d.userId,
    clientId: d.clientId,
    kind: d.kind,
    sessionId: d.sessionId,
    presentedResumeTokenHash: d.presentedResumeTokenHash,
    newResumeTokenHash: sha256(resumeToken),
    instanceId: app.instanceId,
    socketId: socket.id,
    newConnSessionId: ulid(),
    lastSeq: d.lastSeq,
  });
  if (d.presentedResumeTokenHash) metrics.resumes.inc({ result: reg.resumed ? 'success' : 'failure' });
  // The same device connected twice: the newer connection wins, wherever the old one is.
  if (reg.previousState === 'connected' && reg.previousSocketId && reg.previousSocketId !== socket.id)
    io.in(reg.previousSocketId).disconnectSockets(true);

  socket.emit('session', {
    sessionId: reg.connSessionId,
    resumeToken,
    resumeWindowMs: config.RESUME_WINDOW_MS,
    heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
    resumed: reg.resumed,
  });
  const emit = socket.emit as (event: string, payload: unknown) => boolean;
  for (const [event, payload] of reg.pending) emit.call(socket, event, payload);
  app.log.debug(
    { userId: d.userId, clientId: d.clientId, resumed: reg.resumed, flushed: reg.pending.length },
    'client registered',
  );

  if (reg.callId) {
    const call = await calls.get(reg.callId);
    if (reg.resumed) {
      if (!call || call.state === 'ended') {
        // It ended while this device was away: say so now, the pub/sub message could not reach it.
        if (call) socket.emit('call-ended', callEndedPayload(call));
        await registry.setCall(d, null);
      } else {
        callSession(ctx, socket).resume(call.callId);
        if (reg.previousState === 'reconnecting')
          await notifyPeer(ctx, call.callId, d.userId, d.clientId, 'peer-reconnected');
        else if (tookOver(reg, app.instanceId, socket.id))
          // Back before anyone saw it leave (its instance was killed and is not reaped yet, or its old
          // socket is still open): the peer never got peer-reconnecting, so it gets the whole pair.
          await notifyPeer(ctx, call.callId, d.userId, d.clientId, 'peer-reconnecting', 'peer-reconnected');
      }
    } else if (call && call.state !== 'ended' && deviceOf(call, d.userId) === d.clientId) {
      // A fresh session of the device that carried the call: its media state is gone with the old one.
      await endCallOfLostDevice(ctx, call.callId, d.userId, d.clientId);
    }
  }

  // A callee device that was offered a call and did not answer it: if the call ended while the device was
  // away, it is told now (an answer on another device came through its queue above).
  if (reg.resumed && reg.offeredCallId && reg.offeredCallId !== reg.callId)
    await settleOfferedCall(ctx, socket, reg.offeredCallId);

  // A phone woken by a push that connects after that call ended (no resume: the app was asleep or
  // killed) is told at once, instead of waiting for an incoming-call that never comes.
  if (!reg.resumed) await settleWokenCall(ctx, socket);

  // Fresh or resumed: a callee device that has not answered may have missed incoming-call while it was
  // away (clients treat a repeat of the same callId as the same call).
  await offerRingingCall(ctx, socket);
  await ctx.presence.update(d.userId, d.kind);
}

/**
 * The call this resumed callee device was offered: still ringing, it is offered again (offerRingingCall);
 * answered on another device, the device already has call-answered-elsewhere from its queue and hears the
 * end like every device; ended, it gets call-ended now and the offer is settled.
 */
async function settleOfferedCall(ctx: Signaling, socket: SignalingSocket, callId: string): Promise<void> {
  const call = await ctx.calls.get(callId);
  if (call && call.state !== 'ended') return;
  if (call) socket.emit('call-ended', callEndedPayload(call));
  await ctx.registry.clearOffered(socket.data, callId);
}

/**
 * keys.pushWokenCall (written by the call service when a wake-up push reached the user's phones, kept
 * until a minute past the ring deadline): if that call has ended, a freshly connected device gets its
 * call-ended. Devices that were not woken get it too and ignore a call they never heard of.
 */
async function settleWokenCall(ctx: Signaling, socket: SignalingSocket): Promise<void> {
  const callId = await ctx.redis.get(keys.pushWokenCall(socket.data.userId));
  if (!callId) return;
  const call = await ctx.calls.get(callId);
  if (call?.state === 'ended' && call.calleeId === socket.data.userId)
    socket.emit('call-ended', callEndedPayload(call));
}

/** The device's record was live on another connection (a different instance or socket) when this one took it over. */
function tookOver(reg: RegisterResult, instanceId: string, socketId: string): boolean {
  return (
    reg.previousState === 'connected' &&
    (reg.previousInstanceId !== instanceId || reg.previousSocketId !== socketId)
  );
}

/**
 * A callee device that connects or resumes while its call rings (e.g. woken by a push) gets the call and
 * the caller's early candidates; the caller hears call-ringing once per call, whichever device was first.
 */
async function offerRingingCall(ctx: Signaling, socket: SignalingSocket): Promise<void> {
  const d = socket.data;
  const call = await ctx.calls.activeCallOf(d.userId);
  if (call?.state !== 'ringing' || call.calleeId !== d.userId || !call.offer) return;
  await ctx.registry.markOffered(d, call.callId);
  socket.emit('incoming-call', {
    callId: call.callId,
    from: { id: call.callerId, displayName: call.callerName, kind: call.callerKind },
    media: call.media,
    offer: call.offer,
    expiresAt: call.expiresAt,
  });
  for (const candidate of await ctx.registry.ringingCandidates(call.callId))
    socket.emit('ice-candidate', candidate as ServerEventPayload<'ice-candidate'>);
  if (await ctx.calls.claimRingingNotice(call.callId))
    await ctx.relay.toDevice(call.callerId, call.callerClientId, 'call-ringing', { callId: call.callId });
}

/**
 * Tells a socket its session is over (`session-revoked`), then closes it for good: its record is removed
 * on disconnect, not kept for a resume. `kick` says why to the disconnect path and the logs.
 */
export function revokeSocket(
  socket: SignalingSocket,
  kick: 'revoked' | 'guest-deleted',
  reason: string,
): void {
  socket.data.kick = kick;
  socket.emit('session-revoked', { reason });
  socket.disconnect(true);
}

export async function unregisterSocket(
  ctx: Signaling,
  socket: SignalingSocket,
  reason: string,
): Promise<void> {
  const d = socket.data;
  const kick = d.kick;
  // Revoked or deleted accounts are gone for good; every other drop may come back within the window.
  const mode =
    kick === 'revoked' || kick === 'guest-deleted' || kick === 'replaced'
      ? 'remove'
      : reason === 'client namespace disconnect' && !d.callId
        ? 'remove'
        : 'reconnecting';
  const r = await ctx.registry.disconnect(d, socket.id, ctx.app.instanceId, mode);
  ctx.app.log.debug(
    { userId: d.userId, clientId: d.clientId, reason, kick, status: r.status },
    'client disconnected',
  );
  if (r.status === 'stale') return;
  if (r.callId) {
    if (r.status === 'reconnecting')
      await notifyPeer(ctx, r.callId, d.userId, d.clientId, 'peer-reconnecting');
    else await endCallOfLostDevice(ctx, r.callId, d.userId, d.clientId);
  }
  await ctx.presence.update(d.userId, d.kind);
}
