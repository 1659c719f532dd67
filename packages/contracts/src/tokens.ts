// The claims an access token carries; every service verifies them the same way (see @voip/kit/jwt).
import { type Static, Type } from '@sinclair/typebox';
import { Id, PrincipalKind } from './common.js';

export const AccessTokenClaims = Type.Object({
  sub: Id,
  kind: PrincipalKind,
  sid: Id,
  name: Type.Optional(Type.String()),
  iat: Type.Integer(),
  exp: Type.Integer(),
  iss: Type.Optional(Type.String()),
  aud: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
});
export type AccessTokenClaims = Static<typeof AccessTokenClaims>;

/** What a verified request knows about its caller. */
export interface Principal {
  id: string;
  kind: PrincipalKind | 'service';
  sessionId: string;
  displayName?: string;
}

export const TOKEN_ISSUER = 'voip-auth';
export const TOKEN_AUDIENCE = 'voip';
/** Header carrying the internal service credential (never routed by Nginx). */
export const INTERNAL_TOKEN_HEADER = 'x-internal-token';
