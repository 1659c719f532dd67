// The calls collection: one document per call, created at initiation and completed from the call-events
// stream. Every write is an idempotent upsert keyed by callId, so the initiating request and the history
// consumer may arrive in either order, and a re-delivered event changes nothing.
// Just over ~400 lines: the schema, its indexes and every query on the collection, so each index sits
// beside the queries it serves; the quality fold is apart (quality-summary.ts).
import { UNANSWERED_CALL_FIELDS } from '@voip/call-state/call-fields';
import type { CallOutcome, CallState, EndReason, Media } from '@voip/contracts/calls';
import type { CallQualityPayload } from '@voip/contracts/quality';
import { nullPaths, requiredPaths } from '@voip/kit/mongo';
import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';
import { fold, type QualityAcc, type Side, sideMos } from './quality-summary.js';

export type PushOutcome = 'pending' | 'sent' | 'failed' | 'none';

export interface PushReport {
  devices: number;
  sent: number;
  failed: number;
  invalidated: number;
  detail?: string;
}

export interface CallRecord {
  callId: string;
  callerId: string;
  calleeId: string;
  media: Media;
  state: CallState;
  createdAt: Date;
  expiresAt: Date | null;
  answeredAt: Date | null;
  endedAt: Date | null;
  endReason: EndReason | null;
  /** As call-state reported it at the end (the caller's view); per-viewer outcomes are derived on read. */
  outcome: CallOutcome | null;
  durationMs: number | null;
  endedBy: string | null;
  replacedBy: string | null;
  push: PushOutcome | null;
  pushReport: PushReport | null;
  /** When the final record was written from call.ended (exactly once). */
  recordedAt: Date | null;
  /** Media quality per side from `call-quality` summaries (quality-summary.ts); null before any. */
  quality: { caller?: QualityAcc; callee?: QualityAcc } | null;
  /** The lower side's average MOS: what the operator's worst-calls route sorts by. */
  qualityMos: number | null;
}

export type QualityApplied =
  | { result: 'applied'; acc: QualityAcc; timeToMediaNew: boolean; counted: boolean }
  | { result: 'duplicate' | 'missing' };

interface CallDoc extends Omit<CallRecord, 'callId'> {
  _id: string;
}

export interface CallCreated {
  callId: string;
  callerId: string;
  calleeId: string;
  media: Media;
  createdAt: Date;
  expiresAt: Date;
  push?: PushOutcome;
}

/** What history records of a new call, from the live record or its call.created event (ISO times). */
export const callCreatedOf = (
  c: Pick<CallCreated, 'callId' | 'callerId' | 'calleeId' | 'media'> & { createdAt: string; expiresAt: string },
  push?: PushOutcome,
): CallCreated => ({
  callId: c.callId,
  callerId: c.callerId,
  calleeId: c.calleeId,
  media: c.media,
  createdAt: new Date(c.createdAt),
  expiresAt: new Date(c.expiresAt),
  ...(push ? { push } : {}),
});

export interface CallEnded {
  callId: string;
  callerId: string;
  calleeId: string;
  media: Media;
  outcome: CallOutcome;
  endReason: EndReason;
  createdAt: Date;
  answeredAt: Date | null;
  endedAt: Date;
  durationMs: number;
  endedBy: string | null;
  replacedBy: string | null;
}

export interface HistoryPage {
  before?: { createdAt: Date; callId: string } | undefined;
  limit: number;
}

