// What a stranger can send: operator and prototype-pollution keys in every JSON body and query of the
// public route table, huge and deeply nested bodies and socket messages, and property-based fuzzing
// (fast-check) of every REST route and every socket event from the contracts, against the running
// stack. The rules: never a 5xx, never a crash or an unhandled rejection, every refusal in API.md's shape.
import { type PublicRoute, publicRoutes } from '@voip/contracts/public-routes';
import { ClientEventSchemas, HandshakeAuth } from '@voip/contracts/socket';
import fc from 'fast-check';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Hints, HOSTILE_KEYS, hostile, hostileQuery, valid, withKey } from './support/arbitrary.js';
import {
  type Account,
  type AttackStack,
  type ClientSocket,
  type HttpResult,
  isAck,
  isApiError,
  sleep,
  startAttackStack,
} from './support/attack-stack.js';
import { answer, ring } from './support/calls.js';

/** Fuzz runs per REST route and per socket event: enough to find shapes, small enough for ~1 min. */
const RUNS = Number(process.env.SECURITY_FUZZ_RUNS ?? 25);

const refusal = (res: HttpResult, what: string) => {
  expect(res.status, `${what}: ${res.status} ${res.text.slice(0, 300)}`).toBeLessThan(500);
  if (res.status >= 400) {
    expect(isApiError(res.body), `${what}: not API.md's error shape: ${res.text.slice(0, 300)}`).toBe(true);
    expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  }
  expect(res.text).not.toMatch(/\n\s+at .+:\d+:\d+/); // never a stack trace
};

const sample = <T>(arb: fc.Arbitrary<T>, seed: number): T => fc.sample(arb, { numRuns: 1, seed })[0] as T;

