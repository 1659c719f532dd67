// What a push provider is to the rest of the service: send one wake-up message to one device and say
// how it went, in terms the dispatcher can act on (retry, count against the breaker, drop the token).
// The payloads themselves are contracts (`@voip/contracts/push`): the wake-up and the cancel.
import type { Media } from '@voip/contracts/calls';
import type { CancelPush } from '@voip/contracts/push';

/** The data a woken phone needs to connect and find its ringing call. */
export interface WakeUpMessage {
  type?: 'incoming-call';
  callId: string;
  callerId: string;
  callerName: string;
  media: Media;
  /** ISO time the call stops ringing. */
  expiresAt: string;
}

/** Stop ringing: the call was answered elsewhere, cancelled, rejected or stopped ringing. */
export type CancelMessage = CancelPush;

export type PushMessage = WakeUpMessage | CancelMessage;

export interface PushTarget {
  deviceId: string;
  platform: 'android' | 'ios' | 'web';
  pushToken: string;
}

export type SendResult =
  | { ok: true; messageId?: string }
  /** The token is dead (app uninstalled, token rotated): remove it, do not retry. */
  | { ok: false; kind: 'invalid-token'; detail: string }
  /** The endpoint refused this message for good (bad request, sender mismatch): do not retry. */
  | { ok: false; kind: 'rejected'; detail: string }
  /** The endpoint is down, slow, overloaded or refused our credentials: retry later, counts against the breaker. */
  | { ok: false; kind: 'unavailable'; detail: string; retryAfterMs?: number };

export interface PushProvider {
  readonly name: string;
  send(target: PushTarget, message: PushMessage, signal: AbortSignal): Promise<SendResult>;
}
