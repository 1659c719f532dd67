// What code outside the call store may know of a call record: the hash fields it may read and which
// device carries the call. Once in TypeScript (transitions, signaling) and once as its Lua twin for
// scripts that must decide in one round trip (signaling's relay route), both from the names below, so
// no script outside this package spells a field of keys.call(callId).
export type CallRole = 'caller' | 'callee';

/** The fields of keys.call(callId) readable outside the store (as call-store.ts writes them). */
export const CALL_FIELDS = {
  callerId: 'callerId',
  calleeId: 'calleeId',
  state: 'state',
  callerClientId: 'callerClientId',
  answeredByClientId: 'answeredByClientId',
} as const;

/**
 * The fields of a call that has not been answered or ended: null until the call is answered, ends or is
 * replaced. The live record (call-store.ts) and the history document (apps/call) both start with them.
 */
export const UNANSWERED_CALL_FIELDS = {
  answeredAt: null,
  endedAt: null,
  endReason: null,
  outcome: null,
  durationMs: null,
  endedBy: null,
  replacedBy: null,
} as const;

export interface CallParticipants {
  callerId: string;
  calleeId: string;
}

export interface CallDevices {
  /** The caller's device that sent the offer. */
  callerClientId?: string | null;
  /** The callee's device that won the accept. */
  answeredByClientId?: string | null;
}

export function roleIn(call: CallParticipants, userId: string): CallRole | null {
  if (userId === call.callerId) return 'caller';
  if (userId === call.calleeId) return 'callee';
  return null;
}

export const peerRole = (role: CallRole): CallRole => (role === 'caller' ? 'callee' : 'caller');

/**
 * The device of `role` that carries the call: the caller's offering device, the callee's answering one;
 * null while there is none (the caller before its offer, the callee until it answers: then all its devices).
 */
export function carryingDevice(call: CallDevices, role: CallRole): string | null {
  return (role === 'caller' ? call.callerClientId : call.answeredByClientId) || null;
}

/** The device of userId that carries the call (null: none, or not a participant). */
export function deviceOf(call: CallParticipants & CallDevices, userId: string): string | null {
  const role = roleIn(call, userId);
  return role ? carryingDevice(call, role) : null;
}

/** The other participant and its carrying device (null while ringing on the callee's side: all its devices). */
export function peerOf(
  call: CallParticipants & CallDevices,
  userId: string,
): { userId: string; clientId: string | null } {
  const peer: CallRole = userId === call.callerId ? 'callee' : 'caller';
  return { userId: peer === 'caller' ? call.callerId : call.calleeId, clientId: carryingDevice(call, peer) };
}

const F = CALL_FIELDS;
/**
 * The same in Lua, to prepend to a script body: readCall(key) -> nil (no record) or {callerId, calleeId,
 * state, callerClientId, answeredByClientId} ('' for a missing device); roleIn(call, userId) -> 'caller' |
 * 'callee' | nil; peerRole(role); userOf(call, role); carryingDevice(call, role) -> '' when none.
 */
export const CALL_LUA = `
local function readCall(key)
  local f = redis.call('HMGET', key, '${F.callerId}', '${F.calleeId}', '${F.state}', '${F.callerClientId}', '${F.answeredByClientId}')
  if not f[3] then return nil end
  return {callerId = f[1] or '', calleeId = f[2] or '', state = f[3], callerClientId = f[4] or '', answeredByClientId = f[5] or ''}
end
local function roleIn(call, userId)
  if userId == call.callerId then return 'caller' elseif userId == call.calleeId then return 'callee' end
  return nil
end
local function peerRole(role) if role == 'caller' then return 'callee' end return 'caller' end
local function userOf(call, role) if role == 'caller' then return call.callerId end return call.calleeId end
local function carryingDevice(call, role)
  if role == 'caller' then return call.callerClientId end
  return call.answeredByClientId
end
`;
