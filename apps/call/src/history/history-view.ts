// How one participant sees a call: direction and outcome from their side (a call nobody picked up is
// `missed` for the callee), and the opaque cursor of history pages. Pure functions, no I/O.
import {
  directionFor,
  historyOutcomeFor,
  type ViewerRole,
  viewerRole,
} from '@voip/call-state/history-outcome';
import type { Call, CallOutcome, HistoryItem } from '@voip/contracts/calls';
import type { CallRecord } from './call-repository.js';
import { toQualitySide } from './quality-summary.js';

export type Role = ViewerRole;

export const roleOf = (r: Pick<CallRecord, 'callerId'>, userId: string): Role => viewerRole(r, userId);

/** The outcome from one side: the rules are `@voip/call-state/history-outcome`'s, shared with the sync feed. */
export const outcomeFor = (
  role: Role,
  r: Pick<CallRecord, 'answeredAt' | 'endReason' | 'replacedBy'>,
): CallOutcome =>
  historyOutcomeFor(role, {
    answered: Boolean(r.answeredAt),
    endReason: r.endReason,
    replacedBy: r.replacedBy,
  });

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** One history line for userId; only for ended records. */
export function toHistoryItem(r: CallRecord, userId: string): HistoryItem {
  const role = roleOf(r, userId);
  const endedAt = r.endedAt ?? r.createdAt;
  return {
    callId: r.callId,
    direction: directionFor(role),
    peerId: role === 'caller' ? r.calleeId : r.callerId,
    media: r.media,
    outcome: outcomeFor(role, r),
    startedAt: r.createdAt.toISOString(),
    answeredAt: iso(r.answeredAt),
    endedAt: endedAt.toISOString(),
    durationMs: r.durationMs ?? 0,
    endReason: r.endReason ?? 'failed',
  };
}

/** The call as GET /api/calls/:callId shows it to one of its participants. */
export function toCallView(r: CallRecord, userId: string): Call {
  return {
    callId: r.callId,
    callerId: r.callerId,
    calleeId: r.calleeId,
    media: r.media,
    state: r.state,
    createdAt: r.createdAt.toISOString(),
    ...(r.expiresAt ? { expiresAt: r.expiresAt.toISOString() } : {}),
    answeredAt: iso(r.answeredAt),
    endedAt: iso(r.endedAt),
    endReason: r.endReason,
    outcome: r.state === 'ended' ? outcomeFor(roleOf(r, userId), r) : null,
    durationMs: r.durationMs,
    ...(r.replacedBy ? { replacedBy: r.replacedBy } : {}),
    ...(r.push ? { push: r.push } : {}),
    ...(r.quality ? { quality: qualityView(r.quality) } : {}),
  };
}

/** Both sides' quality as the participants (and the operator's worst-calls route) see it. */
export function qualityView(q: NonNullable<CallRecord['quality']>): NonNullable<Call['quality']> {
  return {
    ...(q.caller ? { caller: toQualitySide(q.caller) } : {}),
    ...(q.callee ? { callee: toQualitySide(q.callee) } : {}),
  };
}

export interface Cursor {
  createdAt: Date;
  callId: string;
}

/** Position after the last item of a page: creation time and callId (a stable, unique order). */
export function encodeCursor(r: Pick<CallRecord, 'createdAt' | 'callId'>): string {
  return Buffer.from(`${r.createdAt.getTime()}:${r.callId}`).toString('base64url');
}

/** null when the cursor is not one we issued. */
export function decodeCursor(cursor: string): Cursor | null {
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^(\d{1,15}):([A-Za-z0-9_-]{1,64})$/.exec(raw);
  if (!m) return null;
  return { createdAt: new Date(Number(m[1])), callId: m[2]! };
}

/** A live call-state record (Redis) in the record shape, for calls history has not completed yet. */
export function fromLiveRecord(
  live: {
    callId: string;
    callerId: string;
    calleeId: string;
    media: CallRecord['media'];
    state: CallRecord['state'];
    createdAt: string;
    expiresAt: string;
    answeredAt: string | null;
    endedAt: string | null;
    endReason: CallRecord['endReason'];
    outcome: CallRecord['outcome'];
    durationMs: number | null;
    endedBy: string | null;
    replacedBy: string | null;
  },
  stored: CallRecord | null,
): CallRecord {
  const date = (s: string | null) => (s ? new Date(s) : null);
  return {
    callId: live.callId,
    callerId: live.callerId,
    calleeId: live.calleeId,
    media: live.media,
    state: live.state,
    createdAt: new Date(live.createdAt),
    expiresAt: date(live.expiresAt),
    answeredAt: date(live.answeredAt),
    endedAt: date(live.endedAt),
    endReason: live.endReason,
    outcome: live.outcome,
    durationMs: live.durationMs,
    endedBy: live.endedBy,
    replacedBy: live.replacedBy,
    push: stored?.push ?? null,
    pushReport: stored?.pushReport ?? null,
    recordedAt: stored?.recordedAt ?? null,
    quality: stored?.quality ?? null,
    qualityMos: stored?.qualityMos ?? null,
  };
}
