// The devices collection: where to push an account's incoming calls. One document per push token,
// keyed by the token's hash, saying which (user, device) holds it: registering a token elsewhere is
// one atomic upsert that moves it, so the first account stops getting pushes at once. A device
// holds one token at a time (unique on user + device).
import { createHash } from 'node:crypto';
import { type Connection, type Model, Schema } from 'mongoose';
import { isDuplicateKey, plainId } from '../mongo-errors.js';

export type Platform = 'android' | 'ios' | 'web';

export interface DeviceRecord {
  userId: string;
  deviceId: string;
  platform: Platform;
  pushToken: string;
  updatedAt: Date;
}

interface DeviceDoc extends DeviceRecord {
  /** sha256 of the token: a short, fixed-size key however long providers make tokens. */
  _id: string;
}

const deviceSchema = new Schema<DeviceDoc>(
  {
    _id: { type: String, required: true },
    userId: { type: String, required: true },
    deviceId: { type: String, required: true },
    platform: { type: String, required: true, enum: ['android', 'ios', 'web'] },
    pushToken: { type: String, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, strict: 'throw', autoIndex: false, autoCreate: false },
);
deviceSchema.index({ userId: 1, deviceId: 1 }, { unique: true });
deviceSchema.index({ userId: 1, updatedAt: 1 });

export interface PutDeviceResult {
  device: DeviceRecord;
  /** The token was held by another device (of this or another account) until now. */
  moved: boolean;
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
const toRecord = (d: DeviceDoc): DeviceRecord => ({
  userId: d.userId,
  deviceId: d.deviceId,
  platform: d.platform,
  pushToken: d.pushToken,
  updatedAt: d.updatedAt,
});

/** Two registrations for one device with different tokens racing collide on (user, device): retried. */
const MAX_PUT_ATTEMPTS = 5;

export function createDeviceRepository(conn: Connection): DeviceRepository {
  const model = conn.model<DeviceDoc>('Device', deviceSchema, 'devices');
  return {
    model,
    async put(d) {
      const _id = tokenHash(d.pushToken);
      for (let attempt = 1; ; attempt++) {
        // The device's previous token (if another) goes first: one token per device.
        await model.deleteMany({ userId: d.userId, deviceId: d.deviceId, _id: { $ne: _id } });
        try {
          const before = await model
            .findOneAndUpdate(
              { _id },
              {
                $set: {
                  userId: d.userId,
                  deviceId: d.deviceId,
                  platform: d.platform,
                  pushToken: d.pushToken,
                  updatedAt: d.updatedAt,
                },
              },
              { upsert: true, new: false },
            )
            .lean<DeviceDoc>();
          const moved = before !== null && (before.userId !== d.userId || before.deviceId !== d.deviceId);
          return { device: { ...d }, moved };
        } catch (err) {
          if (!isDuplicateKey(err) || attempt >= MAX_PUT_ATTEMPTS) throw err;
        }
      }
    },
    async remove(userId, deviceId) {
      const r = await model.deleteMany({ userId, deviceId });
      return r.deletedCount > 0;
    },
    async list(userId) {
      const docs = await model
        .find({ userId: plainId(userId) })
        .sort({ updatedAt: -1, _id: 1 })
        .lean<DeviceDoc[]>();
      return docs.map(toRecord);
    },
    async trim(userId, keep) {
      const stale = await model
        .find({ userId: plainId(userId) }, { _id: 1 })
        .sort({ updatedAt: -1, _id: 1 })
        .skip(keep)
        .lean<{ _id: string }[]>();
      if (stale.length === 0) return 0;
      const r = await model.deleteMany({ _id: { $in: stale.map((d) => d._id) } });
      return r.deletedCount;
    },
    async removeTokens(pushTokens) {
      if (pushTokens.length === 0) return 0;
      const r = await model.deleteMany({ _id: { $in: [...new Set(pushTokens.map(tokenHash))] } });
      return r.deletedCount;
    },
    async removeUsers(userIds) {
      if (userIds.length === 0) return 0;
      const r = await model.deleteMany({ userId: { $in: userIds } });
      return r.deletedCount;
    },
  };
}
