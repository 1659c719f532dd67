// REST DTOs of the auth service (/api/auth).
import { type Static, Type } from '@sinclair/typebox';
import { DisplayName, Id, IsoDateTime, PrincipalKind } from './common.js';

export const Username = Type.String({
  minLength: 3,
  maxLength: 32,
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$',
  description: 'letters, digits, _ . or -, starting with a letter or digit',
});
export const Password = Type.String({ minLength: 8, maxLength: 256 });

export const RegisterBody = Type.Object(
  { username: Username, password: Password, displayName: DisplayName },
  { additionalProperties: false },
);
export type RegisterBody = Static<typeof RegisterBody>;

export const LoginBody = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 256 }) },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const RefreshBody = Type.Object(
  { refreshToken: Type.String({ minLength: 16, maxLength: 256 }) },
  { additionalProperties: false },
);
export type RefreshBody = Static<typeof RefreshBody>;

export const GuestBody = Type.Object({ displayName: DisplayName }, { additionalProperties: false });
export type GuestBody = Static<typeof GuestBody>;

export const AuthUser = Type.Object({
  id: Id,
  username: Type.String(),
  displayName: Type.String(),
  kind: PrincipalKind,
  createdAt: IsoDateTime,
}, { additionalProperties: false });
export type AuthUser = Static<typeof AuthUser>;

export const TokenPair = Type.Object({
  accessToken: Type.String(),
  refreshToken: Type.String(),
  expiresIn: Type.Integer({ description: 'access token lifetime in seconds' }),
}, { additionalProperties: false });
export type TokenPair = Static<typeof TokenPair>;

export const AuthResponse = Type.Composite([Type.Object({ user: AuthUser }), TokenPair], { additionalProperties: false });
export type AuthResponse = Static<typeof AuthResponse>;

export const GuestInfo = Type.Object({ id: Id, displayName: Type.String() }, { additionalProperties: false });
export const GuestResponse = Type.Composite([Type.Object({ guest: GuestInfo }), TokenPair], { additionalProperties: false });
export type GuestResponse = Static<typeof GuestResponse>;

export const MeResponse = Type.Object({
  id: Id,
  kind: PrincipalKind,
  displayName: Type.String(),
  username: Type.Optional(Type.String()),
  sessionId: Id,
  createdAt: Type.Optional(IsoDateTime),
}, { additionalProperties: false });
export type MeResponse = Static<typeof MeResponse>;

export const CleanupBeforeQuery = Type.Object({ before: IsoDateTime }, { additionalProperties: false });
export const DeletedCount = Type.Object({ deleted: Type.Integer({ minimum: 0 }) }, { additionalProperties: false });
export type DeletedCount = Static<typeof DeletedCount>;
export const GuestIdParams = Type.Object({ guestId: Id }, { additionalProperties: false });

// Session administration (admin token or internal credential) and "sign out everywhere".
export const SessionIdParams = Type.Object({ sessionId: Id }, { additionalProperties: false });
export const SessionOwnerParams = Type.Object({ userId: Id }, { additionalProperties: false });
export const RevokedCount = Type.Object({
  revoked: Type.Integer({ minimum: 0, description: 'sessions that were live and are now revoked' }),
}, { additionalProperties: false });
export type RevokedCount = Static<typeof RevokedCount>;
