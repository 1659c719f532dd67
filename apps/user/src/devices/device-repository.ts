// The devices collection: where to push an account's incoming calls. One document per
// (user, device); a push token belongs to exactly one device at a time (unique on its hash), so
// registering a token on another account moves it there and the first account stops getting pushes.
import { createHash } from 'node:crypto';
import { type Connection, type Model, Schema } from 'mongoose';
import { isDuplicateKey } from '../mongo-errors.js';

export type Platform = 'android' | 'ios' | 'web';

export interface DeviceRecord {
  userId: string;
  deviceId: string;
  platform: Platform;
  pushToken: string;
  updatedAt: Date;
}

interface DeviceDoc extends DeviceRecord {
  _id: string;
  /** sha256 of the token: a short, fixed-size unique key however long providers make tokens. */
  tokenHash: string;
}

const deviceSchema = new Schema<DeviceDoc>(
  {
    _id: { type: String, required: true },
    userId: { type: String, required: true },
    deviceId: { type: String, required: true },
    platform: { type: String, required: true, enum: ['android', 'ios', 'web'] },
    pushToken: { type: String, required: true },
    tokenHash: { type: String, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, strict: 'throw', autoIndex: false, autoCreate: false },
);
deviceSchema.index({ tokenHash: 1 }, { unique: true });
deviceSchema.index({ userId: 1, updatedAt: 1 });

export interface PutDeviceResult {
  device: DeviceRecord;
  /** Devices (of any account) the token was taken from. */
  movedFrom: number;
}

export interface DeviceRepository {
  readonly model: Model<DeviceDoc>;
  put(d: DeviceRecord): Promise<PutDeviceResult>;
  remove(userId: string, deviceId: string): Promise<boolean>;
  list(userId: string): Promise<DeviceRecord[]>;
  /** Keeps the user's `keep` most recently registered devices; resolves to how many were dropped. */
  trim(userId: string, keep: number): Promise<number>;
  removeTokens(pushTokens: string[]): Promise<number>;
  removeUsers(userIds: string[]): Promise<number>;
}

export const tokenHash = (token: string) => createHash('sha256').update(token).digest('base64url');
const deviceKey = (userId: string, deviceId: string) => `${userId}:${deviceId}`;
const toRecord = (d: DeviceDoc): DeviceRecord => ({
  userId: d.userId,
  deviceId: d.deviceId,
  platform: d.platform,
  pushToken: d.pushToken,
  updatedAt: d.updatedAt,
});

/** Two registrations of one token racing can both clear it and then collide; a retry settles it. */
const MAX_PUT_ATTEMPTS = 5;

export function createDeviceRepository(conn: Connection): DeviceRepository {
  const model = conn.model<DeviceDoc>('Device', deviceSchema, 'devices');
  return {
    model,
    async put(d) {
      const _id = deviceKey(d.userId, d.deviceId);
      const hash = tokenHash(d.pushToken);
      let movedFrom = 0;
      for (let attempt = 1; ; attempt++) {
        const taken = await model.deleteMany({ tokenHash: hash, _id: { $ne: _id } });
        movedFrom += taken.deletedCount;
        try {
          await model.updateOne(
            { _id },
            {
              $set: {
                userId: d.userId,
                deviceId: d.deviceId,
                platform: d.platform,
                pushToken: d.pushToken,
                tokenHash: hash,
                updatedAt: d.updatedAt,
              },
            },
            { upsert: true },
          );
          return { device: { ...d }, movedFrom };
        } catch (err) {
          if (!isDuplicateKey(err) || attempt >= MAX_PUT_ATTEMPTS) throw err;
        }
      }
    },
    async remove(userId, deviceId) {
      const r = await model.deleteOne({ _id: deviceKey(userId, deviceId) });
      return r.deletedCount > 0;
    },
    async list(userId) {
      const docs = await model
        .find({ userId }, null, { sanitizeFilter: true })
        .sort({ updatedAt: -1, _id: 1 })
        .lean<DeviceDoc[]>();
      return docs.map(toRecord);
    },
    async trim(userId, keep) {
      const stale = await model
        .find({ userId }, { _id: 1 }, { sanitizeFilter: true })
        .sort({ updatedAt: -1, _id: 1 })
        .skip(keep)
        .lean<{ _id: string }[]>();
      if (stale.length === 0) return 0;
      const r = await model.deleteMany({ _id: { $in: stale.map((d) => d._id) } });
      return r.deletedCount;
    },
    async removeTokens(pushTokens) {
      if (pushTokens.length === 0) return 0;
      const r = await model.deleteMany({ tokenHash: { $in: [...new Set(pushTokens.map(tokenHash))] } });
      return r.deletedCount;
    },
    async removeUsers(userIds) {
      if (userIds.length === 0) return 0;
      const r = await model.deleteMany({ userId: { $in: userIds } });
      return r.deletedCount;
    },
  };
}
