// The sync feed: every change an account's offline client must replay (contacts, blocks, profiles,
// calls), in one gap-free sequence per account. Appending IS allocating: a change is inserted with
// _id "<userId>:<seq>" where seq = (last seq known to exist) + 1, and the unique _id decides races.
// So change N+1 can only be written after change N exists, and a reader that sees N+1 has N too:
// no change is skipped by a reader paging with `seq > cursor`, and none is returned twice. (A
// separate counter + insert would let N+1 commit before N and a reader could step over N.)
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
  at: Date;
}

interface ChangeDoc extends ChangeRecord {
  _id: string;
}

/** Per account: a seq known to exist. Only a hint (it may lag); the unique change _id is the truth. */
interface HeadDoc {
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

const headSchema = new Schema<HeadDoc>(
  { _id: { type: String, required: true }, seq: { type: Number, required: true } },
  { versionKey: false, strict: 'throw', autoIndex: false, autoCreate: false },
);

export interface ChangePage {
  changes: ChangeRecord[];
  /** The seq of the last change returned (the `after` given when none). */
  lastSeq: number;
  hasMore: boolean;
}

export interface ChangeLog {
  readonly models: Model<unknown>[];
  /** Appends one change to userId's feed; resolves to its seq. */
  append(userId: string, change: ChangeInput, at?: Date): Promise<number>;
  /** Changes with seq > after, oldest first, at most `limit`, never past a gap. */
  page(userId: string, after: number, limit: number): Promise<ChangePage>;
  has(userId: string, entity: ChangeEntity, id: string): Promise<boolean>;
  deleteUsers(userIds: string[]): Promise<void>;
}

export interface ChangeLogOptions {
  /** Give up (and fail the request) after this many lost races for one append. */
  maxAttempts?: number;
  onGap?: (info: { userId: string; expected: number; found: number }) => void;
}

const changeKey = (userId: string, seq: number) => `${userId}:${seq}`;

export function createChangeLog(
  conn: Connection,
  { maxAttempts = 1000, onGap }: ChangeLogOptions = {},
): ChangeLog {
  const changes = conn.model<ChangeDoc>('Change', changeSchema, 'changes');
  const heads = conn.model<HeadDoc>('ChangeHead', headSchema, 'change_heads');

  const readHead = async (userId: string) =>
    (await heads.findOne({ _id: userId }, null, { sanitizeFilter: true }).lean<HeadDoc>())?.seq ?? 0;

  const advanceHead = async (userId: string, seq: number) => {
    try {
      await heads.updateOne({ _id: userId }, { $max: { seq } }, { upsert: true });
    } catch (err) {
      // Two first appends raced to create the head: the other one exists now, so update it.
      if (!isDuplicateKey(err)) throw err;
      await heads.updateOne({ _id: userId }, { $max: { seq } });
    }
  };

  const fetch = async (userId: string, after: number, limit: number) =>
    changes
      .find({ userId, seq: { $gt: after } })
      .sort({ seq: 1 })
      .limit(limit)
      .lean<ChangeDoc[]>();

  /** The longest prefix of docs that continues after `after` without a hole. */
  const contiguous = (docs: ChangeDoc[], after: number) => {
    let n = 0;
    while (n < docs.length && docs[n]!.seq === after + n + 1) n++;
    return n;
  };

  return {
    models: [changes, heads] as unknown as Model<unknown>[],
    async append(userId, change, at = new Date()) {
      let seq = (await readHead(userId)) + 1;
      for (let attempt = 1; ; attempt++) {
        const doc: ChangeDoc = { _id: changeKey(userId, seq), userId, seq, at, ...change };
        try {
          await changes.collection.insertOne(doc as never);
          await advanceHead(userId, seq);
          return seq;
        } catch (err) {
          if (!isDuplicateKey(err) || attempt >= maxAttempts) throw err;
        }
        // seq is taken, so it exists: seq + 1 may follow it; the head may know of a later one.
        seq = Math.max(seq + 1, (await readHead(userId)) + 1);
      }
    },
    async page(userId, after, limit) {
      let docs = await fetch(userId, after, limit + 1);
      let n = contiguous(docs, after);
      if (n < docs.length) {
        // Rows are inserted in order, so a hole is a read that raced an insert (a query that saw a
        // later row but not the earlier one): read again from the hole rather than step over it.
        const again = await fetch(userId, after + n, limit + 1 - n);
        docs = [...docs.slice(0, n), ...again];
        const m = contiguous(docs, after);
        if (m < docs.length) onGap?.({ userId, expected: after + m + 1, found: docs[m]!.seq });
        n = m;
      }
      const hasMore = docs.length > limit || n < docs.length;
      const page = docs.slice(0, Math.min(n, limit)).map(({ _id: _ignored, ...r }) => r);
      return { changes: page, lastSeq: page.at(-1)?.seq ?? after, hasMore };
    },
    async has(userId, entity, id) {
      return (await changes.exists({ userId, entity, id })) !== null;
    },
    async deleteUsers(userIds) {
      if (userIds.length === 0) return;
      await changes.deleteMany({ userId: { $in: userIds } });
      await heads.deleteMany({ _id: { $in: userIds } });
    },
  };
}
