// The profiles collection: the user service's copy of every account (users, admins, guests), made
// from account events or lazily from a token, plus the prefix search over it. Only this module builds
// Mongo queries on profiles; every value it gets has already passed a schema.
import type { PrincipalKind } from '@voip/contracts/common';
import type { IncomingCalls } from '@voip/contracts/users';
import { type Connection, type Model, Schema } from 'mongoose';
import { isDuplicateKey, plainId } from '../mongo-errors.js';
import { prefixPattern, type SearchPosition, searchKeyOf } from './search.js';

export interface ProfileRecord {
  id: string;
  kind: PrincipalKind;
  username: string | null;
  displayName: string;
  avatarUrl: string | null;
  doNotDisturb: boolean;
  /** Who may ring this user; null until the user chooses (then the default for its kind applies). */
  incomingCalls: IncomingCalls | null;
  /** Made from a token before the account event arrived: the event may still fill in the rest. */
  provisional: boolean;
  createdAt: Date;
  updatedAt: Date;
}

interface ProfileDoc extends Omit<ProfileRecord, 'id'> {
  _id: string;
  /** lower-cased displayName: what search and its ordering run on. */
  searchName: string;
  usernameLower: string | null;
}

const profileSchema = new Schema<ProfileDoc>(
  {
    _id: { type: String, required: true },
    kind: { type: String, required: true, enum: ['user', 'admin', 'guest'] },
    username: { type: String, default: null },
    usernameLower: { type: String, default: null },
    displayName: { type: String, required: true },
    searchName: { type: String, required: true },
    avatarUrl: { type: String, default: null },
    doNotDisturb: { type: Boolean, required: true, default: false },
    incomingCalls: {
      type: String,
      default: null,
      enum: ['everyone', 'registered', 'contacts', 'nobody', null],
    },
    provisional: { type: Boolean, required: true, default: false },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, strict: 'throw', autoIndex: false, autoCreate: false },
);
profileSchema.index({ searchName: 1, _id: 1 });
profileSchema.index({ usernameLower: 1 });
profileSchema.index({ kind: 1, createdAt: 1 });

export interface NewProfile {
  id: string;
  kind: PrincipalKind;
  username?: string | null;
  displayName: string;
  createdAt: Date;
  provisional?: boolean;
}

export interface ProfilePatch {
  displayName?: string;
  avatarUrl?: string | null;
  doNotDisturb?: boolean;
  incomingCalls?: IncomingCalls;
}

export interface SearchOptions {
  q: string;
  limit: number;
  after: SearchPosition | null;
  includeGuests: boolean;
  /** Match usernames as well as display names (not for guests: login names are not theirs to probe). */
  matchUsernames: boolean;
}

export interface ProfileRepository {
  readonly model: Model<ProfileDoc>;
  get(id: string): Promise<ProfileRecord | null>;
  getMany(ids: string[]): Promise<Map<string, ProfileRecord>>;
  /** Inserts unless the id exists; resolves to the stored profile and whether this call made it. */
  insertIfAbsent(p: NewProfile): Promise<{ profile: ProfileRecord; inserted: boolean }>;
  /** Completes a provisional profile with what the account event knows (username, real name). */
  completeFromEvent(p: NewProfile): Promise<ProfileRecord | null>;
  setKind(id: string, kind: PrincipalKind): Promise<void>;
  patch(id: string, patch: ProfilePatch, now: Date): Promise<ProfileRecord | null>;
  search(opts: SearchOptions): Promise<ProfileRecord[]>;
  /** Ids of guest profiles created before `before` (all guests when null), oldest first. */
  guestIds(before: Date | null, limit: number): Promise<string[]>;
  /** Which of ids are not guests (they must never be removed by guest clean-up). */
  nonGuestIds(ids: string[]): Promise<Set<string>>;
  deleteMany(ids: string[]): Promise<number>;
}

const toRecord = (d: ProfileDoc): ProfileRecord => ({
  id: d._id,
  kind: d.kind,
  username: d.username ?? null,
  displayName: d.displayName,
  avatarUrl: d.avatarUrl ?? null,
  doNotDisturb: d.doNotDisturb === true,
  incomingCalls: d.incomingCalls ?? null,
  provisional: d.provisional === true,
  createdAt: d.createdAt,
  updatedAt: d.updatedAt,
});

