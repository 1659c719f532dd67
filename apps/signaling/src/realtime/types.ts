// The typed Socket.io server of this service: event maps from @voip/contracts and what each socket knows
// about itself (set once at the handshake; no Redis needed to answer "who is this").
import type { PrincipalKind } from '@voip/contracts/common';
import type { QualityStep } from '@voip/contracts/quality';
import type { ClientToServerEvents, ServerToClientEvents } from '@voip/contracts/socket';
import type { Server, Socket } from 'socket.io';

export type KickReason = 'revoked' | 'guest-deleted' | 'replaced' | 'timeout' | 'shutdown';

export interface SocketData {
  userId: string;
  kind: PrincipalKind;
  displayName: string;
  /** The auth session (`sid` of the access token). */
  sessionId: string;
  clientId: string;
  ip: string;
  /** sha256 of the resume token the client presented, '' when none. */
  presentedResumeTokenHash: string;
  /** auth.lastSeq: the device asked for numbered delivery and has everything up to it; null = not asked. */
  lastSeq: number | null;
  /** Events of one socket are handled one after another, in the order they arrived. */
  queue: Promise<void>;
  lastSeenMs: number;
  tokens: number;
  tokensAtMs: number;
  /** Events accepted and not yet answered, and their approximate bytes (bounded, see call-handlers). */
  waiting: { count: number; bytes: number };
  kick?: KickReason;
  /** The call this device carries (placed, answered or resumed), null when none: calls/call-session.ts owns it. */
  callId: string | null;
  /** `call-quality` bookkeeping per call this socket reported on (calls/quality.ts). */
  quality?: Map<string, QualityState>;
}

/** What one socket last told about one call: the rate limit, the seq order, and what the peer was told. */
export interface QualityState {
  lastMs: number;
  lastSeq: number;
  finalSeen: boolean;
  step: QualityStep | null;
  poor: boolean;
}

// biome-ignore lint/complexity/noBannedTypes: no server-to-server events
export type InterServerEvents = {};
export type SignalingServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;
export type SignalingSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;
