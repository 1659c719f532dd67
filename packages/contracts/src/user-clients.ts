// The entries of keys.userClients: written by signaling, read by whoever needs to know whether a user
// can be reached on a socket right now (signaling's call-ringing, the call service's wake-up push).
import { type Static, Type } from '@sinclair/typebox';
import { OneOf } from './common.js';
import { keys } from './redis-keys.js';
import { validator } from './validate.js';

export const UserClientEntrySchema = Type.Object({
  instanceId: Type.String(),
  socketId: Type.String(),
  connectedAt: Type.String(),
  /** `reconnecting`: the socket dropped and the device may resume within the window; nothing reaches it meanwhile. */
  state: Type.Optional(OneOf('connected', 'reconnecting')),
  kind: Type.Optional(Type.String()),
});
export type UserClientEntry = Static<typeof UserClientEntrySchema>;

const check = validator(UserClientEntrySchema);

/** One entry (its JSON) is a device with a live socket: not reconnecting. Unreadable entries count as not connected. */
export function isConnectedEntry(raw: string): boolean {
  let entry: unknown;
  try {
    entry = JSON.parse(raw);
  } catch {
    return false;
  }
  return check.check(entry) && entry.state !== 'reconnecting';
}

/** Any of a user's entries (HVALS keys.userClients) is a device with a live socket. */
export function hasConnectedDevice(entries: readonly string[]): boolean {
  return entries.some(isConnectedEntry);
}

/**
 * Is any device of userId connected right now? The read other services make of signaling's device map
 * (signaling's device registry owns it); `redis` is an ioredis client (only HVALS is used).
 */
export async function userHasConnectedDevice(
  redis: { hvals(key: string): Promise<string[]> },
  userId: string,
): Promise<boolean> {
  return hasConnectedDevice(await redis.hvals(keys.userClients(userId)));
}
