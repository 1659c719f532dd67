// The socket event names, one constant each way and no schemas: what a client bundle imports to listen and
// send (the schemas would pull TypeBox into the WebView bundle). socket.ts's schema tables must name
// exactly these (checked by the compiler there), so adding an event is: its schema there, its name here.

/** Client → server events (API.md "Socket.io signaling"). */
export const CLIENT_EVENTS = [
  'call-user', 'accept-call', 'reject-call', 'ice-candidate', 'renegotiate', 'end-call',
  'heartbeat', 'call-quality',
] as const;
export type ClientEventName = (typeof CLIENT_EVENTS)[number];

/** Server events about one call: each payload has its `callId`, and a client routes them to that call. */
export const CALL_SERVER_EVENTS = [
  'call-ringing', 'call-accepted', 'call-answered-elsewhere', 'call-rejected',
  'ice-candidate', 'renegotiate', 'call-ended',
  'peer-reconnecting', 'peer-reconnected', 'peer-quality',
] as const;
export type CallServerEventName = (typeof CALL_SERVER_EVENTS)[number];

/** Recording with consent (issue 18, docs/RECORDING.md), to both participants' devices: the SDK hears them on VoipClient. */
export const RECORDING_SERVER_EVENTS = [
  'recording-requested', 'recording-started', 'recording-stopped', 'recording-failed', 'recording-ready',
] as const;

/** Every server → client event. */
export const SERVER_EVENTS = [
  'session',
  'incoming-call',
  ...CALL_SERVER_EVENTS,
  'presence',
  'server-shutdown',
  'session-revoked',
  ...RECORDING_SERVER_EVENTS,
] as const;
export type ServerEventName = (typeof SERVER_EVENTS)[number];
