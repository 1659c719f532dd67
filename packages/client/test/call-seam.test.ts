// The Call ↔ client seam is typed by the contract: a call sends only client events with their payloads and
// receives only server events about a call, each with its own payload type (the @ts-expect-error lines fail
// `pnpm typecheck` the day the seam loses its types). The transport here records what the call sends: the
// call's own wiring to signaling runs against the real stack in signaling.test.ts.
import { CALL_SERVER_EVENTS } from '@voip/contracts/socket-events';
import { describe, expect, it } from 'vitest';
import { Call, type CallTransport } from '../src/call.js';
import type { AckOf, ClientEvent, ClientPayload } from '../src/signaling-client.js';

function recordingTransport() {
  const sent: { event: ClientEvent; payload: unknown }[] = [];
  const transport: CallTransport = {
    request<E extends ClientEvent>(event: E, payload: ClientPayload<E>) {
      sent.push({ event, payload });
      return Promise.resolve({ ok: true } as AckOf<E>);
    },
  };
  return { sent, transport };
}

const answer = { type: 'answer' as const, sdp: 'v=0\r\ns=answer\r\n' };

// Compiled, never run: each line must stay a type error.
function seamTypeErrors(call: Call, transport: CallTransport): void {
  // @ts-expect-error an event that is not about a call
  call.receive('presence', { userId: 'u2', status: 'online' });
  // @ts-expect-error a payload of another event
  call.receive('call-accepted', { callId: 'c1' });
  // @ts-expect-error a client event's payload must match its schema
  void transport.request('call-user', { callId: 'c1' });
  // @ts-expect-error not a client event
  void transport.request('incoming-call', { callId: 'c1' });
}

describe('Call seam', () => {
  it('routes each server event to its typed handler and ignores all but call-ended once ended', async () => {
    const { sent, transport } = recordingTransport();
    const call = new Call(
      { callId: 'c1', direction: 'outgoing', peer: { id: 'u2' }, media: 'audio' },
      transport,
    );
    const seen: string[] = [];
    call.on('accepted', (a) => seen.push(`accepted:${a.answer?.sdp}`));
    call.on('ringing', () => seen.push('ringing'));
    call.on('ended', (e) => seen.push(`ended:${e.reason}:${e.durationMs}`));

    call.receive('call-ringing', { callId: 'c1' });
    call.receive('call-accepted', { callId: 'c1', answer });
    expect(call.status).toBe('accepted');
    call.receive('call-ended', { callId: 'c1', reason: 'hangup', durationMs: 1200 });
    call.receive('call-ringing', { callId: 'c1' });
    expect(seen).toEqual(['ringing', `accepted:${answer.sdp}`, 'ended:hangup:1200']);

    await call.renegotiate({ type: 'offer', sdp: 'v=0\r\ns=restart\r\n' }).catch(() => undefined);
    expect(sent.map((s) => s.event)).toEqual(['renegotiate']);
  });

  it('keeps the type errors of a loose seam (compiled by typecheck, not run)', () => {
    expect(seamTypeErrors).toBeTypeOf('function');
  });

  it('has a handler for every call event of the contract', () => {
    const call = new Call(
      { callId: 'c2', direction: 'incoming', peer: { id: 'u1' }, media: 'audio' },
      recordingTransport().transport,
    );
    for (const event of CALL_SERVER_EVENTS)
      expect(() => call.receive(event, { callId: 'c2' } as never)).not.toThrow();
  });
});
