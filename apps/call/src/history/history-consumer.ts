// Call history that is never lost: consumer group "call-history" on the call-events stream. Each event is
// written with an idempotent upsert by callId (a re-delivery changes nothing), the entry is acked only
// after the write, so a call that ended while this service was down is recorded when it comes back; what
// cannot be parsed goes to the dead-letter stream (the bus consumer does that). While MongoDB is away
// (isDependencyAvailable, and the driver's connection errors) the consumer pauses and retries the entry
// in hand with back-off, spending no deliveries: an outage of any length loses no history. call.ended also settles a
// wake-up push still `pending` as `failed` (so a push whose instance died does not stay pending forever)
// and revokes the call's TURN users in call-scoped mode. call.accepted and an unanswered call.ended send
// the cancel push to phones a wake-up reached that never connected (answered elsewhere, cancelled, …).
import { createStreamConsumers, type StreamConsumer, type StreamConsumerOptions } from '@voip/bus/streams';
import { streams } from '@voip/contracts/redis-keys';
import { pickDefined } from '@voip/kit/objects';
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { Redis } from 'ioredis';
import type { WakeUpDispatcher } from '../push/wake-up-dispatcher.js';
import type { IceServerIssuer } from '../turn/ice-servers.js';
import { type CallRepository, callCreatedOf } from './call-repository.js';
import type { QualityMetrics } from './quality-metrics.js';
import { intervalFigures } from './quality-summary.js';

export const HISTORY_GROUP = 'call-history';

export interface HistoryConsumerOptions {
  redis: Redis;
  calls: CallRepository;
  turn: Pick<IceServerIssuer, 'revoke'>;
  push: Pick<WakeUpDispatcher, 'cancel'>;
  consumer: string;
  log: Logger;
  blockMs?: number;
  claimIdleMs?: number;
  maxDeliveries?: number;
  /**
   * Consumers of the group in this process (default 1). Entries of one call may then be handled out of
   * order, which every write here tolerates: a late call.created or call.accepted changes nothing over
   * an ended record, and a call.quality before its record fails and is delivered again.
   */
  count?: number;
  /** Health probe of the database (mongoose readyState === 1). */
  isDependencyAvailable?: () => boolean;
  outageRetryMs?: number;
  outageRetryMaxMs?: number;
  onOutcome?: StreamConsumerOptions['onOutcome'];
  /** Told of every final record written and every repeat (metrics, tests). */
  onEnded?: (callId: string, result: 'recorded' | 'duplicate') => void;
  /** Call-quality figures (Prometheus). */
  quality?: QualityMetrics;
}

export function createHistoryConsumer(opts: HistoryConsumerOptions): StreamConsumer {
  const { calls, turn, push, log } = opts;
  return createStreamConsumers({
    count: opts.count ?? 1,
    redis: opts.redis,
    stream: streams.callEvents,
    group: HISTORY_GROUP,
    consumer: opts.consumer,
    logger: log,
    ...pickDefined(opts, [
      'blockMs', 'claimIdleMs', 'maxDeliveries', 'outageRetryMs', 'outageRetryMaxMs', 'onOutcome', 'isDependencyAvailable',
    ]),
    dependency: 'mongo',
    handlers: {
      'call.created': async ({ data }) => {
        await calls.recordCreated(callCreatedOf(data));
      },
      'call.accepted': async ({ data }) => {
        await calls.recordAccepted(data.callId, new Date(data.answeredAt));
        push.cancel({ callId: data.callId, reason: 'answered-elsewhere' });
      },
      // A device's call-quality summary, accepted by signaling: folded into its side of the record once
      // (a re-delivery or a repeated seq changes nothing). Before the record exists (call.created is
      // handled by another instance at the same moment) it fails and the entry is delivered again.
      'call.quality': async ({ data }) => {
        const r = await calls.applyQuality({
          callId: data.callId,
          side: data.side,
          clientId: data.clientId,
          summary: data.summary,
          receivedAt: data.receivedAt,
        });
        if (r.result === 'missing') throw new Error(`call ${data.callId} has no record yet`);
        if (r.result !== 'applied') return;
        opts.quality?.interval(intervalFigures(data.summary));
        if (r.timeToMediaNew && r.acc.timeToMediaMs !== null) opts.quality?.timeToMedia(r.acc.timeToMediaMs);
        if (r.counted) opts.quality?.side(r.acc);
      },
      'call.ended': async ({ data, id }, meta) => {
        const result = await calls.recordEnded({
          callId: data.callId,
          callerId: data.callerId,
          calleeId: data.calleeId,
          media: data.media,
          outcome: data.outcome,
          endReason: data.endReason,
          createdAt: new Date(data.createdAt),
          answeredAt: data.answeredAt ? new Date(data.answeredAt) : null,
          endedAt: new Date(data.endedAt),
          durationMs: data.durationMs,
          endedBy: data.endedBy ?? null,
          replacedBy: data.replacedBy ?? null,
        });
        // Both are idempotent, so they run on repeats too: a crash between the writes heals itself.
        const pushSettled = await calls.settlePendingPush(data.callId);
        // Sides whose final summary never came (a crashed app) are counted as they are.
        for (const acc of await calls.settleQuality(data.callId)) opts.quality?.side(acc);
        await turn.revoke(data);
        // An answered call's woken phones had their cancel at call.accepted.
        if (!data.answeredAt) push.cancel({ callId: data.callId, reason: data.endReason });
        log.info(
          {
            callId: data.callId,
            eventId: id,
            entryId: meta.entryId,
            result,
            endReason: data.endReason,
            ...(pushSettled ? { push: 'failed', pushDetail: 'still pending at the end of the call' } : {}),
          },
          'call history',
        );
        opts.onEnded?.(data.callId, result);
      },
    },
  });
}
