// One collection per directed relation between accounts: `contacts` (owner has target in their
// contacts) and `blocks` (owner has blocked target). One document per (owner, target) pair, kept as
// a tombstone (active: false) after removal, carrying the owner's sync-feed number of the change it
// reflects, so relation-service can tell whether it is behind the feed.
import { requiredPaths } from '@voip/kit/mongo';
import { type Connection, type Model, Schema } from 'mongoose';
import { isDuplicateKey, plainId } from '../mongo-errors.js';

export interface RelationRecord {
  ownerId: string;
  targetId: string;
  active: boolean;
  /** When the relation was (last) made. */
  since: Date;
  /** Sequence number, in the owner's sync feed, of the change that produced this state. */
  seq: number;
}

interface RelationDoc extends RelationRecord {
  _id: string;
}

export interface RelationRepository {
  readonly model: Model<RelationDoc>;
  get(ownerId: string, targetId: string): Promise<RelationRecord | null>;
  listActive(ownerId: string, limit: number): Promise<RelationRecord[]>;
  countActive(ownerId: string): Promise<number>;
  /** Targets of ownerId's active relations (the reach mirror's sets). */
  activeTargets(ownerId: string): Promise<string[]>;
  /** Writes the pair's state (relation-service decides which state is current). */
  put(state: RelationRecord): Promise<void>;
  /** Owners holding an active relation to targetId. */
  ownersOf(targetId: string): Promise<string[]>;
  /** Active pairs where any of ids is the owner or the target. */
  activeInvolving(ids: string[]): Promise<RelationRecord[]>;
  deleteInvolving(ids: string[]): Promise<number>;
}

const pairId = (ownerId: string, targetId: string) => `${ownerId}:${targetId}`;
const toRecord = ({ _id: _ignored, ...r }: RelationDoc): RelationRecord => r;

type Side = 'ownerId' | 'targetId';

export function createRelationRepository(
  conn: Connection,
  modelName: string,
  collection: string,
): RelationRepository {
  const schema = new Schema<RelationDoc>(
    requiredPaths({ _id: String, ownerId: String, targetId: String, active: Boolean, since: Date, seq: Number }),
    { versionKey: false, strict: 'throw', autoIndex: false, autoCreate: false },
  );
  schema.index({ ownerId: 1, active: 1, since: 1 });
  schema.index({ targetId: 1, active: 1 });
  const model = conn.model<RelationDoc>(modelName, schema, collection);
  // The other side of a user's active relations: whom an owner lists, or who lists a target.
  const activeSides = async (by: Side, id: string, other: Side): Promise<string[]> => {
    const docs = await model
      .find({ [by]: plainId(id), active: true }, { [other]: 1 })
      .lean<Record<Side, string>[]>();
    return docs.map((d) => d[other]);
  };
  return {
    model,
    async get(ownerId, targetId) {
      const doc = await model
        .findOne({ _id: pairId(plainId(ownerId), plainId(targetId)) })
        .lean<RelationDoc>();
      return doc ? toRecord(doc) : null;
    },
    async listActive(ownerId, limit) {
      const docs = await model
        .find({ ownerId: plainId(ownerId), active: true })
        .sort({ since: 1, _id: 1 })
        .limit(limit)
        .lean<RelationDoc[]>();
      return docs.map(toRecord);
    },
    activeTargets: (ownerId) => activeSides('ownerId', ownerId, 'targetId'),
    async countActive(ownerId) {
      return model.countDocuments({ ownerId: plainId(ownerId), active: true });
    },
    async put(state) {
      const write = () =>
        model.updateOne(
          { _id: pairId(state.ownerId, state.targetId) },
          { $set: { ...state } },
          { upsert: true },
        );
      try {
        await write();
      } catch (err) {
        // Two first writes of a pair raced to insert it: it exists now, so this one updates.
        if (!isDuplicateKey(err)) throw err;
        await write();
      }
    },
    ownersOf: (targetId) => activeSides('targetId', targetId, 'ownerId'),
    async activeInvolving(ids) {
      if (ids.length === 0) return [];
      const docs = await model
        .find({ active: true, $or: [{ ownerId: { $in: ids } }, { targetId: { $in: ids } }] })
        .lean<RelationDoc[]>();
      return docs.map(toRecord);
    },
    async deleteInvolving(ids) {
      if (ids.length === 0) return 0;
      const r = await model.deleteMany({ $or: [{ ownerId: { $in: ids } }, { targetId: { $in: ids } }] });
      return r.deletedCount;
    },
  };
}
