// The AsyncAPI 3.0 document of everything that is not REST: the Socket.io channel clients use and
// the Redis bus the services talk over, built from the schemas in @voip/contracts so it cannot drift.
import { type TSchema, Type } from '@sinclair/typebox';
import { BusEvents, type BusEventType, Envelope } from '@voip/contracts/bus-events';
import { CANCEL_PUSH_TTL_MS, PushSchemas } from '@voip/contracts/push';
import { channels, streams } from '@voip/contracts/redis-keys';
import {
  ClientEventSchemas,
  ConnectErrorCode,
  HandshakeAuth,
  ServerEventSchemas,
} from '@voip/contracts/socket';
import { type JsonObject, type JsonValue, plainSchema } from './json-schema.js';

/** Which Redis transport carries each bus event (see HELPER conventions / packages/bus/README.md). */
export const busTransport: Record<
  BusEventType,
  { kind: 'stream'; stream: keyof typeof streams } | { kind: 'pubsub' }
> = {
  'user.registered': { kind: 'stream', stream: 'accountEvents' },
  'guest.created': { kind: 'stream', stream: 'accountEvents' },
  'guest.deleted': { kind: 'stream', stream: 'accountEvents' },
  'call.created': { kind: 'stream', stream: 'callEvents' },
  'call.accepted': { kind: 'stream', stream: 'callEvents' },
  'call.ended': { kind: 'stream', stream: 'callEvents' },
  'call.quality': { kind: 'stream', stream: 'callEvents' },
  'session.revoked': { kind: 'pubsub' },
  'presence.changed': { kind: 'pubsub' },
  'user.updated': { kind: 'pubsub' },
  'recording.changed': { kind: 'pubsub' },
  'recording.process': { kind: 'stream', stream: 'recordingJobs' },
};

/** Who appends and who reads each stream; documentation only, kept next to the transport map. */
const streamNotes: Record<keyof typeof streams, string> = {
  accountEvents:
    'Account lifecycle. Appended by auth; read by the user service (consumer group "user-service") and signaling (group "signaling").',
  callEvents:
    'Call lifecycle, appended exactly once per transition by @voip/call-state, and call.quality summaries appended by signaling; read by the call service (group "call-history") to write history and call quality, and by the user service (group "user-sync") for the sync feed.',
  recordingJobs:
    'Post-processing jobs of stopped recordings (recording.process), appended by the media service and read by it (group "media-post-process"); a job left by a restarted instance is claimed again.',
  deadLetter:
    'Entries a consumer could not parse or that kept failing, with the reason, the source stream, group and the raw envelope. Inspect and replay by hand.',
};

// Socket.io acknowledgements are plain TypeScript types in contracts; their JSON shape is spelled out here.
const AckError = Type.Object({
  ok: Type.Literal(false),
  error: Type.Object({ code: Type.String(), message: Type.String() }),
});
const AckOk = Type.Object({ ok: Type.Literal(true) }, { additionalProperties: true });
const HeartbeatAck = Type.Union([
  Type.Object({ ok: Type.Literal(true), serverTime: Type.String({ format: 'date-time' }) }),
  AckError,
]);
const Ack = Type.Union([AckOk, AckError]);

const DeadLetterEntry = Type.Object(
  {
    reason: Type.String({
      description: 'invalid-json | invalid-envelope | invalid-data | unknown-type | max-deliveries | ...',
    }),
    detail: Type.String(),
    stream: Type.String({ description: 'The stream the entry came from.' }),
    group: Type.String(),
    entryId: Type.String(),
    raw: Type.String({ description: 'The original envelope field, verbatim.' }),
  },
  { additionalProperties: true, description: 'Stream entry fields (flat strings), not an envelope.' },
);

const ref = (path: string) => ({ $ref: path });
const camel = (s: string) => s.replace(/[-.](\w)/g, (_, c: string) => c.toUpperCase());
const pascal = (s: string) => camel(s).replace(/^\w/, (c) => c.toUpperCase());

/** A bus message: the envelope with `type` fixed and `data` the event's schema. */
function envelopeOf(type: string, data: TSchema): JsonObject {
  const env = plainSchema(Envelope);
  const props = env.properties as JsonObject;
  props.type = { type: 'string', const: type };
  props.data = plainSchema(data);
  return env;
}

export interface AsyncApiOptions {
  version: string;
}

