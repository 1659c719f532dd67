// The recording flow of a 1:1 call (apps/media/README.md): either participant asks, the other consents,
// then the call's media goes through a Janus room that records; a stop, the call's end or Janus's loss
// closes the room and queues the post-processing job. Every event goes to both participants' devices
// through the bus (`recording.changed`, emitted by signaling).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Publisher } from '@voip/bus/pubsub';
import type { StreamProducer } from '@voip/bus/streams';
import type { CallStore } from '@voip/call-state/call-store';
import type {
  RecordingEventName,
  RecordingEventPayload,
  RecordingFailReason,
  RecordingStopReason,
} from '@voip/contracts/media';
import { keys, streams } from '@voip/contracts/redis-keys';
import { AppError } from '@voip/kit/errors';
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { Redis } from 'ioredis';
import { ulid } from 'ulid';
import { JanusRequestError, JanusUnavailableError, type Jsep } from '../janus/janus-client.js';
import { NotPublishedYetError, type RoomManager, rawDirOf } from '../janus/rooms.js';
import type { RecordingDoc, RecordingRepository } from './repository.js';

export interface FlowMetrics {
  recordings: (outcome: string) => void;
  failure: (kind: string) => void;
}

export interface RecordingFlowDeps {
  repo: RecordingRepository;
  rooms: RoomManager;
  calls: CallStore;
  redis: Redis;
  bus: Publisher;
  jobs: StreamProducer;
  instanceId: string;
  recordingsDir: string;
  consentTimeoutMs: number;
  maxDurationMs: number;
  retentionDays: number;
  /** The last probe's answer: false while Janus is known to be down. */
  janusUp: () => boolean;
  metrics: FlowMetrics;
  log: Logger;
}

/** Redis: the one recording of a call that is requested or recording (SET NX), so there is never two. */
const activeKey = (callId: string) => keys.jobClaim(`recording-active:${callId}`);
const ACTIVE_TTL_S = 24 * 3600;

