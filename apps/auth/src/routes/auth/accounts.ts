// Registered accounts: register, login, and /me (which also answers for guests).
import { AuthResponse, LoginBody, MeResponse, RegisterBody } from '@voip/contracts/auth';
import { errorResponses } from '@voip/contracts/common';
import type { App } from '@voip/kit/app';
import { principalOf } from '@voip/kit/authenticate';
import { AppError } from '@voip/kit/errors';
import type { FastifyBaseLogger } from 'fastify';
import { ulid } from 'ulid';
import { hashPassword } from '../../accounts/passwords.js';
import { UsernameTakenError, type UserRecord } from '../../accounts/user-repository.js';
import { normalizeUsername } from '../../accounts/usernames.js';
import { guestMe, toAuthUser, userMe } from '../../accounts/views.js';
import { enforce } from '../../throttling/throttles.js';

export async function accountRoutes(app: App) {
  const { users, guests, passwords, events } = app.accounts;

  /** user.registered must reach the stream; when it could not, the next login tries again. */
  async function announce(user: UserRecord, log: FastifyBaseLogger) {
    try {
      await events.userRegistered(user);
      await users.markAnnounced(user.id);
    } catch (err) {
      log.error({ err, userId: user.id }, 'could not append user.registered; will retry at next login');
    }
  }

  async function signIn(user: UserRecord) {
    const t = await app.sessionService.issue({
      userId: user.id,
      kind: user.kind,
      displayName: user.displayName,
    });
    return {
      sessionId: t.sessionId,
      body: {
        user: toAuthUser(user),
        accessToken: t.accessToken,
        refreshToken: t.refreshToken,
        expiresIn: t.expiresIn,
      },
    };
  }

  // Register and login validate a JSON body (400, 413, 415) and are throttled (429); each adds its own
  // refusal: 409 for a taken username, 401 for wrong credentials.
  const credentialErrors = (refusal: 401 | 409) => errorResponses(400, refusal, 413, 415, 429);

  app.post(
    '/register',
    { schema: { body: RegisterBody, response: { 201: AuthResponse, ...credentialErrors(409) } } },
    async (request, reply) => {
      enforce(
        reply,
        [await app.throttles.register(request.ip)],
        'too many registrations from this address, try again later',
      );
      const { username, password, displayName } = request.body;
      // Cheap answer first; the unique index still decides a race between two registrations.
      if (await users.findByUsername(username)) throw new AppError('USERNAME_TAKEN', 'username is taken');
      let user: UserRecord;
      try {
        user = await users.insert({
          id: ulid(),
          username,
          displayName,
          // Nobody registers as admin: an operator grants it by id (`pnpm admin grant`).
          kind: 'user',
          passwordHash: await hashPassword(password),
          createdAt: new Date(),
        });
      } catch (err) {
        if (err instanceof UsernameTakenError) throw new AppError('USERNAME_TAKEN', 'username is taken');
        throw err;
      }
      await announce(user, request.log);
      const { sessionId, body } = await signIn(user);
      request.log.info({ userId: user.id, sid: sessionId, kind: user.kind }, 'user registered');
      return reply.code(201).send(body);
    },
  );

  app.post(
    '/login',
    { schema: { body: LoginBody, response: { 200: AuthResponse, ...credentialErrors(401) } } },
    async (request, reply) => {
      const { username, password } = request.body;
      const throttleId = normalizeUsername(username);
      enforce(
        reply,
        await app.throttles.loginAttempt(throttleId, request.ip),
        'too many login attempts, try again later',
      );
      const found = await users.findByUsername(username);
      // Unknown users are checked against a dummy hash: same work, same answer as a wrong password.
      const ok = await passwords.check(found?.passwordHash ?? null, password);
      if (!found || !ok) {
        request.log.info({ securityEvent: 'login-failed' }, 'login failed');
        throw new AppError('INVALID_CREDENTIALS', 'invalid username or password');
      }
      await app.throttles.loginSucceeded(throttleId, request.ip);
      const user = found;
      if (!user.announced) await announce(user, request.log);
      const { sessionId, body } = await signIn(user);
      request.log.info({ userId: user.id, sid: sessionId }, 'logged in');
      return body;
    },
  );

  app.get(
    '/me',
    { preHandler: app.requireAuth(), schema: { response: { 200: MeResponse, ...errorResponses(401, 404) } } },
    async (request) => {
      const principal = principalOf(request);
      if (principal.kind === 'guest') {
        const guest = await guests.findById(principal.id);
        if (!guest) throw new AppError('USER_NOT_FOUND', 'guest no longer exists');
        await guests
          .touch(guest.id, new Date())
          .catch((err: unknown) =>
            request.log.warn({ err, userId: guest.id }, 'could not update guest lastSeenAt'),
          );
        return guestMe(guest, principal.sessionId);
      }
      const user = await users.findById(principal.id);
      if (!user) throw new AppError('USER_NOT_FOUND', 'user no longer exists');
      return userMe(user, principal.sessionId, principal.kind === 'service' ? user.kind : principal.kind);
    },
  );
}
