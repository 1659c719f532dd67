import { freePort } from '@voip/testkit/servers';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { AppError, httpError, isDependencyError, toErrorReply } from '../src/errors.js';
import { createRedis } from '../src/redis.js';

const named = (name: string, message = 'x') => Object.assign(new Error(message), { name });
const withCode = (code: string, statusCode: number, message = 'x') =>
  Object.assign(new Error(message), { code, statusCode });

describe('toErrorReply', () => {
  it('passes AppError through with its code, status and details', () => {
    expect(toErrorReply(new AppError('CALLEE_BUSY', 'callee is busy', { callId: 'c1' }))).toEqual({
      status: 409,
      code: 'CALLEE_BUSY',
      message: 'callee is busy',
      details: { callId: 'c1' },
    });
    expect(toErrorReply(httpError('NOT_FOUND', 'no such user'))).toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
    });
    expect(toErrorReply(new AppError('RATE_LIMITED', 'slow down'))).toMatchObject({ status: 429 });
  });

  it('maps schema validation to 400 VALIDATION_FAILED with the paths', () => {
    const err = Object.assign(new Error('body/username must be string'), {
      validation: [{ instancePath: '/username', message: 'must be string', params: { type: 'string' } }],
      statusCode: 400,
    });
    expect(toErrorReply(err)).toEqual({
      status: 400,
      code: 'VALIDATION_FAILED',
      message: 'body/username must be string',
      details: [{ path: '/username', message: 'must be string', params: { type: 'string' } }],
    });
  });

  it('maps body-size and media-type errors', () => {
    expect(toErrorReply(withCode('FST_ERR_CTP_BODY_TOO_LARGE', 413))).toMatchObject({
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    });
    expect(toErrorReply(withCode('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415))).toMatchObject({
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
  });

  it.each([
    named('MongoServerSelectionError', 'connect ECONNREFUSED 127.0.0.1:27017'),
    named('MongooseServerSelectionError'),
    named('MongoNetworkError'),
    named('MongoNotConnectedError'),
    named('MaxRetriesPerRequestError', 'Reached the max retries per request limit (which is 2).'),
    new Error('Connection is closed.'),
    new Error("Stream isn't writeable and enableOfflineQueue options is false"),
    new Error('connect ECONNREFUSED 127.0.0.1:6379'),
    named('MongooseError', 'Operation `users.findOne()` buffering timed out after 10000ms'),
  ])('maps a dependency failure (%s) to 503 UNAVAILABLE without its message', (err) => {
    expect(isDependencyError(err)).toBe(true);
    const reply = toErrorReply(err);
    expect(reply).toEqual({
      status: 503,
      code: 'UNAVAILABLE',
      message: 'a dependency is unavailable, try again',
    });
  });

  it('hides bugs behind 500 INTERNAL, whatever was thrown', () => {
    for (const thrown of [
      new TypeError("Cannot read properties of undefined (reading 'id')"),
      'a string',
      null,
      undefined,
      42,
    ]) {
      const reply = toErrorReply(thrown);
      expect(reply).toEqual({ status: 500, code: 'INTERNAL', message: 'internal error' });
    }
    expect(toErrorReply(withCode('SOMETHING', 502, 'upstream said no'))).toEqual({
      status: 502,
      code: 'INTERNAL',
      message: 'internal error',
    });
  });

  it('keeps the message of client errors from Fastify and names their code by status', () => {
    expect(toErrorReply(withCode('FST_ERR_X', 404, 'gone'))).toEqual({
      status: 404,
      code: 'NOT_FOUND',
      message: 'gone',
    });
    expect(toErrorReply(withCode('FST_ERR_X', 429, 'slow'))).toMatchObject({
      status: 429,
      code: 'RATE_LIMITED',
    });
    expect(toErrorReply(withCode('FST_ERR_X', 418, 'teapot'))).toMatchObject({
      status: 418,
      code: 'BAD_REQUEST',
    });
    expect(toErrorReply(withCode('FST_ERR_X', 200, 'ok?'))).toMatchObject({ status: 500, code: 'INTERNAL' });
  });
});

describe('error replies of an app', () => {
  const app = createApp({ service: 'errors-test', logLevel: 'silent' });
  let deadRedis: Redis;

  beforeAll(async () => {
    // A client of a Redis that is not there: its commands fail the way they do in production.
    deadRedis = createRedis(`redis://127.0.0.1:${await freePort()}`, { retryStrategy: () => 20 });
    deadRedis.on('error', () => {});
    app.get('/bug', async () => {
      const secret = 'postgres://admin:hunter2@db';
      throw new Error(`cannot connect to ${secret}`);
    });
    app.get('/redis', async () => ({ value: await deadRedis.get('anything') }));
    app.get('/busy', async () => {
      throw new AppError('CALLER_BUSY', 'you are already in a call');
    });
    await app.ready();
  });
  afterAll(async () => {
    deadRedis.disconnect();
    await app.close();
  });

  it('answers a bug with 500 and nothing of the error', async () => {
    const res = await app.inject('/bug');
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
    expect(res.body).not.toMatch(/hunter2|stack|at .*\.ts/);
    expect(res.headers['x-request-id']).toBeTruthy();
  });

  it('answers a real Redis outage with 503 UNAVAILABLE', async () => {
    const res = await app.inject('/redis');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({
      error: { code: 'UNAVAILABLE', message: 'a dependency is unavailable, try again' },
    });
  });

  it('answers an AppError in the API shape', async () => {
    const res = await app.inject('/busy');
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ error: { code: 'CALLER_BUSY', message: 'you are already in a call' } });
  });
});
