// The guests collection: throw-away identities with a display name and no password. lastSeenAt moves
// on refresh and /me, so housekeeping can remove guests that have not been around since a date.
import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';

export interface GuestRecord {
  id: string;
  displayName: string;
  createdAt: Date;
  lastSeenAt: Date;
}

interface GuestDoc extends Omit<GuestRecord, 'id'> {
  _id: string;
}

export interface GuestRepository {
  readonly model: Model<GuestDoc>;
  insert(guest: GuestRecord): Promise<GuestRecord>;
  findById(id: string): Promise<GuestRecord | null>;
  touch(id: string, at: Date): Promise<void>;
  /** Ids of guests (optionally only those not seen since `lastSeenBefore`), oldest first, at most `limit`. */
  listIds(opts: { lastSeenBefore?: Date; limit: number }): Promise<string[]>;
  deleteByIds(ids: readonly string[]): Promise<number>;
}

const guestSchema = new Schema<GuestDoc>(
  {
    _id: { type: String, required: true },
    displayName: { type: String, required: true },
    createdAt: { type: Date, required: true },
    lastSeenAt: { type: Date, required: true, index: true },
  },
  { versionKey: false, strict: 'throw' },
);

const toRecord = ({ _id, ...rest }: GuestDoc): GuestRecord => ({ id: _id, ...rest });

export function createGuestRepository(conn: Connection): GuestRepository {
  const model = conn.model<GuestDoc>('Guest', guestSchema, 'guests');
  return {
    model,
    async insert(guest) {
      const { id, ...rest } = guest;
      await model.collection.insertOne({ _id: id, ...rest } as never);
      return guest;
    },
    async findById(id) {
      const doc = await model.findOne({ _id: id }, null, { sanitizeFilter: true }).lean<GuestDoc>();
      return doc ? toRecord(doc) : null;
    },
    async touch(id, at) {
      await model.updateOne({ _id: id }, { $set: { lastSeenAt: at } });
    },
    async listIds({ lastSeenBefore, limit }) {
      const filter = lastSeenBefore ? { lastSeenAt: { $lt: lastSeenBefore } } : {};
      const docs = await model
        .find(filter, { _id: 1 })
        .sort({ _id: 1 })
        .limit(limit)
        .lean<Array<Pick<GuestDoc, '_id'>>>();
      return docs.map((d) => d._id);
    },
    async deleteByIds(ids) {
      if (ids.length === 0) return 0;
      const res = await model.deleteMany({ _id: { $in: [...ids] } });
      return res.deletedCount;
    },
  };
}
