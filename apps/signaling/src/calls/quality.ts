// `call-quality` (issue 19): a device's media-statistics summary for the call it carries. Accepted only
// from the device that carries the call (the caller's calling device, the callee's answering one), while
// the call is accepted (a `final` one also just after it ended), at most one per QUALITY_MIN_INTERVAL_MS
// per call and socket. Accepted summaries go to the call service on the call-events stream (`call.quality`,
// the bus's never-lost path: the history record keeps them), and a change of the sender's adaptation
// step or of its "poor connection" state reaches the peer's device as `peer-quality`.
import type { Static } from '@sinclair/typebox';
import { CALL_FIELDS, type CallRole, carryingDevice, peerOf, roleIn } from '@voip/call-state/call-fields';
import { type CallQualityPayload, estimateMos, POOR_MOS } from '@voip/contracts/quality';
import { keys, streams } from '@voip/contracts/redis-keys';
import { pickDefined } from '@voip/kit/objects';
import type { Signaling } from '../realtime/context.js';
import type { QualityState, SignalingSocket } from '../realtime/types.js';
import { type AckBody, fail } from './call-session.js';

type Carrier =
  | { ok: true; side: CallRole; peerUserId: string; peerClientId: string | null; ended: boolean }
  | { ok: false; code: string; message: string };

/** Does this socket's device carry the call? Same rules as the relay's route (call-state's call-fields), read-only. */
async function carrier(ctx: Signaling, socket: SignalingSocket, callId: string): Promise<Carrier> {
  const f = CALL_FIELDS;
  const [callerId, calleeId, state, callerClientId, answeredByClientId] = await ctx.redis.hmget(
    keys.call(callId),
    f.callerId,
    f.calleeId,
    f.state,
    f.callerClientId,
    f.answeredByClientId,
  );
  const { userId, clientId } = socket.data;
  if (!state) return { ok: false, code: 'CALL_NOT_FOUND', message: 'no such call' };
  const call = { callerId: callerId ?? '', calleeId: calleeId ?? '', callerClientId, answeredByClientId };
  const side = roleIn(call, userId);
  if (!side) return { ok: false, code: 'FORBIDDEN', message: 'not a participant of this call' };
  if (!answeredByClientId)
    return { ok: false, code: 'INVALID_STATE', message: 'the call has not been answered' };
  if (carryingDevice(call, side) !== clientId)
    return { ok: false, code: 'FORBIDDEN', message: 'this call is on another of your devices' };
  const peer = peerOf(call, userId);
  return { ok: true, side, peerUserId: peer.userId, peerClientId: peer.clientId, ended: state === 'ended' };
}

export async function handleCallQuality(
  ctx: Signaling,
  socket: SignalingSocket,
  p: Static<typeof CallQualityPayload>,
): Promise<AckBody> {
  const c = await carrier(ctx, socket, p.callId);
  if (!c.ok) return fail(c.code, c.message);
  if (c.ended && !p.final)
    return fail('INVALID_STATE', 'the call has ended; only a final summary is taken now');

  const d = socket.data;
  d.quality ??= new Map();
  const prev = d.quality.get(p.callId);
  const now = Date.now();
  if (prev) {
    // A repeat (a retried emit) or an older summary: acknowledged, not counted twice.
    if (p.seq <= prev.lastSeq) return { ok: true, duplicate: true };
    const finalPass = p.final === true && !prev.finalSeen;
    if (!finalPass && now - prev.lastMs < ctx.config.QUALITY_MIN_INTERVAL_MS)
      return fail('RATE_LIMITED', 'call-quality: one summary per call every few seconds');
  }

  // Rebuilt from the validated fields (the schema is closed; this keeps it so if one is opened).
  const summary: CallQualityPayload = {
    callId: p.callId,
    seq: p.seq,
    intervalMs: p.intervalMs,
    ...pickDefined(p, ['final', 'rttMs', 'jitterMs', 'packetLossInPct', 'packetLossOutPct']),
    ...(p.bitrateKbps ? { bitrateKbps: pickDefined(p.bitrateKbps, ['audioIn', 'audioOut', 'videoIn', 'videoOut']) } : {}),
    ...pickDefined(p, ['framesDecoded', 'framesDropped', 'timeToMediaMs', 'step']),
    ...(p.path
      ? {
          path: {
            local: p.path.local,
            remote: p.path.remote,
            transport: p.path.transport,
            ...(p.path.relayProtocol ? { relayProtocol: p.path.relayProtocol } : {}),
          },
        }
      : {}),
  };
  await ctx.producer.append(streams.callEvents, 'call.quality', {
    callId: p.callId,
    side: c.side,
    userId: d.userId,
    clientId: d.clientId,
    receivedAt: new Date(now).toISOString(),
    summary,
  });

  const mos = estimateMos({ rttMs: p.rttMs, jitterMs: p.jitterMs, lossPct: p.packetLossInPct });
  const next: QualityState = {
    lastMs: now,
    lastSeq: p.seq,
    finalSeen: prev?.finalSeen === true || p.final === true,
    step: p.step ?? prev?.step ?? null,
    poor: mos !== null ? mos < POOR_MOS : (prev?.poor ?? false),
  };
  d.quality.delete(p.callId);
  d.quality.set(p.callId, next);
  // A socket reports on one call at a time; a few past ones are kept for their late final summaries.
  if (d.quality.size > 4) d.quality.delete(d.quality.keys().next().value as string);
  ctx.metrics.qualitySummaries.inc();
  const changed = next.step !== (prev?.step ?? null) || next.poor !== (prev?.poor ?? false);
  if (changed && !c.ended && !p.final)
    await ctx.relay.toDevice(c.peerUserId, c.peerClientId, 'peer-quality', {
      callId: p.callId,
      step: next.step,
      poor: next.poor,
    });
  return { ok: true };
}
