// REST DTOs of the user service (/api/users).
import { type Static, Type } from '@sinclair/typebox';
import { DisplayName, Id, IsoDateTime, Nullable, OneOf, PrincipalKind } from './common.js';

export const PresenceStatus = OneOf('online', 'busy', 'offline');
export type PresenceStatus = Static<typeof PresenceStatus>;
export const Presence = Type.Object(
  { status: PresenceStatus, lastSeenAt: Nullable(IsoDateTime) },
  { additionalProperties: false },
);
export type Presence = Static<typeof Presence>;

export const Profile = Type.Object(
  {
    id: Id,
    username: Type.Optional(Type.String()),
    displayName: Type.String(),
    avatarUrl: Nullable(Type.String()),
    kind: PrincipalKind,
    presence: Type.Optional(Presence),
  },
  { additionalProperties: false },
);
export type Profile = Static<typeof Profile>;

/**
 * Who may ring the user: `everyone` (any account or guest), `registered` (any registered account, and
 * guests the user has added as contacts: "invited"), `contacts` (only the user's contacts, guests among
 * them), `nobody`. Default: `registered` for accounts, `everyone` for guests (see apps/user README).
 */
export const IncomingCalls = OneOf('everyone', 'registered', 'contacts', 'nobody');
export type IncomingCalls = Static<typeof IncomingCalls>;

/** Only https avatars: a client puts this URL in an <img> or a WebView; no javascript:, data: or http:. */
export const AvatarUrl = Type.String({
  format: 'uri',
  maxLength: 2048,
  pattern: '^https://[^\\s]+$',
  description: 'an https URL without spaces',
});

export const OwnProfile = Type.Composite(
  [
    Profile,
    Type.Object({
      doNotDisturb: Type.Boolean(),
      incomingCalls: IncomingCalls,
      createdAt: IsoDateTime,
      updatedAt: IsoDateTime,
    }),
  ],
  { additionalProperties: false },
);
export type OwnProfile = Static<typeof OwnProfile>;

export const PatchMeBody = Type.Object(
  {
    displayName: Type.Optional(DisplayName),
    avatarUrl: Type.Optional(Nullable(AvatarUrl)),
    doNotDisturb: Type.Optional(Type.Boolean()),
    incomingCalls: Type.Optional(IncomingCalls),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type PatchMeBody = Static<typeof PatchMeBody>;

export const UserIdParams = Type.Object({ userId: Id }, { additionalProperties: false });
export const IdParams = Type.Object({ id: Id }, { additionalProperties: false });

export const SearchQuery = Type.Object(
  {
    q: Type.String({ minLength: 1, maxLength: 64 }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    includeGuests: Type.Optional(Type.Boolean({ default: false })),
  },
  { additionalProperties: false },
);
export const SearchResponse = Type.Object(
  { items: Type.Array(Profile), nextCursor: Nullable(Type.String()) },
  { additionalProperties: false },
);

/** `ids` is a comma-separated list; room for 200 ids of the maximum Id length (the service caps the count). */
export const PresenceQuery = Type.Object(
  { ids: Type.String({ minLength: 1, maxLength: 13_000 }) },
  { additionalProperties: false },
);
export const PresenceMap = Type.Record(Type.String(), Presence);

export const Contact = Type.Object(
  { userId: Id, displayName: Type.String(), addedAt: IsoDateTime, presence: Type.Optional(Presence) },
  { additionalProperties: false },
);
export const ContactsResponse = Type.Object({ items: Type.Array(Contact) }, { additionalProperties: false });

export const Block = Type.Object({ userId: Id, blockedAt: IsoDateTime }, { additionalProperties: false });
export const BlocksResponse = Type.Object({ items: Type.Array(Block) }, { additionalProperties: false });

export const DevicePlatform = OneOf('android', 'ios', 'web');
export const DeviceParams = Type.Object(
  {
    deviceId: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$', description: 'letters, digits, _ . : or -' }),
  },
  { additionalProperties: false },
);
export const PutDeviceBody = Type.Object(
  // A push token (FCM, APNs) is printable ASCII, no spaces or control characters (a NUL, like in any
  // input, is refused before this by nulPath in validate.ts).
  {
    platform: DevicePlatform,
    pushToken: Type.String({
      minLength: 1,
      maxLength: 4096,
      pattern: '^[\\x21-\\x7E]+$',
      description: 'printable ASCII without spaces',
    }),
  },
  { additionalProperties: false },
);
export type PutDeviceBody = Static<typeof PutDeviceBody>;
export const Device = Type.Object(
  { deviceId: Type.String(), platform: DevicePlatform, pushToken: Type.String(), updatedAt: IsoDateTime },
  { additionalProperties: false },
);
export const DevicesResponse = Type.Object({ items: Type.Array(Device) }, { additionalProperties: false });

export const SyncQuery = Type.Object(
  {
    since: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  },
  { additionalProperties: false },
);
export const SyncChange = Type.Object(
  {
    entity: OneOf('contact', 'block', 'profile', 'call'),
    op: OneOf('upsert', 'delete'),
    id: Type.String(),
    data: Type.Optional(Type.Unknown()),
    at: IsoDateTime,
  },
  { additionalProperties: false },
);
export const SyncResponse = Type.Object(
  { changes: Type.Array(SyncChange), cursor: Type.String(), hasMore: Type.Boolean() },
  { additionalProperties: false },
);
