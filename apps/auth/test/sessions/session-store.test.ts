import { keys } from '@voip/contracts/redis-keys';
import { createRedis } from '@voip/kit/redis';
import { redisUrl } from '@voip/testkit/env';
import type { Redis } from 'ioredis';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashRefreshToken, newRefreshToken } from '../../src/sessions/refresh-tokens.js';
import { createSessionStore, type SessionStore } from '../../src/sessions/session-store.js';

const TTL = 3600;

describe('session store (real Redis)', () => {
  let redis: Redis;
  let store: SessionStore;
  beforeAll(async () => {
    redis = createRedis(redisUrl());
    await redis.connect();
    store = createSessionStore(redis, { ttlSeconds: TTL });
  });
  afterAll(() => redis.quit());

  async function newSession(userId = ulid()) {
    const sid = ulid();
    const hash = hashRefreshToken(newRefreshToken());
    await store.create(
      { sid, userId, kind: 'user', displayName: 'Dee', createdAt: new Date().toISOString() },
      hash,
    );
    return { sid, userId, hash };
  }

  it('keeps the session, its refresh token and the user index, each with the refresh TTL', async () => {
    const { sid, userId, hash } = await newSession();
    expect(await redis.hgetall(keys.session(sid))).toMatchObject({
      userId,
      kind: 'user',
      displayName: 'Dee',
      refreshHash: hash,
    });
    expect(await redis.get(keys.refresh(hash))).toBe(sid);
    expect(await redis.smembers(keys.userSessions(userId))).toEqual([sid]);
    for (const k of [keys.session(sid), keys.refresh(hash), keys.userSessions(userId)]) {
      const ttl = await redis.ttl(k);
      expect(ttl).toBeGreaterThan(TTL - 10);
      expect(ttl).toBeLessThanOrEqual(TTL);
    }
  });

  it('rotates once: the old hash becomes "used", the new one current', async () => {
    const { sid, hash } = await newSession();
    const next = hashRefreshToken(newRefreshToken());
    const r = await store.rotate(hash, next);
    expect(r).toMatchObject({ status: 'rotated', session: { sid, kind: 'user' } });
    expect(await redis.get(keys.refresh(hash))).toBeNull();
    expect(await redis.hget(keys.refreshUsed(hash), 'sid')).toBe(sid);
    expect(await redis.get(keys.refresh(next))).toBe(sid);
    expect(await redis.hget(keys.session(sid), 'refreshHash')).toBe(next);
    expect(await store.rotate(hash, hashRefreshToken(newRefreshToken()))).toEqual({ status: 'reused', sid });
  });

  it('lets exactly one of many concurrent rotations of the same token through', async () => {
    const { hash } = await newSession();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => store.rotate(hash, hashRefreshToken(newRefreshToken()))),
    );
    expect(results.filter((r) => r.status === 'rotated')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'reused')).toHaveLength(7);
  });

  it('answers invalid for a token it never issued', async () => {
    expect(
      await store.rotate(hashRefreshToken(newRefreshToken()), hashRefreshToken(newRefreshToken())),
    ).toEqual({ status: 'invalid' });
  });

  it('deletes a session with its refresh token and index entry, once', async () => {
    const { sid, userId, hash } = await newSession();
    expect(await store.delete(sid)).toMatchObject({ sid, userId });
    expect(await redis.exists(keys.session(sid), keys.refresh(hash))).toBe(0);
    expect(await redis.sismember(keys.userSessions(userId), sid)).toBe(0);
    expect(await store.delete(sid)).toBeNull();
    expect(await store.rotate(hash, hashRefreshToken(newRefreshToken()))).toEqual({ status: 'invalid' });
  });

  it('changes the kind of a live session, and never resurrects a deleted one', async () => {
    const { sid } = await newSession();
    expect(await store.setKind(sid, 'admin')).toBe(true);
    expect((await store.get(sid))?.kind).toBe('admin');
    await store.delete(sid);
    expect(await store.setKind(sid, 'user')).toBe(false);
    expect(await redis.exists(keys.session(sid))).toBe(0);
  });

  it('lists the sessions of a user', async () => {
    const userId = ulid();
    const a = await newSession(userId);
    const b = await newSession(userId);
    expect((await store.sessionIdsOf(userId)).sort()).toEqual([a.sid, b.sid].sort());
  });
});
