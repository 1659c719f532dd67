// The sync feed: every change an account's offline client must replay (contacts, blocks, profiles,
// calls), in one sequence per account, read with `seq > cursor`.
//
// A writer takes the next number from a per-account counter (one atomic $inc) and then inserts the
// change with _id "<userId>:<seq>". Between the two steps the number is a hole, and a writer that
// took N may insert after another took and inserted N+1. So a reader only ever returns the gap-free
// prefix after its cursor and stops at a hole, which is how no change is ever stepped over. A hole
// that outlives `holeGraceMs` (its writer died between the steps) is filled with a no-op row, again
// by the unique _id: if that writer was only slow, its insert now fails and it takes a new number,
// so its change is still delivered, once. Rows are never updated, so nothing is returned twice.
//
// Some changes must be in a feed once however often they are written (a call's history line, from a
// stream event that may be delivered twice at the same time): those rows carry `onceKey`, unique in
// the collection, so the database decides a race. The loser's number is then a hole only it knows is
// dead, so it fills that hole itself at once rather than leaving readers waiting out the grace time.
import { requiredPaths } from '@voip/kit/mongo';
import { type Connection, type Model, Schema } from 'mongoose';
import { isDuplicateKey } from '../mongo-errors.js';

export type ChangeEntity = 'contact' | 'block' | 'profile' | 'call';
export type ChangeOp = 'upsert' | 'delete';

export interface ChangeInput {
  entity: ChangeEntity;
  op: ChangeOp;
  id: string;
  data?: unknown;
}

export interface ChangeRecord extends ChangeInput {
  userId: string;
  seq: number;
  /** When the change was written (after its number was taken). */
  at: Date;
}

interface ChangeDoc extends Omit<ChangeRecord, 'entity' | 'op'> {
  _id: string;
  /** 'noop' marks a filled hole: it moves cursors along and is never shown. */
  entity: ChangeEntity | 'noop';
  op: ChangeOp | 'noop';
  /** `<userId>:<entity>:<id>` on rows written with appendOnce; absent on every other row. */
  onceKey?: string;
}

/** Per account: the last sequence number handed out. */
interface CounterDoc {
  _id: string;
  seq: number;
}

const changeSchema = new Schema<ChangeDoc>(
  {
    ...requiredPaths({ _id: String, userId: String, seq: Number, entity: String, op: String, id: String, at: Date }),
    data: { type: Schema.Types.Mixed },
    onceKey: { type: String },
  },
  { versionKey: false, strict: 'throw', autoIndex: false, autoCreate: false, minimize: false },
);
changeSchema.index({ userId: 1, seq: 1 });
changeSchema.index({ userId: 1, entity: 1, id: 1 });
// Sparse so the rows without the field (all but appendOnce's, and every row written before it) are not
// in it. FerretDB v1 has no partial indexes and ignores `sparse`, but never counts a missing field as a
// duplicate either, so the same index works on both.
changeSchema.index({ onceKey: 1 }, { unique: true, sparse: true });

const counterSchema = new Schema<CounterDoc>(
  { _id: { type: String, required: true }, seq: { type: Number, required: true } },
  { versionKey: false, strict: 'throw', autoIndex: false, autoCreate: false },
);

export interface ChangePage {
  changes: ChangeRecord[];
  /** Where the next page starts: the last seq read, no-op rows included (`after` when none). */
  lastSeq: number;
  hasMore: boolean;
}

export interface ChangeLog {
  readonly models: Model<unknown>[];
  /** Appends one change to userId's feed; resolves to its seq. */
  append(userId: string, change: ChangeInput): Promise<number>;
  /**
   * Appends a change that must be in userId's feed once: when a change about the same entity and id is
   * already there, or another appendOnce of it wins a race, adds nothing and resolves to null.
   */
  appendOnce(userId: string, change: ChangeInput): Promise<number | null>;
  /** Changes with seq > after, oldest first, at most `limit` rows read, never past a hole. */
  page(userId: string, after: number, limit: number): Promise<ChangePage>;
  has(userId: string, entity: ChangeEntity, id: string): Promise<boolean>;
  /** The newest change about one thing in userId's feed (what its stored state must equal). */
  latest(userId: string, entity: ChangeEntity, id: string): Promise<ChangeRecord | null>;
  deleteUsers(userIds: string[]): Promise<void>;
}

export interface ChangeLogOptions {
  /** A hole older than this is taken for a dead writer's and filled (default 30 s). */
  holeGraceMs?: number;
  /**
   * Give up an append after this many lost races. On MongoDB a number is only lost to a filled hole;
   * FerretDB's $inc is not atomic, so there racing writers may draw the same number and retry.
   */
  maxAttempts?: number;
  onHoleFilled?: (info: { userId: string; seqs: number[] }) => void;
  /** Test seam: runs between taking a number and inserting the change (to pause a writer there). */
  afterAllocate?: (userId: string, seq: number) => Promise<void>;
  now?: () => number;
}

const changeKey = (userId: string, seq: number) => `${userId}:${seq}`;
/** A row as callers see it: without the storage-only fields. */
const toRecord = ({ _id: _ignored, onceKey: _once, ...r }: ChangeDoc) => r as ChangeRecord;
const onceKeyOf = (userId: string, change: ChangeInput) => `${userId}:${change.entity}:${change.id}`;