export interface CallRepository {
  readonly model: Model<CallDoc>;
  /** Creates the ringing record unless one exists (the ended record may already be there). */
  recordCreated(c: CallCreated): Promise<void>;
  recordAccepted(callId: string, answeredAt: Date): Promise<void>;
  /** Writes the final record once: 'recorded' the first time, 'duplicate' for every repeat. */
  recordEnded(e: CallEnded): Promise<'recorded' | 'duplicate'>;
  setPush(callId: string, push: PushOutcome, report?: PushReport): Promise<void>;
  /**
   * At the call's end, a push still `pending` becomes `failed` (its instance died mid-push, or the
   * dispatcher is still at it and will overwrite this with its outcome); `sent`, `failed` and `none` stay.
   * true when it changed the record.
   */
  settlePendingPush(callId: string): Promise<boolean>;
  /** The call if userId took part in it; null for strangers and unknown ids alike. */
  findForParticipant(callId: string, userId: string): Promise<CallRecord | null>;
  /** Ended calls of userId, newest first (createdAt, then callId, descending). */
  history(userId: string, page: HistoryPage): Promise<CallRecord[]>;
  /**
   * Folds one side's summary into the record. `missing`: no record yet (call.created not written: the
   * entry is retried); `duplicate`: a seq already folded in. `counted`: the side is final now and was
   * not counted in the per-side metrics before; `timeToMediaNew`: this summary brought the side's time to media.
   */
  applyQuality(q: {
    callId: string;
    side: Side;
    clientId: string;
    summary: CallQualityPayload;
    receivedAt: string;
  }): Promise<QualityApplied>;
  /** At the call's end: the sides with summaries not counted yet, now marked counted. */
  settleQuality(callId: string): Promise<QualityAcc[]>;
  /** Calls created in [from, to) with a quality summary, lowest MOS first. */
  worstCalls(from: Date, to: Date, limit: number): Promise<CallRecord[]>;
}

const callSchema = new Schema<CallDoc>(
  {
    ...requiredPaths({ _id: String, callerId: String, calleeId: String, media: String, state: String, createdAt: Date }),
    ...nullPaths({ expiresAt: Date, answeredAt: Date, endedAt: Date, endReason: String, outcome: String }),
    ...nullPaths({ durationMs: Number, endedBy: String, replacedBy: String, push: String, recordedAt: Date }),
    pushReport: { type: Schema.Types.Mixed, default: null },
    quality: { type: Schema.Types.Mixed, default: undefined },
    qualityMos: { type: Number, default: undefined },
  },
  { versionKey: false, strict: 'throw', autoIndex: true },
);
// The two sides of a user's history, each walked newest first.
callSchema.index({ callerId: 1, state: 1, createdAt: -1, _id: -1 });
callSchema.index({ calleeId: 1, state: 1, createdAt: -1, _id: -1 });
// The operator's worst calls of a period.
callSchema.index({ qualityMos: 1, createdAt: 1 });

const isDuplicateKey = (err: unknown) =>
  typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;

/** Fields a stored document may lack (written later in the call's life, or by an older version): read as null. */
const OPTIONAL_FIELDS = [
  'expiresAt', 'answeredAt', 'endedAt', 'endReason', 'outcome', 'durationMs', 'endedBy', 'replacedBy',
  'push', 'pushReport', 'recordedAt', 'quality', 'qualityMos',
] as const satisfies readonly (keyof CallDoc)[];

type OptionalFields = { [K in (typeof OPTIONAL_FIELDS)[number]]: NonNullable<CallDoc[K]> | null };

// Typed by the list: a CallRecord field that is neither read below nor in OPTIONAL_FIELDS does not compile.
const toRecord = ({ _id, callerId, calleeId, media, state, createdAt, ...rest }: CallDoc): CallRecord => ({
  callId: _id,
  callerId,
  calleeId,
  media,
  state,
  createdAt,
  ...(Object.fromEntries(OPTIONAL_FIELDS.map((field) => [field, rest[field] ?? null])) as OptionalFields),
});

/**
 * Runs the writes to one call's document one after another within this process. MongoDB applies each
 * update atomically anyway; FerretDB (dev and tests) reads, modifies and writes back the whole document,
 * so two concurrent updates of one call (the history consumer ending it while the push dispatcher records
 * its outcome) would lose one of them.
 */
function createWriteQueue() {
  const tails = new Map<string, Promise<unknown>>();
  return function serial<T>(callId: string, write: () => Promise<T>): Promise<T> {
    const previous = tails.get(callId) ?? Promise.resolve();
    const next = previous.then(write, write);
    const tail = next.catch(() => undefined);
    tails.set(callId, tail);
    void tail.then(() => {
      if (tails.get(callId) === tail) tails.delete(callId);
    });
    return next;
  };
}