export function buildAsyncApiDocument({ version }: AsyncApiOptions): JsonObject {
  const schemas: JsonObject = {};
  const messages: JsonObject = {};
  const operations: JsonObject = {};

  // Socket.io: one channel, client→server events received by signaling (each with an ack reply),
  // server→client events sent by it.
  const socketMessages: JsonObject = {};
  // Each event: its payload schema, its message, and the message on the socket channel.
  const addEvents = (side: 'Client' | 'Server', events: Record<string, TSchema>, direction: string) => {
    for (const [event, schema] of Object.entries(events)) {
      const id = `${side}${pascal(event)}`;
      schemas[`${id}Payload`] = plainSchema(schema);
      messages[id] = { name: event, title: `${event} (${direction})`, payload: ref(`#/components/schemas/${id}Payload`) };
      socketMessages[id] = ref(`#/components/messages/${id}`);
    }
  };
  addEvents('Client', ClientEventSchemas, 'client → server');
  schemas.Ack = plainSchema(Ack);
  schemas.HeartbeatAck = plainSchema(HeartbeatAck);
  messages.Ack = { name: 'ack', title: 'Acknowledgement', payload: ref('#/components/schemas/Ack') };
  messages.HeartbeatAck = {
    name: 'ack',
    title: 'Heartbeat acknowledgement',
    payload: ref('#/components/schemas/HeartbeatAck'),
  };
  socketMessages.Ack = ref('#/components/messages/Ack');
  socketMessages.HeartbeatAck = ref('#/components/messages/HeartbeatAck');
  addEvents('Server', ServerEventSchemas, 'server → client');
  schemas.HandshakeAuth = plainSchema(HandshakeAuth);

  for (const event of Object.keys(ClientEventSchemas)) {
    const id = `Client${pascal(event)}`;
    operations[`receive${pascal(event)}`] = {
      action: 'receive',
      title: `Client sends ${event}`,
      channel: ref('#/channels/socket'),
      messages: [ref(`#/channels/socket/messages/${id}`)],
      reply: {
        channel: ref('#/channels/socket'),
        messages: [ref(`#/channels/socket/messages/${event === 'heartbeat' ? 'HeartbeatAck' : 'Ack'}`)],
      },
    };
  }
  for (const event of Object.keys(ServerEventSchemas)) {
    operations[`send${pascal(event)}`] = {
      action: 'send',
      title: `Server emits ${event}`,
      channel: ref('#/channels/socket'),
      messages: [ref(`#/channels/socket/messages/Server${pascal(event)}`)],
    };
  }

  // Push: the data messages the call service sends through FCM to phones with no socket.
  const pushMessages: JsonObject = {};
  for (const [type, schema] of Object.entries(PushSchemas)) {
    const id = `Push${pascal(type)}`;
    schemas[id] = plainSchema(schema);
    messages[id] = { name: type, title: `${type} (push data)`, payload: ref(`#/components/schemas/${id}`) };
    pushMessages[id] = ref(`#/components/messages/${id}`);
    operations[`push${pascal(type)}`] = {
      action: 'send',
      title: `Call service pushes ${type}`,
      channel: ref('#/channels/push'),
      messages: [ref(`#/channels/push/messages/${id}`)],
    };
  }

  // The bus: every event's envelope as a message, on its stream or its pub/sub channel.
  const busChannels: JsonObject = {};
  const streamMessages: Record<string, JsonObject> = {};
  schemas.Envelope = plainSchema(Envelope);
  for (const [type, data] of Object.entries(BusEvents) as [BusEventType, TSchema][]) {
    const id = `Bus${pascal(type)}`;
    schemas[id] = envelopeOf(type, data);
    messages[id] = { name: type, title: type, payload: ref(`#/components/schemas/${id}`) };
    const transport = busTransport[type];
    if (transport.kind === 'pubsub') {
      const channelId = `pubsub${pascal(type)}`;
      busChannels[channelId] = {
        address: channels.bus(type),
        title: `pub/sub ${type}`,
        description: `Redis pub/sub fan-out that may be lost (subscribers offline miss it). PUBLISH of the JSON envelope.`,
        servers: [ref('#/servers/bus')],
        messages: { [id]: ref(`#/components/messages/${id}`) },
      };
      operations[`publish${pascal(type)}`] = {
        action: 'send',
        channel: ref(`#/channels/${channelId}`),
        messages: [ref(`#/channels/${channelId}/messages/${id}`)],
      };
    } else {
      const entry = streamMessages[transport.stream] ?? {};
      entry[id] = ref(`#/components/messages/${id}`);
      streamMessages[transport.stream] = entry;
    }
  }
  schemas.DeadLetterEntry = plainSchema(DeadLetterEntry);
  messages.DeadLetterEntry = {
    name: 'dead-letter',
    title: 'Dead-lettered entry',
    payload: ref('#/components/schemas/DeadLetterEntry'),
  };
  streamMessages.deadLetter = { DeadLetterEntry: ref('#/components/messages/DeadLetterEntry') };
  for (const [name, address] of Object.entries(streams) as [keyof typeof streams, string][]) {
    const channelId = `stream${pascal(name)}`;
    const msgs = streamMessages[name] ?? {};
    busChannels[channelId] = {
      address,
      title: `stream ${address}`,
      description: `Redis Stream: XADD with one field "envelope" holding the JSON envelope${name === 'deadLetter' ? ' (dead letters use flat fields instead)' : ''}. ${streamNotes[name]}`,
      servers: [ref('#/servers/bus')],
      messages: msgs,
    };
    operations[`append${pascal(name)}`] = {
      action: 'send',
      channel: ref(`#/channels/${channelId}`),
      messages: Object.keys(msgs).map((m) => ref(`#/channels/${channelId}/messages/${m}`)),
    };
  }

  const doc: { [key: string]: JsonValue } = {
    asyncapi: '3.0.0',
    info: {
      title: 'VoIP signaling and bus',
      version,
      description: [
        'Generated from packages/contracts by `pnpm docs:gen`; do not edit by hand.',
        '',
        'The Socket.io channel (path /socket.io, default namespace) is what clients use, through Nginx.',
        'Operations on it are written from the signaling service: it receives client events (each answered',
        'by an ack) and sends server events. Handshake: `auth` carries the HandshakeAuth object; a refused',
        `connection gets connect_error with data.code one of ${ConnectErrorCode.join(', ')}.`,
        '',
        'The Redis bus is internal: pub/sub channels for fan-out that may be lost, streams with consumer',
        'groups for events that must not be. Every message is the envelope {v, type, id, source, at, data}.',
      ].join('\n'),
    },
    defaultContentType: 'application/json',
    servers: {
      public: {
        host: 'localhost',
        protocol: 'wss',
        pathname: '/socket.io',
        description:
          'Socket.io over WebSocket (or HTTP long-polling) with TLS through Nginx; VOIP_PORT sets the port (443 with docker-compose, 8443 with the dev stack).',
      },
      push: {
        host: 'fcm.googleapis.com',
        protocol: 'https',
        description: 'Firebase Cloud Messaging HTTP v1 (FCM_BASE_URL), called by the call service.',
      },
      bus: {
        host: 'redis:6379',
        protocol: 'redis',
        description: 'The Redis every service shares (REDIS_URL).',
      },
    },
    channels: {
      socket: {
        address: '/socket.io',
        title: 'Socket.io signaling',
        servers: [ref('#/servers/public')],
        messages: socketMessages,
        'x-handshake-auth': ref('#/components/schemas/HandshakeAuth'),
      },
      push: {
        address: 'fcm:messages:send',
        title: 'Push (FCM HTTP v1 data messages)',
        servers: [ref('#/servers/push')],
        description: [
          'What a phone with no connected socket receives. Data only (no `notification`: the app draws its',
          'own call UI), every value a string, `android.priority: HIGH`, `android.ttl` = seconds until',
          '`expiresAt` (a phone that was offline longer never sees it). `incoming-call` goes to every registered',
          'device of a callee with no connected device when the call starts ringing; `expiresAt` is the ring',
          'deadline. `call-cancelled` goes to the devices it reached, when the call is answered elsewhere,',
          `cancelled, rejected or rings out before they connect; its \`expiresAt\` is ${CANCEL_PUSH_TTL_MS / 1000} s after it is sent.`,
          'A woken phone that connects after the end anyway gets `call-ended` right after `session`.',
          'Android: FirebaseMessagingService.onMessageReceived (see docs/ANDROID.md). iOS: the same FCM',
          'message carries APNs headers (priority 10, push type background, content-available), which iOS',
          'throttles and never delivers to a killed app; a ringing iPhone needs a PushKit VoIP push over APNs',
          'with CallKit, which this product does not send yet.',
        ].join('\n'),
        messages: pushMessages,
      },
      ...busChannels,
    },
    operations,
    components: { schemas, messages },
  };
  return doc;
}
