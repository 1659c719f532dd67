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
}

/** Per account: the last sequence number handed out. */
interface CounterDoc {
  _id: string;
  seq: number;
}

const changeSchema = new Schema<ChangeDoc>(
  {
    _id: { type: String, required: true },
    userId: { type: String, required: true },
    seq: { type: Number, required: true },
    entity: { type: String, required: true },
    op: { type: String, required: true },
    id: { type: String, required: true },
    data: { type: Schema.Types.Mixed },
    at: { type: Date, required: true },
  },
  { versionKey: false, strict: 'throw', autoIndex: false, autoCreate: false, minimize: false },
);
changeSchema.index({ userId: 1, seq: 1 });
changeSchema.index({ userId: 1, entity: 1, id: 1 });

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

  /** Fills the holes before `next` with no-op rows; a hole its writer fills first just stays theirs. */
  const fillHoles = async (userId: string, from: number, next: ChangeDoc) => {
    const filled: number[] = [];
    for (let seq = from; seq < next.seq; seq++) {
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
        filled.push(seq);
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
    }
    if (filled.length > 0) onHoleFilled?.({ userId, seqs: filled });
  };

  return {
    models: [changes, counters] as unknown as Model<unknown>[],
    async append(userId, change) {
      for (let attempt = 1; ; attempt++) {
        const seq = await allocate(userId);
        await afterAllocate?.(userId, seq);
        const doc: ChangeDoc = { _id: changeKey(userId, seq), userId, seq, at: new Date(now()), ...change };
        try {
          await changes.collection.insertOne(doc as never);
          return seq;
        } catch (err) {
          // Our number is taken: filled as a dead writer's hole while we were slow, or (FerretDB)
          // drawn twice from a non-atomic counter. Either way a new number is the answer.
          if (!isDuplicateKey(err) || attempt >= maxAttempts) throw err;
        }
        // Spread the retries of writers that collided, so they do not draw the same number again.
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(attempt * 4, 50)));
      }
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
        changes: rows.filter((d) => d.entity !== 'noop').map(({ _id: _ignored, ...r }) => r as ChangeRecord),
        lastSeq: rows.at(-1)?.seq ?? after,
        // Stuck at a young hole with nothing to return: "no more for now", so clients do not spin.
        hasMore: rows.length > 0 && docs.length > rows.length,
      };
    },
    async has(userId, entity, id) {
      return (await changes.exists({ userId, entity, id })) !== null;
    },
    async latest(userId, entity, id) {
      const doc = await changes.findOne({ userId, entity, id }).sort({ seq: -1 }).lean<ChangeDoc>();
      if (!doc) return null;
      const { _id: _ignored, ...r } = doc;
      return r as ChangeRecord;
    },
    async deleteUsers(userIds) {
      if (userIds.length === 0) return;
      await changes.deleteMany({ userId: { $in: userIds } });
      await counters.deleteMany({ _id: { $in: userIds } });
    },
  };
}