export function createChangeLog(conn: Connection, opts: ChangeLogOptions = {}): ChangeLog {
  const { holeGraceMs = 30_000, maxAttempts = 200, onHoleFilled, afterAllocate, now = Date.now } = opts;
  const changes = conn.model<ChangeDoc>('Change', changeSchema, 'changes');
  const counters = conn.model<CounterDoc>('ChangeCounter', counterSchema, 'change_counters');

  const allocate = async (userId: string): Promise<number> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const doc = await counters
          .findOneAndUpdate({ _id: userId }, { $inc: { seq: 1 } }, { upsert: true, new: true })
          .lean<CounterDoc>();
        if (!doc) throw new Error('counter upsert returned nothing');
        return doc.seq;
      } catch (err) {
        // Two first appends raced to create the counter; the other one exists now.
        if (!isDuplicateKey(err) || attempt >= 3) throw err;
      }
    }
  };

  const fetch = (userId: string, after: number, limit: number) =>
    changes
      .find({ userId, seq: { $gt: after } })
      .sort({ seq: 1 })
      .limit(limit)
      .lean<ChangeDoc[]>();

  /** How many docs continue `after` without a hole. */
  const contiguous = (docs: ChangeDoc[], after: number) => {
    let n = 0;
    while (n < docs.length && docs[n]!.seq === after + n + 1) n++;
    return n;
  };

  /** Fills one number with a no-op row; false when the number is taken (its writer got there first). */
  const fillHole = async (userId: string, seq: number): Promise<boolean> => {
    try {
      await changes.collection.insertOne({
        _id: changeKey(userId, seq),
        userId,
        seq,
        entity: 'noop',
        op: 'noop',
        id: '-',
        at: new Date(now()),
      } as never);
      return true;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      return false;
    }
  };

  /** Fills the holes before `next` with no-op rows; a hole its writer fills first just stays theirs. */
  const fillHoles = async (userId: string, from: number, next: ChangeDoc) => {
    const filled: number[] = [];
    for (let seq = from; seq < next.seq; seq++) if (await fillHole(userId, seq)) filled.push(seq);
    if (filled.length > 0) onHoleFilled?.({ userId, seqs: filled });
  };

  /** The append loop; with `onceKey`, null when a row with that key exists (and our number is filled). */
  const insert = async (userId: string, change: ChangeInput, onceKey?: string): Promise<number | null> => {
    for (let attempt = 1; ; attempt++) {
      const seq = await allocate(userId);
      await afterAllocate?.(userId, seq);
      // Only set when there is one: the driver would store an undefined field as null, which is a value.
      const doc: ChangeDoc = {
        _id: changeKey(userId, seq),
        userId,
        seq,
        at: new Date(now()),
        ...change,
        ...(onceKey ? { onceKey } : {}),
      };
      try {
        await changes.collection.insertOne(doc as never);
        return seq;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        // Which unique key refused us? (FerretDB's error does not say.) The change is there already:
        // done, and our number would be a hole until a reader's grace ran out, so fill it now.
        if (onceKey && (await changes.exists({ onceKey })) !== null) {
          await fillHole(userId, seq);
          return null;
        }
        // Our number is taken: filled as a dead writer's hole while we were slow, or (FerretDB)
        // drawn twice from a non-atomic counter. Either way a new number is the answer.
        if (attempt >= maxAttempts) throw err;
      }
      // Spread the retries of writers that collided, so they do not draw the same number again.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(attempt * 4, 50)));
    }
  };

  const has = async (userId: string, entity: ChangeEntity, id: string) =>
    (await changes.exists({ userId, entity, id })) !== null;

  return {
    models: [changes, counters] as unknown as Model<unknown>[],
    async append(userId, change) {
      return (await insert(userId, change)) as number;
    },
    async appendOnce(userId, change) {
      // The cheap answer for a plain re-delivery, and the only one for rows from before `onceKey`.
      if (await has(userId, change.entity, change.id)) return null;
      return insert(userId, change, onceKeyOf(userId, change));
    },
    async page(userId, after, limit) {
      let docs = await fetch(userId, after, limit + 1);
      let n = contiguous(docs, after);
      if (n < docs.length) {
        const next = docs[n]!;
        // Rows after a hole got their numbers after it, so their age bounds the hole's age.
        if (now() - next.at.getTime() >= holeGraceMs) await fillHoles(userId, after + n + 1, next);
        // Read again from the hole: filled by now (its writer, or us), or it was a read racing an insert.
        const again = await fetch(userId, after + n, limit + 1 - n);
        docs = [...docs.slice(0, n), ...again];
        n = contiguous(docs, after);
      }
      const rows = docs.slice(0, Math.min(n, limit));
      return {
        changes: rows.filter((d) => d.entity !== 'noop').map(toRecord),
        lastSeq: rows.at(-1)?.seq ?? after,
        // Stuck at a young hole with nothing to return: "no more for now", so clients do not spin.
        hasMore: rows.length > 0 && docs.length > rows.length,
      };
    },
    has,
    async latest(userId, entity, id) {
      const doc = await changes.findOne({ userId, entity, id }).sort({ seq: -1 }).lean<ChangeDoc>();
      return doc ? toRecord(doc) : null;
    },
    async deleteUsers(userIds) {
      if (userIds.length === 0) return;
      await changes.deleteMany({ userId: { $in: userIds } });
      await counters.deleteMany({ _id: { $in: userIds } });
    },
  };
}
