// A real call between two accounts, as the app places it: POST /api/calls, `call-user` on the caller's
// socket, `accept-call` on the callee's once `incoming-call` arrives.
import type { Account, AttackStack, ClientSocket } from './attack-stack.js';

export const OFFER = { type: 'offer' as const, sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n' };
export const ANSWER = { type: 'answer' as const, sdp: 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\n' };

const once = <T>(socket: ClientSocket, event: string, match: (p: T) => boolean, ms = 20_000) =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${event} within ${ms} ms`));
    }, ms);
    const on = (p: T) => {
      if (!match(p)) return;
      off();
      resolve(p);
    };
    const off = () => {
      clearTimeout(timer);
      (socket.off as (e: string, f: (p: T) => void) => void)(event, on);
    };
    (socket.on as (e: string, f: (p: T) => void) => void)(event, on);
  });

/** Rings `callee` and returns the callId once the call rings on the callee's socket. */
export async function ring(
  as: AttackStack,
  caller: Account,
  callee: Account,
  callerSocket: ClientSocket,
  calleeSocket: ClientSocket,
): Promise<string> {
  const res = await as.http('POST', '/api/calls', {
    token: caller.accessToken,
    body: { calleeId: callee.id, media: 'audio' },
    from: caller.from,
  });
  if (res.status !== 201) throw new Error(`POST /api/calls: ${res.status} ${res.text}`);
  const callId: string = res.body.callId;
  for (const s of res.body.iceServers ?? []) as.remember('TURN credential', s.credential);
  const incoming = once<{ callId: string }>(calleeSocket, 'incoming-call', (p) => p.callId === callId);
  const ack = await callerSocket.timeout(20_000).emitWithAck('call-user', { callId, offer: OFFER });
  if (!ack.ok) throw new Error(`call-user: ${JSON.stringify(ack)}`);
  await incoming;
  return callId;
}

/** A ringing call answered: resolves once the caller has `call-accepted`. */
export async function answer(callId: string, callerSocket: ClientSocket, calleeSocket: ClientSocket) {
  const accepted = once<{ callId: string }>(callerSocket, 'call-accepted', (p) => p.callId === callId);
  const ack = await calleeSocket.timeout(20_000).emitWithAck('accept-call', { callId, answer: ANSWER });
  if (!ack.ok) throw new Error(`accept-call: ${JSON.stringify(ack)}`);
  await accepted;
}

/** Hangs up from `socket` and waits for the peer's `call-ended`. */
export async function hangUp(callId: string, socket: ClientSocket, peerSocket: ClientSocket) {
  const ended = once<{ callId: string }>(peerSocket, 'call-ended', (p) => p.callId === callId);
  const ack = await socket.timeout(20_000).emitWithAck('end-call', { callId, reason: 'hangup' });
  if (!ack.ok) throw new Error(`end-call: ${JSON.stringify(ack)}`);
  await ended;
}

/** A whole call: ring, answer, one ICE candidate each way, hang up. Throws on any step that fails. */
export async function wholeCall(
  as: AttackStack,
  caller: Account,
  callee: Account,
  callerSocket: ClientSocket,
  calleeSocket: ClientSocket,
): Promise<string> {
  const callId = await ring(as, caller, callee, callerSocket, calleeSocket);
  await answer(callId, callerSocket, calleeSocket);
  const candidate = {
    candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host',
    sdpMid: '0',
    sdpMLineIndex: 0,
  };
  for (const [from, to] of [
    [callerSocket, calleeSocket],
    [calleeSocket, callerSocket],
  ] as const) {
    const got = once<{ callId: string }>(to, 'ice-candidate', (p) => p.callId === callId);
    const ack = await from.timeout(20_000).emitWithAck('ice-candidate', { callId, candidate });
    if (!ack.ok) throw new Error(`ice-candidate: ${JSON.stringify(ack)}`);
    await got;
  }
  await hangUp(callId, callerSocket, calleeSocket);
  return callId;
}

export { once };