export function createCallRepository(conn: Connection): CallRepository {
  const model = conn.model<CallDoc>('Call', callSchema, 'calls');
  const col = model.collection;
  const serial = createWriteQueue();

  return {
    model,
    recordCreated(c) {
      return serial(c.callId, () => insertCreated(c));
    },
    recordAccepted(callId, answeredAt) {
      // Never over an ended record: a late or re-delivered call.accepted must not resurrect a call.
      return serial(callId, async () => {
        await col.updateOne(
          { _id: callId as never, state: 'ringing' },
          { $set: { state: 'accepted', answeredAt } },
        );
      });
    },
    recordEnded(e) {
      return serial(e.callId, () => writeEnded(e));
    },
    setPush(callId, push, report) {
      return serial(callId, async () => {
        await col.updateOne(
          { _id: callId as never },
          { $set: { push, ...(report ? { pushReport: report } : {}) } },
        );
      });
    },
    settlePendingPush(callId) {
      return serial(callId, async () => {
        const res = await col.updateOne(
          { _id: callId as never, push: 'pending' },
          { $set: { push: 'failed' } },
        );
        return res.modifiedCount > 0;
      });
    },
    async findForParticipant(callId, userId) {
      const doc = await col.findOne<CallDoc>({
        _id: callId as never,
        $or: [{ callerId: userId }, { calleeId: userId }],
      });
      return doc ? toRecord(doc) : null;
    },
    async history(userId, { before, limit }) {
      // One query per side, each an equality prefix of its index ({callerId|calleeId, state, createdAt,
      // _id}), merged here: a top-level $or over the two sides is answered by no index on FerretDB (it
      // scanned every call) and by two index scans plus a sort on MongoDB. A self-call is on both sides.
      const older = before
        ? {
            $or: [
              { createdAt: { $lt: before.createdAt } },
              { createdAt: before.createdAt, _id: { $lt: before.callId } },
            ],
          }
        : {};
      const side = (field: 'callerId' | 'calleeId') =>
        col
          .find<CallDoc>({ [field]: userId, state: 'ended', ...older } as never)
          .sort({ createdAt: -1, _id: -1 })
          .limit(limit)
          .toArray();
      const [asCaller, asCallee] = await Promise.all([side('callerId'), side('calleeId')]);
      const byId = new Map([...asCaller, ...asCallee].map((d) => [d._id, d]));
      return [...byId.values()]
        .sort(
          (a, b) =>
            b.createdAt.getTime() - a.createdAt.getTime() || (a._id < b._id ? 1 : a._id > b._id ? -1 : 0),
        )
        .slice(0, limit)
        .map(toRecord);
    },
    applyQuality(q) {
      return serial(q.callId, () => writeQuality(q));
    },
    settleQuality(callId) {
      return serial(callId, async () => {
        const doc = await col.findOne<Pick<CallDoc, 'quality'>>(
          { _id: callId as never },
          { projection: { quality: 1 } },
        );
        const settled: QualityAcc[] = [];
        const set: Record<string, true> = {};
        for (const side of ['caller', 'callee'] as const) {
          const acc = doc?.quality?.[side];
          if (!acc || acc.counted) continue;
          settled.push(acc);
          set[`quality.${side}.counted`] = true;
        }
        if (settled.length > 0) await col.updateOne({ _id: callId as never }, { $set: set });
        return settled;
      });
    },
    async worstCalls(from, to, limit) {
      const docs = await col
        .find<CallDoc>({ createdAt: { $gte: from, $lt: to }, qualityMos: { $type: 'number' } } as never)
        .sort({ qualityMos: 1, _id: 1 })
        .limit(limit)
        .toArray();
      return docs.map(toRecord);
    },
  };

  async function writeQuality(q: Parameters<CallRepository['applyQuality']>[0]): Promise<QualityApplied> {
    // Compare-and-set on the side's rev: another call-service instance may fold the same side at once.
    for (let attempt = 0; attempt < 5; attempt++) {
      const doc = await col.findOne<Pick<CallDoc, 'quality'>>(
        { _id: q.callId as never },
        { projection: { quality: 1 } },
      );
      if (!doc) return { result: 'missing' };
      const prev = doc.quality?.[q.side];
      const next = fold(prev, q.summary, q.clientId, q.receivedAt);
      if (!next) return { result: 'duplicate' };
      const counted = next.final && !next.counted;
      if (counted) next.counted = true;
      const other = doc.quality?.[q.side === 'caller' ? 'callee' : 'caller'];
      const moses = [sideMos(next), other ? sideMos(other) : null].filter((m): m is number => m !== null);
      const res = await col.updateOne(
        {
          _id: q.callId as never,
          [`quality.${q.side}.rev`]: prev ? prev.rev : { $exists: false },
          ...(doc.quality ? {} : { quality: { $exists: false } }),
        } as never,
        {
          $set: {
            ...(doc.quality ? { [`quality.${q.side}`]: next } : { quality: { [q.side]: next } }),
            qualityMos: moses.length > 0 ? Math.min(...moses) : null,
          },
        },
      );
      if (res.modifiedCount > 0)
        return {
          result: 'applied',
          acc: next,
          timeToMediaNew: (prev?.timeToMediaMs ?? null) === null && next.timeToMediaMs !== null,
          counted,
        };
    }
    throw new Error(`could not write the quality of call ${q.callId}: too many concurrent writers`);
  }

  async function insertCreated(c: CallCreated): Promise<void> {
    let inserted = false;
    try {
      const res = await col.updateOne(
        { _id: c.callId as never },
        {
          $setOnInsert: {
            callerId: c.callerId,
            calleeId: c.calleeId,
            media: c.media,
            state: 'ringing',
            createdAt: c.createdAt,
            expiresAt: c.expiresAt,
            ...UNANSWERED_CALL_FIELDS,
            // The stream's call.created carries no push: a call that started one had the request write
            // "pending" first (or does so right after, below); every other call pushed nothing.
            push: c.push ?? 'none',
            pushReport: null,
            recordedAt: null,
          },
        },
        { upsert: true },
      );
      inserted = res.upsertedCount > 0;
    } catch (err) {
      // Another instance's upsert inserted it first (MongoDB retries this itself, FerretDB does not).
      if (!isDuplicateKey(err)) throw err;
    }
    // The request knows whether a push was started; the consumer's insert (when it came first) did not.
    if (c.push && !inserted)
      await col.updateOne(
        { _id: c.callId as never, push: { $in: [null, 'none'] } },
        { $set: { push: c.push } },
      );
  }

  async function writeEnded(e: CallEnded): Promise<'recorded' | 'duplicate'> {
    const final = {
      callerId: e.callerId,
      calleeId: e.calleeId,
      media: e.media,
      state: 'ended',
      createdAt: e.createdAt,
      answeredAt: e.answeredAt,
      endedAt: e.endedAt,
      endReason: e.endReason,
      outcome: e.outcome,
      durationMs: e.durationMs,
      endedBy: e.endedBy,
      replacedBy: e.replacedBy,
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        // Matches only a record that is not final yet. When the final record exists, the upsert tries
        // to insert a second document with the same _id, which the unique _id refuses.
        const res = await col.updateOne(
          { _id: e.callId as never, state: { $ne: 'ended' } },
          { $set: { ...final, recordedAt: new Date() } },
          { upsert: true },
        );
        if (res.modifiedCount + res.upsertedCount > 0) return 'recorded';
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      // Refused or matched nothing: either the final record is there (a repeat), or a ringing record was
      // inserted at the same moment by another instance (then the next attempt updates it).
      const current = await col.findOne<Pick<CallDoc, 'state'>>(
        { _id: e.callId as never },
        { projection: { state: 1 } },
      );
      if (current?.state === 'ended') return 'duplicate';
    }
    throw new Error(`could not write the final record of call ${e.callId}`);
  }
}