export function createProfileRepository(conn: Connection): ProfileRepository {
  const model = conn.model<ProfileDoc>('Profile', profileSchema, 'profiles');
  const get = async (id: string) => {
    const doc = await model.findOne({ _id: plainId(id) }).lean<ProfileDoc>();
    return doc ? toRecord(doc) : null;
  };
  return {
    model,
    get,
    async getMany(ids) {
      if (ids.length === 0) return new Map();
      const docs = await model.find({ _id: { $in: ids } }).lean<ProfileDoc[]>();
      return new Map(docs.map((d) => [d._id, toRecord(d)]));
    },
    async insertIfAbsent(p) {
      const doc: ProfileDoc = {
        _id: p.id,
        kind: p.kind,
        username: p.username ?? null,
        usernameLower: p.username ? p.username.toLowerCase() : null,
        displayName: p.displayName,
        searchName: searchKeyOf(p.displayName),
        avatarUrl: null,
        doNotDisturb: false,
        incomingCalls: null,
        provisional: p.provisional === true,
        createdAt: p.createdAt,
        updatedAt: p.createdAt,
      };
      try {
        await model.collection.insertOne(doc as never);
        return { profile: toRecord(doc), inserted: true };
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      const existing = await get(p.id);
      if (!existing) throw new Error(`profile ${p.id} vanished during insert`);
      return { profile: existing, inserted: false };
    },
    async completeFromEvent(p) {
      const doc = await model
        .findOneAndUpdate(
          { _id: p.id, provisional: true },
          {
            $set: {
              displayName: p.displayName,
              searchName: searchKeyOf(p.displayName),
              username: p.username ?? null,
              usernameLower: p.username ? p.username.toLowerCase() : null,
              createdAt: p.createdAt,
              provisional: false,
            },
          },
          { new: true },
        )
        .lean<ProfileDoc>();
      return doc ? toRecord(doc) : null;
    },
    async setKind(id, kind) {
      await model.updateOne({ _id: id }, { $set: { kind } });
    },
    async patch(id, patch, now) {
      const set: Record<string, unknown> = { updatedAt: now };
      if (patch.displayName !== undefined) {
        set.displayName = patch.displayName;
        set.searchName = searchKeyOf(patch.displayName);
        // The person chose a name: an account event arriving later must not overwrite it.
        set.provisional = false;
      }
      if (patch.avatarUrl !== undefined) set.avatarUrl = patch.avatarUrl;
      if (patch.doNotDisturb !== undefined) set.doNotDisturb = patch.doNotDisturb;
      if (patch.incomingCalls !== undefined) set.incomingCalls = patch.incomingCalls;
      const doc = await model.findOneAndUpdate({ _id: id }, { $set: set }, { new: true }).lean<ProfileDoc>();
      return doc ? toRecord(doc) : null;
    },
    async search({ q, limit, after, includeGuests, matchUsernames }) {
      // A prefix of the display name or of the username (the unique handle people pass around); the
      // order and the cursor stay on (searchName, _id) either way.
      const pattern = prefixPattern(q);
      const clauses: Record<string, unknown>[] = [
        matchUsernames
          ? { $or: [{ searchName: { $regex: pattern } }, { usernameLower: { $regex: pattern } }] }
          : { searchName: { $regex: pattern } },
      ];
      if (!includeGuests) clauses.push({ kind: { $ne: 'guest' } });
      if (after)
        clauses.push({
          $or: [{ searchName: { $gt: after.name } }, { searchName: after.name, _id: { $gt: after.id } }],
        });
      const docs = await model
        .find({ $and: clauses })
        .sort({ searchName: 1, _id: 1 })
        .limit(limit)
        .lean<ProfileDoc[]>();
      return docs.map(toRecord);
    },
    async guestIds(before, limit) {
      const filter: Record<string, unknown> = { kind: 'guest' };
      if (before) filter.createdAt = { $lt: before };
      const docs = await model
        .find(filter, { _id: 1 })
        .sort({ createdAt: 1, _id: 1 })
        .limit(limit)
        .lean<{ _id: string }[]>();
      return docs.map((d) => d._id);
    },
    async nonGuestIds(ids) {
      if (ids.length === 0) return new Set();
      const docs = await model
        .find({ _id: { $in: ids }, kind: { $ne: 'guest' } }, { _id: 1 })
        .lean<{ _id: string }[]>();
      return new Set(docs.map((d) => d._id));
    },
    async deleteMany(ids) {
      if (ids.length === 0) return 0;
      const r = await model.deleteMany({ _id: { $in: ids } });
      return r.deletedCount;
    },
  };
}
