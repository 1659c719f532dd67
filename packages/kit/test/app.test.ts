import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DisplayName, Id } from '@voip/contracts/common';
import { createApp } from '../src/app.js';

const app = createApp({ service: 'app-test', logLevel: 'silent', bodyLimit: 1024 });

beforeAll(async () => {
  app.post(
    '/echo',
    {
      schema: {
        body: Type.Object({ name: Type.String({ maxLength: 64 }) }, { additionalProperties: false }),
      },
    },
    async (request) => request.body,
  );
  app.get(
    '/people/:id',
    { schema: { params: Type.Object({ id: Id }), querystring: Type.Object({ name: Type.Optional(DisplayName) }) } },
    async (request) => request.params,
  );
  app.readiness.set('always-down', () => {
    throw new Error('down for the test');
  });
  await app.ready();
});
afterAll(() => app.close());

const post = (payload: string, contentType = 'application/json') =>
  app.inject({ method: 'POST', url: '/echo', payload, headers: { 'content-type': contentType } });

describe('createApp request handling', () => {
  it('echoes a valid body', async () => {
    const res = await post('{"name":"alice"}');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ name: 'alice' });
  });

  it('answers a body over the limit with 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await post(JSON.stringify({ name: 'x'.repeat(2048) }));
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ error: { code: 'PAYLOAD_TOO_LARGE', message: expect.any(String) } });
  });

  it('refuses a body declared over the limit with 413 and keeps the connection (no reset for a proxy to meet)', async () => {
    const server = createApp({ service: 'body-limit-test', logLevel: 'silent', bodyLimit: 1024 });
    server.post('/echo', async (request) => request.body);
    await server.listen({ port: 0, host: '127.0.0.1' });
    const { port } = server.server.address() as AddressInfo;
    try {
      // Two requests on one connection: a 70 KB body (refused), then a small one (answered).
      const big = JSON.stringify({ name: 'x'.repeat(70 * 1024) });
      const small = '{"name":"a"}';
      const request = (body: string) =>
        `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      const text = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write(request(big) + request(small)));
        let got = '';
        socket.setEncoding('utf8');
        socket.on('data', (d: string) => {
          got += d;
          if (got.includes('{"name":"a"}')) socket.end();
        });
        socket.on('close', () => resolve(got));
        socket.on('error', reject);
      });
      expect([...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1])).toEqual(['413', '200']);
      expect(text.split('\r\n\r\n')[0]).not.toMatch(/connection: close/i);
      expect(text).toContain('"code":"PAYLOAD_TOO_LARGE"');
    } finally {
      await server.close();
    }
  });

  it.each(['{"name":', '{name: "alice"}', '{"name":"a"}}'])(
    'answers invalid JSON %j with 400 BAD_REQUEST',
    async (payload) => {
      const res = await post(payload);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({ error: { code: 'BAD_REQUEST', message: expect.any(String) } });
    },
  );

  it('treats an empty JSON body as no body: the route schema answers 400 VALIDATION_FAILED', async () => {
    for (const payload of ['', '  ']) {
      const res = await post(payload);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
    }
  });

  it('does not coerce JSON body types (a number or an array where a string belongs is a 400)', async () => {
    for (const body of [{ name: 42 }, { name: ['alice'] }, { name: true }]) {
      const res = await post(JSON.stringify(body));
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
    }
  });

  it('answers schema violations and operator injection with 400 VALIDATION_FAILED', async () => {
    for (const body of [
      { name: { $ne: null } },
      { name: 'a', admin: true },
      { name: 'x'.repeat(65) },
      {},
      null,
      [],
    ]) {
      const res = await post(JSON.stringify(body));
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: expect.any(Array) });
    }
  });

  it('says a broken pattern in words (the schema\'s description), without the regex or the value', async () => {
    const id = await app.inject({ url: '/people/al%20ice%24' });
    expect(id.statusCode).toBe(400);
    expect(id.json().error).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: 'params/id must be an id: letters, digits, _ or -',
      details: [{ path: '/id', message: 'must be an id: letters, digits, _ or -' }],
    });
    const name = await app.inject({ url: '/people/alice?name=%1B%5B2Jcall%20me' });
    expect(name.statusCode).toBe(400);
    const { message } = name.json().error;
    expect(message).toBe('querystring/name must be a name that is not only white space and has no control characters');
    expect(JSON.stringify(name.json())).not.toContain('call me');
    expect(JSON.stringify([id.json(), name.json()])).not.toMatch(/\^|u001F/);
    expect((await app.inject({ url: '/people/alice?name=Zo%C3%AB' })).statusCode).toBe(200);
  });

  it('answers a non-JSON content type with 415', async () => {
    const res = await post('name=alice', 'application/x-www-form-urlencoded');
    expect(res.statusCode).toBe(415);
    expect(res.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('keeps a sane x-request-id and replaces an insane one', async () => {
    const kept = await app.inject({ url: '/health', headers: { 'x-request-id': 'abc-123' } });
    expect(kept.headers['x-request-id']).toBe('abc-123');
    const replaced = await app.inject({
      url: '/health',
      headers: { 'x-request-id': 'bad id\u0001<script>' },
    });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers /ready with 503 and the failing check when a dependency is down', async () => {
    const res = await app.inject('/ready');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'not-ready', checks: { 'always-down': 'down for the test' } });
  });
});

describe('createApp errors before a request exists', () => {
  // Node's HTTP parser refuses these before Fastify routes anything; the answer still has API.md's shape.
  const raw = async (request: string) => {
    const server = createApp({ service: 'client-error-test', logLevel: 'silent' });
    await server.listen({ port: 0, host: '127.0.0.1' });
    const { port } = server.server.address() as AddressInfo;
    try {
      return await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.end(request));
        let text = '';
        socket.setEncoding('utf8');
        socket.on('data', (d: string) => {
          text += d;
        });
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
    } finally {
      await server.close();
    }
  };
  const parse = (text: string) => {
    const [head = '', body = ''] = text.split('\r\n\r\n');
    return { status: Number(head.split(' ')[1]), head, body: JSON.parse(body) as unknown };
  };

  it('answers headers over the limit with 431 HEADERS_TOO_LARGE', async () => {
    const res = parse(await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Padding: ${'p'.repeat(20_000)}\r\n\r\n`));
    expect(res.status).toBe(431);
    expect(res.head).toMatch(/content-type: application\/json/i);
    expect(res.body).toEqual({ error: { code: 'HEADERS_TOO_LARGE', message: expect.any(String) } });
  });

  it('answers a malformed request with 400 BAD_REQUEST', async () => {
    const res = parse(await raw('NOT HTTP AT ALL\r\n\r\n'));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'BAD_REQUEST', message: expect.any(String) } });
  });
});

describe('NUL (U+0000) in any input', () => {
  // The local store (PostgreSQL under FerretDB) cannot hold one: it was a 500 from every service that
  // stored a name (register, guest, PATCH /me); now it is the same 400 before any route runs.
  it('is a 400 VALIDATION_FAILED in a body string, a body key and a query string', async () => {
    for (const res of [
      await post('{"name":"a\\u0000b"}'),
      await post('{"name":"a","x\\u0000":1}'),
      await app.inject({ method: 'GET', url: '/health?q=%00' }),
    ]) {
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({
        error: { code: 'VALIDATION_FAILED', message: expect.stringContaining('must not contain NUL') },
      });
    }
    expect((await post('{"name":"a\\u0001b"}')).statusCode).toBe(200);
  });
});