export function createRecordingFlow(d: RecordingFlowDeps) {
  // Recordings whose room this instance is opening: already `recording` in the store, not yet in
  // d.rooms. The sweep must not take them for rooms a restart lost.
  const opening = new Set<string>();
  const emit = async <K extends RecordingEventName>(
    rec: Pick<RecordingDoc, 'participants'>,
    event: K,
    payload: RecordingEventPayload<K>,
  ) => {
    await d.bus
      .publish('recording.changed', { userIds: rec.participants, event, payload })
      .catch((err: Error) => d.log.warn({ err: err.message, event }, 'recording event not published'));
  };

  const emitStopped = (rec: RecordingDoc, reason: RecordingStopReason, stoppedBy?: string) =>
    emit(rec, 'recording-stopped', {
      callId: rec.callId,
      recordingId: rec._id,
      reason,
      ...(stoppedBy ? { stoppedBy } : {}),
    });

  /** The live, answered call `me` takes part in; anyone else learns nothing (404, as the call service). */
  async function liveCallOf(callId: string, me: string) {
    const call = await d.calls.get(callId);
    if (!call || (call.callerId !== me && call.calleeId !== me))
      throw new AppError('CALL_NOT_FOUND', 'no such call');
    if (call.state !== 'accepted')
      throw new AppError('INVALID_STATE', 'only an answered call can be recorded');
    return call;
  }

  async function recordingOf(callId: string, recordingId: string, me: string): Promise<RecordingDoc> {
    const rec = await d.repo.get(recordingId);
    if (!rec || rec.callId !== callId || !rec.participants.includes(me))
      throw new AppError('NOT_FOUND', 'no such recording');
    return rec;
  }

  const releaseActive = (callId: string, recordingId: string) =>
    d.redis
      .eval(
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0",
        1,
        activeKey(callId),
        recordingId,
      )
      .catch(() => {});

  async function ask(callId: string, me: string): Promise<RecordingDoc> {
    const call = await liveCallOf(callId, me);
    if (!d.janusUp()) {
      d.metrics.failure('refused-janus-down');
      throw new AppError('UNAVAILABLE', 'the media server is unavailable: the call cannot be recorded now', {
        reason: 'media-server-unavailable',
      });
    }
    const id = ulid();
    const claimed = await d.redis.set(activeKey(callId), id, 'EX', ACTIVE_TTL_S, 'NX');
    if (!claimed) {
      const current = await d.redis.get(activeKey(callId));
      throw new AppError('CONFLICT', 'this call already has a recording asked for or running', {
        recordingId: current,
      });
    }
    const now = new Date();
    const rec = await d.repo.create({
      _id: id,
      callId,
      participants: [call.callerId, call.calleeId],
      requestedBy: me,
      requestedAt: now,
      consentDeadline: new Date(now.getTime() + d.consentTimeoutMs),
      consentedBy: [me],
      state: 'requested',
      owner: null,
      startedAt: null,
      stoppedAt: null,
      stopReason: null,
      failReason: null,
      durationMs: null,
      sizeBytes: null,
      file: null,
      expiresAt: null,
      deletedBy: null,
    });
    d.log.info({ callId, recordingId: id, requestedBy: me }, 'recording requested');
    await emit(rec, 'recording-requested', {
      callId,
      recordingId: id,
      requestedBy: me,
      expiresAt: rec.consentDeadline.toISOString(),
    });
    return rec;
  }

  async function consent(
    callId: string,
    me: string,
    recordingId: string,
    yes: boolean,
  ): Promise<RecordingDoc> {
    const rec = await recordingOf(callId, recordingId, me);
    if (rec.requestedBy === me) throw new AppError('FORBIDDEN', 'the other participant must consent');
    if (rec.state !== 'requested') throw new AppError('INVALID_STATE', `the recording is ${rec.state}`);
    if (!yes) {
      const declined = await d.repo.transition(recordingId, ['requested'], {
        state: 'declined',
        stoppedAt: new Date(),
        stopReason: 'declined',
      });
      if (!declined) throw new AppError('INVALID_STATE', 'the recording is no longer requested');
      await releaseActive(callId, recordingId);
      d.metrics.recordings('declined');
      await emit(declined, 'recording-stopped', { callId, recordingId, reason: 'declined', stoppedBy: me });
      return declined;
    }
    await liveCallOf(callId, me);
    // Both have consented: claim the start (one request wins), then open the room.
    const starting = await d.repo.transition(
      recordingId,
      ['requested'],
      { state: 'recording', owner: d.instanceId, startedAt: new Date() },
      { $addToSet: { consentedBy: me } },
    );
    if (!starting) throw new AppError('INVALID_STATE', 'the recording is no longer requested');
    opening.add(recordingId);
    try {
      await d.rooms.open(recordingId, rec.participants as [string, string]);
    } catch (err) {
      d.log.warn({ err: (err as Error).message, callId, recordingId }, 'janus refused the room');
      return fail(starting, 'media-server-unavailable');
    } finally {
      opening.delete(recordingId);
    }
    // The call may have ended while the room was being made.
    const call = await d.calls.get(callId);
    if (!call || call.state !== 'accepted') return stopRecording(starting, 'call-ended');
    d.metrics.recordings('started');
    d.log.info({ callId, recordingId }, 'recording started');
    await emit(starting, 'recording-started', {
      callId,
      recordingId,
      startedAt: starting.startedAt!.toISOString(),
    });
    return starting;
  }

  /** Nothing was recorded (Janus refused or never answered): failed, with both events. */
  async function fail(rec: RecordingDoc, reason: RecordingFailReason): Promise<RecordingDoc> {
    await d.rooms.close(rec._id).catch(() => {});
    const failed = await d.repo.transition(rec._id, ['recording', 'requested'], {
      state: 'failed',
      failReason: reason,
      stoppedAt: new Date(),
      stopReason: 'media-server-lost',
    });
    await releaseActive(rec.callId, rec._id);
    await rm(rawDirOf(d.recordingsDir, rec._id), { recursive: true, force: true }).catch(() => {});
    d.metrics.failure(reason);
    d.metrics.recordings('failed');
    await emit(rec, 'recording-failed', { callId: rec.callId, recordingId: rec._id, reason });
    return failed ?? rec;
  }

  /** Closes the room (Janus closes its files) and queues the post-processing job. Idempotent. */
  async function stopRecording(
    rec: RecordingDoc,
    reason: RecordingStopReason,
    stoppedBy?: string,
  ): Promise<RecordingDoc> {
    const stopped = await d.repo.transition(rec._id, ['recording'], {
      state: 'processing',
      stoppedAt: new Date(),
      stopReason: reason,
    });
    if (!stopped) return (await d.repo.get(rec._id)) ?? rec;
    await d.rooms.close(rec._id).catch((err: Error) => d.log.warn({ err: err.message }, 'room not closed'));
    await releaseActive(rec.callId, rec._id);
    await d.jobs.append(streams.recordingJobs, 'recording.process', { recordingId: rec._id });
    d.metrics.recordings(reason === 'media-server-lost' ? 'lost' : 'stopped');
    d.log.info({ callId: rec.callId, recordingId: rec._id, reason }, 'recording stopped');
    if (reason === 'media-server-lost')
      await emit(rec, 'recording-failed', {
        callId: rec.callId,
        recordingId: rec._id,
        reason: 'media-server-lost',
      });
    await emitStopped(rec, reason, stoppedBy);
    return stopped;
  }

  async function cancelRequest(rec: RecordingDoc, reason: RecordingStopReason, stoppedBy?: string) {
    const cancelled = await d.repo.transition(rec._id, ['requested'], {
      state: 'cancelled',
      stoppedAt: new Date(),
      stopReason: reason,
    });
    if (!cancelled) return (await d.repo.get(rec._id)) ?? rec;
    await releaseActive(rec.callId, rec._id);
    d.metrics.recordings('cancelled');
    await emitStopped(rec, reason, stoppedBy);
    return cancelled;
  }

  async function stop(callId: string, me: string, recordingId: string): Promise<RecordingDoc> {
    const rec = await recordingOf(callId, recordingId, me);
    if (rec.state === 'requested')
      return cancelRequest(rec, rec.requestedBy === me ? 'cancelled' : 'declined', me);
    if (rec.state !== 'recording') throw new AppError('INVALID_STATE', `the recording is ${rec.state}`);
    return stopRecording(rec, 'stopped', me);
  }

  /** Media calls reach the instance holding the room (one media instance, or the owner: README). */
  async function recordingRoom(callId: string, me: string, recordingId: string): Promise<RecordingDoc> {
    const rec = await recordingOf(callId, recordingId, me);
    if (rec.state !== 'recording') throw new AppError('INVALID_STATE', `the recording is ${rec.state}`);
    if (!d.rooms.has(recordingId))
      throw new AppError('UNAVAILABLE', 'the recording room is not on this instance');
    return rec;
  }

  const janusErrors = async (rec: RecordingDoc, err: unknown): Promise<never> => {
    if (err instanceof NotPublishedYetError) throw new AppError('INVALID_STATE', err.message);
    // One slow or failed request does not end the recording: Janus's loss is the session's (onJanusLost).
    if (err instanceof JanusUnavailableError) {
      d.metrics.failure('janus-request');
      d.log.warn({ recordingId: rec._id, err: err.message }, 'a request to janus failed');
      throw new AppError('UNAVAILABLE', 'the media server did not answer, try again', {
        reason: 'media-server-unavailable',
      });
    }
    if (err instanceof JanusRequestError) {
      d.metrics.failure('janus-request');
      throw new AppError('BAD_REQUEST', `the media server refused it: ${err.message}`);
    }
    throw err;
  };

  async function publish(callId: string, me: string, recordingId: string, offer: Jsep): Promise<Jsep> {
    const rec = await recordingRoom(callId, me, recordingId);
    return d.rooms.publish(recordingId, me, offer).catch((err) => janusErrors(rec, err));
  }

  async function subscribe(callId: string, me: string, recordingId: string): Promise<Jsep> {
    const rec = await recordingRoom(callId, me, recordingId);
    return d.rooms.subscribe(recordingId, me).catch((err) => janusErrors(rec, err));
  }

  async function answer(callId: string, me: string, recordingId: string, jsep: Jsep): Promise<void> {
    const rec = await recordingRoom(callId, me, recordingId);
    await d.rooms.answer(recordingId, me, jsep).catch((err) => janusErrors(rec, err));
  }

  /** The call ended (call.ended on the bus): its recording stops, or its request lapses. */
  async function onCallEnded(callId: string): Promise<void> {
    for (const rec of await d.repo.model
      .find({ callId, state: { $in: ['requested', 'recording'] } })
      .lean<RecordingDoc[]>()
      .exec()) {
      if (rec.state === 'requested') await cancelRequest(rec, 'call-ended');
      else await stopRecording(rec, 'call-ended');
    }
  }

  /** Janus lost a room's session: what was recorded is kept (post-processed), the call goes back to P2P. */
  async function onJanusLost(recordingId: string, err: Error): Promise<void> {
    d.log.warn({ recordingId, err: err.message }, 'janus lost the recording room');
    const rec = await d.repo.get(recordingId);
    if (rec?.state === 'recording') await stopRecording(rec, 'media-server-lost');
  }

  /**
   * Periodic: lapsed consent requests, recordings past the longest duration, recordings this instance
   * started but no longer holds a room for (it restarted), calls that ended while no instance listened,
   * and retention.
   */
  async function sweep(now = new Date()): Promise<void> {
    for (const rec of await d.repo.inStates(['requested'])) {
      const call = await d.calls.get(rec.callId);
      if (!call || call.state === 'ended') await cancelRequest(rec, 'call-ended');
      else if (rec.consentDeadline < now) await cancelRequest(rec, 'cancelled');
    }
    for (const rec of await d.repo.inStates(['recording'])) {
      const mine = rec.owner === d.instanceId;
      const call = await d.calls.get(rec.callId);
      if (mine && !d.rooms.has(rec._id) && !opening.has(rec._id)) await stopRecording(rec, 'media-server-lost');
      else if (!call || call.state === 'ended') await stopRecording(rec, 'call-ended');
      else if (rec.startedAt && now.getTime() - rec.startedAt.getTime() > d.maxDurationMs)
        await stopRecording(rec, 'stopped');
    }
    if (d.retentionDays > 0)
      for (const rec of await d.repo.inStates(['ready'], { expiresAt: { $lt: now } }))
        await remove(rec, 'retention');
  }

  /** Deletes a recording's file and marks it deleted (a participant, an admin, retention). */
  async function remove(rec: RecordingDoc, by: string): Promise<void> {
    if (rec.state === 'requested') await cancelRequest(rec, 'cancelled', by);
    else if (rec.state === 'recording') await stopRecording(rec, 'stopped', by);
    const latest = (await d.repo.get(rec._id)) ?? rec;
    if (latest.state === 'processing')
      throw new AppError('INVALID_STATE', 'the recording is being processed');
    const deleted = await d.repo.transition(rec._id, ['ready', 'failed', 'declined', 'cancelled'], {
      state: 'deleted',
      deletedBy: by,
    });
    if (!deleted) return;
    if (latest.file) await rm(join(d.recordingsDir, 'files', latest.file), { force: true });
    await rm(rawDirOf(d.recordingsDir, rec._id), { recursive: true, force: true });
    d.metrics.recordings('deleted');
    d.log.info({ recordingId: rec._id, by }, 'recording deleted');
  }

  return {
    ask,
    consent,
    stop,
    publish,
    subscribe,
    answer,
    onCallEnded,
    onJanusLost,
    sweep,
    remove,
    recordingOf,
    emit,
  };
}

export type RecordingFlow = ReturnType<typeof createRecordingFlow>;
