import { createMongoConnection } from '@voip/kit/mongo';
import { mongoUri } from '@voip/testkit/env';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CallEnded,
  type CallRepository,
  createCallRepository,
} from '../../src/history/call-repository.js';
import { newId } from '../support/harness.js';

describe('calls collection', () => {
  let conn: Connection;
  let calls: CallRepository;
  beforeAll(async () => {
    conn = createMongoConnection(mongoUri());
    await conn.asPromise();
    calls = createCallRepository(conn);
    await calls.model.init();
  });
  afterAll(() => conn?.close());

  const created = (callId: string) => ({
    callId,
    callerId: 'A',
    calleeId: 'B',
    media: 'audio' as const,
    createdAt: new Date('2026-01-01T10:00:00Z'),
    expiresAt: new Date('2026-01-01T10:00:30Z'),
  });
  const ended = (callId: string): CallEnded => ({
    ...created(callId),
    outcome: 'answered',
    endReason: 'hangup',
    answeredAt: new Date('2026-01-01T10:00:05Z'),
    endedAt: new Date('2026-01-01T10:01:05Z'),
    durationMs: 60_000,
    endedBy: 'A',
    replacedBy: null,
  });

  it('writes the final record once: repeats report duplicate and change nothing', async () => {
    const id = newId();
    await calls.recordCreated({ ...created(id), push: 'pending' });
    expect(await calls.recordEnded(ended(id))).toBe('recorded');
    const first = await calls.findForParticipant(id, 'A');
    expect(await calls.recordEnded({ ...ended(id), durationMs: 1 })).toBe('duplicate');
    expect(await calls.findForParticipant(id, 'A')).toEqual(first);
    expect(first).toMatchObject({ state: 'ended', durationMs: 60_000, push: 'pending' });
  });

  it('records an end that arrives before anything else (the upsert creates the record)', async () => {
    const id = newId();
    expect(await calls.recordEnded(ended(id))).toBe('recorded');
    await calls.recordCreated(created(id));
    await calls.recordAccepted(id, new Date());
    expect(await calls.findForParticipant(id, 'B')).toMatchObject({ state: 'ended', endReason: 'hangup' });
  });

  it('keeps every one of several concurrent writes to one call', async () => {
    const ids = Array.from({ length: 20 }, () => newId());
    await Promise.all(ids.map((id) => calls.recordCreated({ ...created(id), push: 'pending' })));
    await Promise.all(
      ids.flatMap((id) => [
        calls.recordEnded(ended(id)),
        calls.setPush(id, 'sent', { devices: 1, sent: 1, failed: 0, invalidated: 0 }),
      ]),
    );
    for (const id of ids)
      expect(await calls.findForParticipant(id, 'A')).toMatchObject({ state: 'ended', push: 'sent' });
  });

  it('shows a call to its participants only', async () => {
    const id = newId();
    await calls.recordCreated(created(id));
    expect(await calls.findForParticipant(id, 'A')).not.toBeNull();
    expect(await calls.findForParticipant(id, 'C')).toBeNull();
  });
});