describe('input attacks', () => {
  let as: AttackStack;
  let fred: Account;
  let gina: Account;
  let other: Account;
  let hints: Hints;
  let fredSocket: ClientSocket;
  let ginaSocket: ClientSocket;
  let liveCallId: string;

  /** A request as `who` would make it for `route`, with `path`, `query` and `body` filled in. */
  const send = (
    route: PublicRoute,
    who: Account | null,
    path: string,
    query: string,
    body?: unknown,
    raw?: string,
  ) =>
    as.http(route.method, `${path}${query}`, {
      ...(route.access !== 'none' && who ? { token: who.accessToken } : {}),
      ...(raw !== undefined ? { rawBody: raw } : body !== undefined ? { body } : {}),
      // Anonymous routes from a fresh address each time, so the per-address limits do not end the test.
      from: route.access === 'none' || !who ? as.nextAddress() : who.from,
    });
  const pathOf = (route: PublicRoute, seed: number) =>
    route.url.replace(/:([A-Za-z]+)/g, (_m, name: string) => {
      const schema = route.schema.params as { properties?: Record<string, unknown> } | undefined;
      const v = sample(valid((schema?.properties?.[name] ?? {}) as never, hints, name), seed);
      return encodeURIComponent(String(v));
    });

  beforeAll(async () => {
    as = await startAttackStack();
    [fred, gina, other] = await Promise.all([as.register('Fred'), as.register('Gina'), as.register('Other')]);
    await as.befriend(fred, gina);
    [fredSocket, ginaSocket] = await Promise.all([as.connect(fred), as.connect(gina)]);
    liveCallId = await ring(as, fred, gina, fredSocket, ginaSocket);
    await answer(liveCallId, fredSocket, ginaSocket);
    hints = {
      callId: [liveCallId],
      calleeId: [gina.id, other.id],
      userId: [gina.id, other.id, fred.id],
      id: [gina.id, other.id],
      guestId: [fred.id],
      ids: [`${gina.id},${other.id}`],
      username: [fred.username!, gina.username!],
    };
  });

  afterAll(async () => {
    await as?.stop();
  });

  describe('operator and prototype-pollution keys in every JSON body', () => {
    const withBody = publicRoutes.filter((r) => r.schema.body);

    it.each(withBody.map((r) => [`${r.method} ${r.url}`, r] as const))('%s', async (_name, route) => {
      const good = sample(valid(route.schema.body!, hints), 7) as Record<string, unknown>;
      const path = pathOf(route, 7);
      const bodies: [string, unknown][] = [];
      for (const key of Object.keys(good)) {
        bodies.push([`${key}: {$ne: null}`, withKey(good, key, { $ne: null })]);
        bodies.push([`${key}: {$gt: ""}`, withKey(good, key, { $gt: '' })]);
        bodies.push([`${key}: {$regex: ".*"}`, withKey(good, key, { $regex: '.*' })]);
        bodies.push([`${key}: [value]`, withKey(good, key, [good[key]])]);
      }
      for (const key of HOSTILE_KEYS)
        bodies.push([`extra ${key}`, withKey(good, key, { kind: 'admin', polluted: true })]);
      bodies.push([
        'constructor.prototype',
        withKey(good, 'constructor', { prototype: { polluted: true, kind: 'admin' } }),
      ]);
      bodies.push(['an array', [good]]);
      bodies.push(['a string', 'admin']);
      for (const [what, body] of bodies) {
        const res = await send(route, fred, path, '', body);
        refusal(res, what);
        expect(res.status, `${what} was accepted: ${res.text.slice(0, 200)}`).toBe(400);
      }
      // A __proto__ key written literally (JSON.stringify of an object cannot lose it).
      const raw = JSON.stringify(good).replace(/^\{/, '{"__proto__":{"kind":"admin","polluted":true},');
      const res = await send(route, fred, path, '', undefined, raw);
      refusal(res, 'literal __proto__');
      expect(res.status).toBe(400);
    });

    it('classic NoSQL log-in bypasses get 400, never a session', async () => {
      for (const body of [
        { username: { $ne: null }, password: { $ne: null } },
        { username: fred.username, password: { $ne: 'x' } },
        { username: { $regex: '.*' }, password: fred.password },
        { username: fred.username, password: { $gt: '' } },
      ]) {
        const res = await as.http('POST', '/api/auth/login', { body, from: as.nextAddress() });
        refusal(res, JSON.stringify(body));
        expect(res.status).toBe(400);
        expect(res.text).not.toContain('accessToken');
      }
    });
  });

  describe('operator and prototype-pollution keys in every query', () => {
    const withQuery = publicRoutes.filter((r) => r.schema.querystring);

    it.each(withQuery.map((r) => [`${r.method} ${r.url}`, r] as const))('%s', async (_name, route) => {
      const good = sample(valid(route.schema.querystring!, hints), 3) as Record<string, unknown>;
      const keys = Object.keys(route.schema.querystring?.['properties'] ?? {});
      const base = new URLSearchParams(
        Object.entries(good).map(([k, v]) => [k, String(v)] as [string, string]),
      ).toString();
      const attempts: [string, string, 400 | 'any'][] = [];
      for (const key of keys) {
        attempts.push([`${key}[$ne]`, `${base}&${key}[$ne]=x`, 400]);
        attempts.push([`${key}[$regex]`, `${base}&${key}[$regex]=.*`, 400]);
        attempts.push([`${key}={"$ne":null}`, `${key}=${encodeURIComponent('{"$ne":null}')}`, 'any']);
        attempts.push([`${key} twice`, `${base}&${key}=a&${key}=b`, 'any']);
      }
      attempts.push(['__proto__[kind]', `${base}&__proto__[kind]=admin`, 400]);
      attempts.push(['__proto__', `${base}&__proto__=admin`, 'any']);
      attempts.push(['constructor[prototype][kind]', `${base}&constructor[prototype][kind]=admin`, 400]);
      attempts.push(['$where', `${base}&$where=1`, 400]);
      for (const [what, query, expected] of attempts) {
        const res = await send(route, fred, pathOf(route, 3), `?${query}`);
        refusal(res, what);
        if (route.access === 'admin') expect(res.status).toBe(403);
        else if (expected === 400)
          expect(res.status, `${what} was accepted: ${res.text.slice(0, 200)}`).toBe(400);
      }
    });

    it('a search for regex operators finds nothing but literal matches', async () => {
      for (const q of ['.*', '^', '.', '[a-z]', '(?:)', '\\w', '$', '|']) {
        const res = await as.http('GET', `/api/users/search?q=${encodeURIComponent(q)}`, {
          token: fred.accessToken,
          from: fred.from,
        });
        refusal(res, q);
        expect(res.status).toBe(200);
        expect(res.body.items, q).toEqual([]);
      }
    });

    it('left no trace on the accounts: still users, no polluted fields', async () => {
      for (const who of [fred, gina, other]) {
        const me = await as.http('GET', '/api/auth/me', { token: who.accessToken, from: who.from });
        expect(me.body.kind).toBe('user');
        const profile = await as.http('GET', '/api/users/me', { token: who.accessToken, from: who.from });
        expect(profile.status).toBe(200);
        expect(profile.text).not.toContain('polluted');
        expect(profile.body.kind).toBe('user');
      }
    });
  });

  describe('huge and deeply nested bodies', () => {
    const post = (raw: string | Buffer, path = '/api/users/me', method = 'PATCH') =>
      as.http(method, path, { token: fred.accessToken, from: fred.from, rawBody: raw });

    it('refuses bodies over the limits with 413 in the API shape (gateway below Nginx’s cap, Nginx above)', async () => {
      for (const size of [70 * 1024, 120 * 1024, 1024 * 1024, 8 * 1024 * 1024]) {
        const body = `{"displayName":"${'x'.repeat(size)}"}`;
        const res = await post(body);
        refusal(res, `${size} bytes`);
        expect(res.status, `${size} bytes`).toBe(413);
        expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
      }
      // Anonymous too, on the routes anyone may call.
      const res = await as.http('POST', '/api/auth/register', {
        rawBody: `{"username":"${'u'.repeat(200 * 1024)}"}`,
        from: as.nextAddress(),
      });
      expect(res.status).toBe(413);
      expect(isApiError(res.body)).toBe(true);
    });

    it('answers deeply nested JSON with 400, not a stack overflow', async () => {
      for (const depth of [1000, 10_000]) {
        for (const [open, close] of [
          ['{"a":', '}'],
          ['[', ']'],
        ] as const) {
          const raw = `{"displayName":${open.repeat(depth)}1${close.repeat(depth)}}`;
          if (raw.length > 60 * 1024) continue;
          for (const [method, path] of [
            ['PATCH', '/api/users/me'],
            ['POST', '/api/calls'],
            ['POST', '/api/auth/login'],
          ] as const) {
            const res = await post(raw, path, method);
            refusal(res, `${open} × ${depth} on ${path}`);
            expect(res.status).toBe(400);
          }
        }
      }
      const bareArray = await post(`${'['.repeat(30_000)}${']'.repeat(30_000)}`);
      refusal(bareArray, 'bare nested array');
      expect(bareArray.status).toBe(400);
    });

    it('answers URLs and headers too long for Nginx in the API shape, and lets the longest valid query through', async () => {
      // The presence query at its contract maximum: 200 ids of the longest Id (64 characters).
      const ids = Array.from(
        { length: 200 },
        (_, i) => `${String(i).padStart(3, '0')}${'u'.repeat(61)}`,
      ).join(',');
      const longest = await as.http('GET', `/api/users/presence?ids=${ids}`, {
        token: fred.accessToken,
        from: fred.from,
      });
      refusal(longest, 'presence with 200 ids of 64 characters');
      expect(longest.status, longest.text.slice(0, 200)).toBe(200);
      const tooLong = await as.http('GET', `/api/users/presence?ids=${'x'.repeat(40_000)}`, {
        token: fred.accessToken,
        from: fred.from,
      });
      refusal(tooLong, '40 000-character URL');
      expect(tooLong.status).toBe(414);
      const bigHeader = await as.http('GET', '/api/users/me', {
        token: fred.accessToken,
        from: fred.from,
        headers: { 'x-padding': 'p'.repeat(40_000) },
      });
      refusal(bigHeader, '40 000-character header');
      expect([400, 431]).toContain(bigHeader.status);
      const manyHeaders = await as.http('GET', '/api/users/me', {
        token: fred.accessToken,
        from: fred.from,
        headers: Object.fromEntries(
          Array.from({ length: 6 }, (_, i) => [`x-padding-${i}`, 'p'.repeat(7000)]),
        ),
      });
      refusal(manyHeaders, 'six 7000-character headers');
      expect([200, 400, 431]).toContain(manyHeaders.status);
    });

    it('refuses malformed JSON, wrong content types and lying content-lengths in the API shape', async () => {
      for (const raw of ['{', '{"displayName": "x",}', 'null', '"x"', '\u0000', 'x'.repeat(100)]) {
        const res = await post(raw);
        refusal(res, JSON.stringify(raw));
        expect(res.status).toBe(400);
      }
      for (const type of [
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
      ]) {
        const res = await as.http('PATCH', '/api/users/me', {
          token: fred.accessToken,
          from: fred.from,
          rawBody: 'displayName=x',
          headers: { 'content-type': type },
        });
        refusal(res, type);
        expect([400, 415]).toContain(res.status);
      }
    });

    it('closes a socket that sends a message over MAX_PAYLOAD_BYTES, and only that socket', async () => {
      const attacker = await as.connect(other);
      const closed = new Promise<string>((r) => attacker.once('disconnect', r));
      (attacker.emit as (e: string, p: unknown) => void)('renegotiate', {
        callId: liveCallId,
        description: { type: 'offer', sdp: 'x'.repeat(200 * 1024) },
      });
      expect(await closed).toBeTruthy();
      const nested = await as.connect(other);
      let deep: unknown = 1;
      for (let i = 0; i < 2000; i++) deep = { a: deep };
      const ack = await nested
        .timeout(20_000)
        .emitWithAck('ice-candidate', { callId: liveCallId, candidate: deep as never });
      expect(isAck(ack)).toBe(true);
      expect(ack).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
      expect(fredSocket.connected && ginaSocket.connected).toBe(true);
      nested.disconnect();
    });
  });

  describe('fuzzing every socket event (fast-check)', () => {
    it.each(Object.keys(ClientEventSchemas) as (keyof typeof ClientEventSchemas)[])('%s', async (event) => {
      // The fuzzer's own socket, from its own address: a caller and a callee of a live call, and a stranger.
      for (const who of [fred, gina, other]) {
        const socket = await as.connect(who, { from: as.nextAddress() });
        await fc.assert(
          fc.asyncProperty(hostile(ClientEventSchemas[event], hints), async (payload) => {
            const ack = await (
              socket.timeout(20_000).emitWithAck as (e: string, p: unknown) => Promise<unknown>
            )(event, payload);
            expect(isAck(ack), JSON.stringify(ack)).toBe(true);
            expect((ack as { error?: { code: string } }).error?.code).not.toBe('INTERNAL');
          }),
          { numRuns: RUNS, endOnFailure: true },
        );
        expect(socket.connected).toBe(true);
        socket.disconnect();
      }
    });

    it('the handshake auth: refused with a connect_error code of API.md, never a hang or a crash', async () => {
      const codes = ['UNAUTHORIZED', 'TOKEN_EXPIRED', 'RATE_LIMITED', 'SESSION_REVOKED', 'OVERLOADED'];
      await fc.assert(
        fc.asyncProperty(hostile(HandshakeAuth, { token: [other.accessToken] }), async (auth) => {
          const socket = io(as.base, {
            path: '/socket.io',
            transports: ['websocket'],
            reconnection: false,
            forceNew: true,
            timeout: 20_000,
            auth: (auth && typeof auth === 'object' && !Array.isArray(auth)
              ? auth
              : { token: auth }) as object,
            localAddress: as.nextAddress(),
          } as Parameters<typeof io>[1]);
          try {
            const outcome = await new Promise<{ ok: true } | { ok: false; code?: string; message: string }>(
              (resolve) => {
                socket.once('connect', () => resolve({ ok: true }));
                socket.once('connect_error', (err) =>
                  resolve({
                    ok: false,
                    code: (err as { data?: { code?: string } }).data?.code,
                    message: err.message,
                  }),
                );
              },
            );
            if (outcome.ok) expect((auth as { token?: unknown }).token).toBe(other.accessToken);
            else expect(codes, outcome.message).toContain(outcome.code);
          } finally {
            socket.disconnect();
          }
        }),
        { numRuns: RUNS, endOnFailure: true },
      );
    });

    it('malformed engine.io and Socket.io packets over long-polling get a 4xx, never a 5xx', async () => {
      const polling = (method: string, query: string, rawBody?: string) =>
        as.http(method, `/socket.io/?EIO=4&transport=polling${query}`, {
          from: other.from,
          ...(rawBody !== undefined
            ? { rawBody, headers: { 'content-type': 'text/plain;charset=UTF-8' } }
            : {}),
        });
      const open = await polling('GET', '');
      expect(open.status, open.text).toBe(200);
      const sid = JSON.parse(open.text.slice(1)).sid as string;
      for (const body of [
        'xyz',
        '4',
        '40{"token":1}',
        '42["call-user",',
        '42["heartbeat",{}]',
        '4\u001e4\u001e4',
        '\u001e'.repeat(5000),
        `42["renegotiate",${'['.repeat(5000)}${']'.repeat(5000)}]`,
        '4'.repeat(200 * 1024),
      ]) {
        const res = await polling('POST', `&sid=${sid}`, body);
        expect(res.status, `${body.slice(0, 40)}: ${res.text.slice(0, 200)}`).toBeLessThan(500);
      }
      for (const query of [
        '&sid=nope',
        '&sid=',
        `&sid=${'s'.repeat(5000)}`,
        '&EIO=9',
        '&transport=flash&sid=x',
      ]) {
        const res = await polling('GET', query);
        expect(res.status, `${query.slice(0, 40)}: ${res.text.slice(0, 200)}`).toBeLessThan(500);
      }
      // A fresh, well-behaved socket from the same address is still served.
      const socket = await as.connect(other, { from: other.from });
      expect(await socket.timeout(20_000).emitWithAck('heartbeat', {})).toMatchObject({ ok: true });
      socket.disconnect();
    });

    it('unknown events, events without an ack and odd argument lists', async () => {
      const socket = await as.connect(other, { from: as.nextAddress() });
      const reserved = new Set([
        'connect',
        'connect_error',
        'disconnect',
        'disconnecting',
        'newListener',
        'removeListener',
      ]);
      await fc.assert(
        fc.asyncProperty(
          fc
            .string({ minLength: 1, maxLength: 80 })
            .filter((e) => !reserved.has(e) && !(e in ClientEventSchemas)),
          fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
          async (event, args) => {
            const ack = await (
              socket.timeout(20_000).emitWithAck as (e: string, ...a: unknown[]) => Promise<unknown>
            )(event, ...args);
            expect(ack).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
          },
        ),
        { numRuns: RUNS * 2, endOnFailure: true },
      );
      // Known events with no ack, or with extra arguments: nothing to answer, nothing must break.
      for (const event of Object.keys(ClientEventSchemas)) {
        (socket.emit as (e: string, ...a: unknown[]) => void)(event, { callId: liveCallId });
        (socket.emit as (e: string, ...a: unknown[]) => void)(event, 1, 2, 3);
        (socket.emit as (e: string, ...a: unknown[]) => void)(event);
      }
      await sleep(500);
      const ack = await socket.timeout(20_000).emitWithAck('heartbeat', {});
      expect(ack).toMatchObject({ ok: true });
      socket.disconnect();
    });
  });

  describe('fuzzing every REST route (fast-check)', () => {
    // Routes that carry input; logout and logout-all carry none and would end the fuzzer's own session.
    const fuzzable = publicRoutes.filter((r) => r.schema.body || r.schema.querystring || r.schema.params);

    it.each(fuzzable.map((r) => [`${r.method} ${r.url}`, r] as const))('%s', async (_name, route) => {
      const params = route.schema.params
        ? hostile(route.schema.params, hints).map((p) =>
            route.url.replace(/:([A-Za-z]+)/g, (_m, name: string) => {
              const v = p && typeof p === 'object' ? (p as Record<string, unknown>)[name] : p;
              return encodeURIComponent(typeof v === 'string' ? v : (JSON.stringify(v) ?? 'x'));
            }),
          )
        : fc.constant(route.url);
      const body = route.schema.body ? hostile(route.schema.body, hints) : fc.constant(undefined);
      await fc.assert(
        fc.asyncProperty(
          params,
          hostileQuery(route.schema.querystring, hints),
          body,
          async (path, query, payload) => {
            const res = await send(route, fred, path, query, payload);
            refusal(res, `${route.method} ${path}${query} ${JSON.stringify(payload)?.slice(0, 200)}`);
            for (const key of ['accessToken', 'refreshToken'])
              if (res.body?.[key]) as.remember(key, res.body[key]);
            const password = (payload as { password?: unknown } | undefined)?.password;
            // Only passwords unlike any other input (a run of one letter would "leak" through a fuzzed URL).
            if (res.status < 300 && typeof password === 'string' && new Set(password).size >= 8)
              as.remember('password', password);
          },
        ),
        { numRuns: RUNS, endOnFailure: true },
      );
    });
  });

  it('services are alive, logged no unhandled error and no 5xx, and no secret reached any log', async () => {
    await as.assertAlive();
    expect(as.logLinesWith(new RegExp(fred.id)).length).toBeGreaterThan(0);
    expect(as.logLinesWith(/unhandled/i)).toEqual([]);
    // Nothing answered 500 or failed inside a socket handler (both log at error level, 50).
    expect(as.logLinesWith(/"level":(50|60)/)).toEqual([]);
    expect(as.leakedSecrets()).toEqual([]);
  });
});
