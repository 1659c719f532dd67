// The users collection: registered accounts with their argon2id password hash. Only this module
// builds Mongo queries for users; every value it is handed has already passed a schema.
import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';
import { type AccountKind, normalizeUsername } from './usernames.js';

export interface UserRecord {
  id: string;
  username: string;
  usernameLower: string;
  displayName: string;
  kind: AccountKind;
  passwordHash: string;
  createdAt: Date;
  /** False until `user.registered` is on the account stream; login appends it again if it is still false. */
  announced: boolean;
}

interface UserDoc extends Omit<UserRecord, 'id'> {
  _id: string;
}

export class UsernameTakenError extends Error {
  override name = 'UsernameTakenError';
}

export interface UserRepository {
  readonly model: Model<UserDoc>;
  insert(user: Omit<UserRecord, 'usernameLower' | 'announced'>): Promise<UserRecord>;
  findByUsername(username: string): Promise<UserRecord | null>;
  findById(id: string): Promise<UserRecord | null>;
  setKind(id: string, kind: AccountKind): Promise<void>;
  markAnnounced(id: string): Promise<void>;
}

const userSchema = new Schema<UserDoc>(
  {
    _id: { type: String, required: true },
    username: { type: String, required: true },
    usernameLower: { type: String, required: true, unique: true },
    displayName: { type: String, required: true },
    kind: { type: String, required: true, enum: ['user', 'admin'] },
    passwordHash: { type: String, required: true },
    createdAt: { type: Date, required: true },
    announced: { type: Boolean, required: true, default: false },
  },
  { versionKey: false, strict: 'throw' },
);

const toRecord = ({ _id, ...rest }: UserDoc): UserRecord => ({ id: _id, ...rest });

const isDuplicateKey = (err: unknown) =>
  typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;

export function createUserRepository(conn: Connection): UserRepository {
  const model = conn.model<UserDoc>('User', userSchema, 'users');
  return {
    model,
    async insert(user) {
      const doc: UserDoc = {
        _id: user.id,
        username: user.username,
        usernameLower: normalizeUsername(user.username),
        displayName: user.displayName,
        kind: user.kind,
        passwordHash: user.passwordHash,
        createdAt: user.createdAt,
        announced: false,
      };
      try {
        await model.collection.insertOne(doc as never);
      } catch (err) {
        if (isDuplicateKey(err)) throw new UsernameTakenError('username is taken');
        throw err;
      }
      return toRecord(doc);
    },
    async findByUsername(username) {
      const doc = await model
        .findOne({ usernameLower: normalizeUsername(username) }, null, { sanitizeFilter: true })
        .lean<UserDoc>();
      return doc ? toRecord(doc) : null;
    },
    async findById(id) {
      const doc = await model.findOne({ _id: id }, null, { sanitizeFilter: true }).lean<UserDoc>();
      return doc ? toRecord(doc) : null;
    },
    async setKind(id, kind) {
      await model.updateOne({ _id: id }, { $set: { kind } });
    },
    async markAnnounced(id) {
      await model.updateOne({ _id: id }, { $set: { announced: true } });
    },
  };
}
