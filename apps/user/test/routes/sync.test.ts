import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordCallEnded } from '../../src/sync/call-events.js';
import { encodeSyncCursor } from '../../src/sync/sync-cursor.js';
import {
  type Account,
  drainSync,
  newId,
  type SyncChangeBody,
  startUserService,
  type TestService,
  withProfile,
} from '../harness.js';

describe('GET /api/users/sync/changes', () => {
  let svc: TestService;
  const sync = (a: Account, query = '') =>
    svc.app.inject({ url: `/api/users/sync/changes${query}`, headers: a.headers });
  beforeAll(async () => {
    svc = await startUserService();
  });
  afterAll(() => svc.app.close());

  it('starts empty with a cursor to keep', async () => {
    const a = await withProfile(svc.app);
    const res = await sync(a);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ changes: [], cursor: expect.any(String), hasMore: false });
    expect((await sync(a, `?since=${res.json().cursor}`)).json()).toEqual(res.json());
  });

  it('pages changes oldest first; a stored cursor returns only what changed since', async () => {
    const a = await withProfile(svc.app);
    const others = await Promise.all(Array.from({ length: 5 }, () => withProfile(svc.app)));
    for (const o of others)
      await svc.app.inject({ method: 'PUT', url: `/api/users/me/contacts/${o.id}`, headers: a.headers });

    const first = (await sync(a, '?limit=2')).json();
    expect(first.changes.map((c: SyncChangeBody) => c.id)).toEqual([others[0]!.id, others[1]!.id]);
    expect(first.hasMore).toBe(true);
    const second = (await sync(a, `?limit=2&since=${first.cursor}`)).json();
    expect(second.changes.map((c: SyncChangeBody) => c.id)).toEqual([others[2]!.id, others[3]!.id]);
    const third = (await sync(a, `?limit=2&since=${second.cursor}`)).json();
    expect(third.changes.map((c: SyncChangeBody) => c.id)).toEqual([others[4]!.id]);
    expect(third.hasMore).toBe(false);
    // Re-asking with an older cursor gives the same answer again (cursors are positions, not tokens).
    expect((await sync(a, `?limit=2&since=${second.cursor}`)).json()).toEqual(third);

    await svc.app.inject({ method: 'PUT', url: `/api/users/me/blocks/${others[0]!.id}`, headers: a.headers });
    await svc.app.inject({
      method: 'DELETE',
      url: `/api/users/me/contacts/${others[1]!.id}`,
      headers: a.headers,
    });
    await svc.app.inject({
      method: 'PATCH',
      url: '/api/users/me',
      headers: a.headers,
      payload: { displayName: 'Synced' },
    });
    const caller = newId();
    await recordCallEnded(svc.app.domain, {
      callId: newId(),
      callerId: caller,
      calleeId: a.id,
      media: 'audio',
      outcome: 'missed',
      endReason: 'no-answer',
      createdAt: '2025-01-01T00:00:00.000Z',
      answeredAt: null,
      endedAt: '2025-01-01T00:00:30.000Z',
      durationMs: 0,
    });
    const since = (await sync(a, `?since=${third.cursor}`)).json();
    expect(since.changes.map((c: SyncChangeBody) => [c.entity, c.op])).toEqual([
      ['block', 'upsert'],
      ['contact', 'delete'],
      ['profile', 'upsert'],
      ['call', 'upsert'],
    ]);
    expect(since.changes[1]).toEqual({
      entity: 'contact',
      op: 'delete',
      id: others[1]!.id,
      at: expect.any(String),
    });
    expect(since.changes[3].data).toMatchObject({
      direction: 'incoming',
      peerId: caller,
      outcome: 'missed',
      answeredAt: null,
    });
  });

  it('refuses a cursor of another account, a malformed one, and bad parameters', async () => {
    const a = await withProfile(svc.app);
    const b = await withProfile(svc.app);
    const foreign = (await sync(b)).json().cursor;
    const res = await sync(a, `?since=${foreign}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: 'cursor belongs to another account',
    });
    for (const q of [
      '?since=garbage',
      `?since=${encodeSyncCursor(a.id, 1).replace('c1.', 'c2.')}`,
      `?since=${'c'.repeat(201)}`,
      '?since=2024-01-01T00:00:00Z',
      '?limit=0',
      '?limit=501',
      '?limit=abc',
      '?cursor=x',
      '?since[$gt]=',
    ]) {
      const r = await sync(a, q);
      expect(r.statusCode, q).toBe(400);
      expect(r.json().error.code).toBe('VALIDATION_FAILED');
    }
    expect((await svc.app.inject({ url: '/api/users/sync/changes' })).statusCode).toBe(401);
  });

  it("records a call once in each participant's feed, even when the event comes twice", async () => {
    const caller = await withProfile(svc.app);
    const callee = await withProfile(svc.app);
    const call = {
      callId: newId(),
      callerId: caller.id,
      calleeId: callee.id,
      media: 'audio' as const,
      outcome: 'rejected' as const,
      endReason: 'rejected' as const,
      createdAt: '2025-01-01T00:00:00.000Z',
      answeredAt: null,
      endedAt: '2025-01-01T00:00:03.000Z',
      durationMs: 0,
    };
    await recordCallEnded(svc.app.domain, call);
    await recordCallEnded(svc.app.domain, call);
    expect((await drainSync(svc.app, caller)).changes.filter((c) => c.entity === 'call')).toHaveLength(1);
    const calleeCalls = (await drainSync(svc.app, callee)).changes.filter((c) => c.entity === 'call');
    expect(calleeCalls).toHaveLength(1);
    expect(calleeCalls[0]?.data).toMatchObject({
      direction: 'incoming',
      peerId: caller.id,
      outcome: 'rejected',
    });
  });
  it("shows each participant the call from their side: a cancelled call is the callee's missed call", async () => {
    const caller = await withProfile(svc.app);
    const callee = await withProfile(svc.app);
    const callId = newId();
    // As the call store writes it: the event's own outcome is the side-neutral `cancelled`.
    await recordCallEnded(svc.app.domain, {
      callId,
      callerId: caller.id,
      calleeId: callee.id,
      media: 'video',
      outcome: 'cancelled',
      endReason: 'cancelled',
      createdAt: '2025-01-01T00:00:00.000Z',
      answeredAt: null,
      endedAt: '2025-01-01T00:00:04.000Z',
      durationMs: 0,
      endedBy: caller.id,
    });
    const callOf = async (a: Account) =>
      (await drainSync(svc.app, a)).changes.filter((c) => c.entity === 'call' && c.id === callId);
    expect((await callOf(caller)).map((c) => c.data)).toEqual([
      expect.objectContaining({ direction: 'outgoing', peerId: callee.id, outcome: 'cancelled' }),
    ]);
    expect((await callOf(callee)).map((c) => c.data)).toEqual([
      expect.objectContaining({ direction: 'incoming', peerId: caller.id, outcome: 'missed' }),
    ]);
  });
});

describe('sync under concurrent writes', () => {
  let first: TestService;
  let second: TestService;
  beforeAll(async () => {
    first = await startUserService();
    second = await startUserService({}, first);
  });
  afterAll(async () => {
    await second.app.close();
    await first.app.close();
  });

  it('shows every change exactly once to a client paging while two instances write', async () => {
    const me = await withProfile(first.app, 'user', 'Busy Person');
    const people = await Promise.all(Array.from({ length: 30 }, () => withProfile(first.app)));
    const instances = [first.app, second.app];
    const expected: string[] = [];
    const writes: Array<() => Promise<unknown>> = [];
    people.forEach((p, i) => {
      const app = instances[i % 2]!;
      const inject = (method: 'PUT' | 'DELETE', path: string) => () =>
        app.inject({ method, url: `/api/users/me/${path}/${p.id}`, headers: me.headers }).then((r) => {
          if (r.statusCode >= 300) throw new Error(`${method} ${path} answered ${r.statusCode}: ${r.body}`);
        });
      if (i < 20) {
        // Add then remove a contact: two changes, in that order, from one chain.
        expected.push(`contact:upsert:${p.id}`);
        const add = inject('PUT', 'contacts');
        if (i < 6) {
          expected.push(`contact:delete:${p.id}`);
          const remove = inject('DELETE', 'contacts');
          writes.push(() => add().then(remove));
        } else writes.push(add);
      } else {
        expected.push(`block:upsert:${p.id}`);
        writes.push(inject('PUT', 'blocks'));
      }
    });
    for (let n = 0; n < 4; n++) {
      expected.push(`profile:upsert:${me.id}:Name ${n}`);
      writes.push(() =>
        instances[n % 2]!.inject({
          method: 'PATCH',
          url: '/api/users/me',
          headers: me.headers,
          payload: { displayName: `Name ${n}` },
        }),
      );
    }
    for (let n = 0; n < 6; n++) {
      const callId = newId();
      expected.push(`call:upsert:${callId}`);
      writes.push(() =>
        recordCallEnded(instances[n % 2]!.domain, {
          callId,
          callerId: me.id,
          calleeId: people[n]!.id,
          media: 'audio',
          outcome: 'answered',
          endReason: 'hangup',
          createdAt: '2025-01-01T00:00:00.000Z',
          answeredAt: '2025-01-01T00:00:01.000Z',
          endedAt: '2025-01-01T00:00:09.000Z',
          durationMs: 8000,
        }),
      );
    }

    const key = (c: SyncChangeBody) =>
      c.entity === 'profile'
        ? `profile:${c.op}:${c.id}:${(c.data as { displayName: string }).displayName}`
        : `${c.entity}:${c.op}:${c.id}`;
    const seen: string[] = [];
    let writing = true;
    let pages = 0;
    const reader = (async () => {
      let cursor: string | undefined;
      for (;;) {
        const finished = !writing;
        const q = new URLSearchParams({ limit: '3', ...(cursor ? { since: cursor } : {}) });
        const res = await instances[pages++ % 2]!.inject({
          url: `/api/users/sync/changes?${q}`,
          headers: me.headers,
        });
        expect(res.statusCode).toBe(200);
        const body = res.json() as { changes: SyncChangeBody[]; cursor: string; hasMore: boolean };
        seen.push(...body.changes.map(key));
        cursor = body.cursor;
        if (finished && !body.hasMore) return;
      }
    })();
    await Promise.all(writes.map((w) => w()));
    writing = false;
    await reader;

    expect(pages).toBeGreaterThan(2);
    // Exactly once: nothing missing, nothing twice.
    expect([...seen].sort()).toEqual([...expected].sort());
    // Per pair, in the order the writes happened.
    for (const p of people.slice(0, 6))
      expect(seen.indexOf(`contact:upsert:${p.id}`)).toBeLessThan(seen.indexOf(`contact:delete:${p.id}`));
  }, 90_000);

  it('records a call once per participant when two consumers take the same call.ended at once', async () => {
    const caller = await withProfile(first.app);
    const callee = await withProfile(first.app);
    const calls = Array.from({ length: 5 }, () => ({
      callId: newId(),
      callerId: caller.id,
      calleeId: callee.id,
      media: 'audio' as const,
      outcome: 'answered' as const,
      endReason: 'hangup' as const,
      createdAt: '2025-01-01T00:00:00.000Z',
      answeredAt: '2025-01-01T00:00:01.000Z',
      endedAt: '2025-01-01T00:00:09.000Z',
      durationMs: 8000,
    }));
    // Each event delivered twice concurrently, once to each instance (a claimed re-delivery racing
    // the first write), and twice more to the same instance.
    await Promise.all(
      calls.flatMap((c) => [
        recordCallEnded(first.app.domain, c),
        recordCallEnded(second.app.domain, c),
        recordCallEnded(first.app.domain, c),
      ]),
    );
    // A change after them: a duplicate that lost the race must not leave a hole the feed waits at.
    const later = await withProfile(first.app);
    const put = await first.app.inject({
      method: 'PUT',
      url: `/api/users/me/contacts/${later.id}`,
      headers: caller.headers,
    });
    expect(put.statusCode).toBeLessThan(300);

    const expected = calls.map((c) => c.callId).sort();
    const callerFeed = (await drainSync(first.app, caller)).changes;
    expect(
      callerFeed
        .filter((c) => c.entity === 'call')
        .map((c) => c.id)
        .sort(),
    ).toEqual(expected);
    expect(callerFeed.at(-1)).toMatchObject({ entity: 'contact', op: 'upsert', id: later.id });
    const calleeFeed = (await drainSync(second.app, callee)).changes;
    expect(
      calleeFeed
        .filter((c) => c.entity === 'call')
        .map((c) => c.id)
        .sort(),
    ).toEqual(expected);
  });
});
