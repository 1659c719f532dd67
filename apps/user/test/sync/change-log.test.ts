// The sync feed's core promise, on the repository: appends racing from several connections (as from
// several service instances) never make a reader skip or repeat a change, including the writer that
// took its number first but inserts last, and the writer that dies in between.
import { createMongoConnection } from '@voip/kit/mongo';
import { mongoUri } from '@voip/testkit/env';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChangeLog, createChangeLog } from '../../src/sync/change-log.js';
import { newId } from '../harness.js';

/** Reads a feed to its end from `after`, like a client: returns the ids seen and the last seq. */
async function readAll(log: ChangeLog, user: string, after = 0, limit = 5) {
  const ids: string[] = [];
  for (;;) {
    const page = await log.page(user, after, limit);
    ids.push(...page.changes.map((c) => c.id));
    after = page.lastSeq;
    if (!page.hasMore) return { ids, after };
  }
}

describe('change log', () => {
  const conns: Connection[] = [];
  const filled: Array<{ userId: string; seqs: number[] }> = [];
  /** userId → promise the paused writer of that account waits for after taking its number. */
  const gates = new Map<string, Promise<void>>();
  let clockOffsetMs = 0;
  let writerA: ChangeLog;
  let writerB: ChangeLog;
  let reader: ChangeLog;

  beforeAll(async () => {
    const uri = mongoUri();
    for (let i = 0; i < 3; i++) conns.push(await createMongoConnection(uri).asPromise());
    writerA = createChangeLog(conns[0]!, {
      afterAllocate: async (userId) => {
        const gate = gates.get(userId);
        gates.delete(userId);
        await gate;
      },
    });
    writerB = createChangeLog(conns[1]!);
    reader = createChangeLog(conns[2]!, {
      holeGraceMs: 30_000,
      now: () => Date.now() + clockOffsetMs,
      onHoleFilled: (info) => filled.push(info),
    });
    await Promise.all(reader.models.map((m) => m.createIndexes()));
  });
  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close()));
  });

  it("numbers one account's changes 1, 2, 3… and pages them with hasMore", async () => {
    const user = newId();
    for (let i = 0; i < 5; i++) await writerB.append(user, { entity: 'contact', op: 'upsert', id: `c${i}` });
    const first = await reader.page(user, 0, 2);
    expect(first.changes.map((c) => [c.seq, c.id])).toEqual([
      [1, 'c0'],
      [2, 'c1'],
    ]);
    expect(first).toMatchObject({ lastSeq: 2, hasMore: true });
    const rest = await reader.page(user, 2, 10);
    expect(rest.changes.map((c) => c.seq)).toEqual([3, 4, 5]);
    expect(rest).toMatchObject({ lastSeq: 5, hasMore: false });
    expect(await reader.page(user, 5, 10)).toEqual({ changes: [], lastSeq: 5, hasMore: false });
    expect((await reader.page(newId(), 0, 10)).changes).toEqual([]);
  });

  it('lets a reader paging during racing appends from several connections see each change exactly once', async () => {
    const user = newId();
    const total = 120;
    let writing = true;
    const seen: string[] = [];
    const paging = (async () => {
      let after = 0;
      for (;;) {
        const finished = !writing;
        const page = await reader.page(user, after, 7);
        seen.push(...page.changes.map((c) => c.id));
        after = page.lastSeq;
        if (finished && !page.hasMore) return;
      }
    })();
    const seqs = await Promise.all(
      Array.from({ length: total }, (_, i) =>
        (i % 2 ? writerA : writerB).append(user, { entity: 'block', op: 'upsert', id: `b${i}` }),
      ),
    );
    writing = false;
    await paging;
    expect(new Set(seqs).size).toBe(total);
    expect(seen).toHaveLength(total);
    expect([...new Set(seen)].sort()).toEqual(Array.from({ length: total }, (_, i) => `b${i}`).sort());
    expect(filled).toEqual([]);
  }, 90_000);

  it('waits for a writer that took its number first and inserts last', async () => {
    const user = newId();
    await writerB.append(user, { entity: 'contact', op: 'upsert', id: 'one' });
    let release!: () => void;
    gates.set(user, new Promise<void>((r) => (release = r)));
    const slow = writerA.append(user, { entity: 'contact', op: 'upsert', id: 'slow' });
    while (gates.has(user)) await new Promise((r) => setImmediate(r));
    // The slow writer holds number 2; number 3 is written meanwhile.
    expect(await writerB.append(user, { entity: 'contact', op: 'upsert', id: 'fast' })).toBe(3);

    const before = await reader.page(user, 0, 10);
    expect(before.changes.map((c) => c.id)).toEqual(['one']);
    expect(before.lastSeq).toBe(1);
    release();
    expect(await slow).toBe(2);
    const after = await readAll(reader, user, before.lastSeq);
    expect(after.ids).toEqual(['slow', 'fast']);
    expect(filled).toEqual([]);
  });

  it('appends a once-only change once when two writers race past the "already there?" check', async () => {
    const user = newId();
    const change = { entity: 'call', op: 'upsert', id: 'CALL1', data: { outcome: 'missed' } } as const;
    let release!: () => void;
    gates.set(user, new Promise<void>((r) => (release = r)));
    // Finds nothing there yet, takes number 1 and pauses before inserting.
    const slow = writerA.appendOnce(user, change);
    while (gates.has(user)) await new Promise((r) => setImmediate(r));
    expect(await writerB.appendOnce(user, change)).toBe(2);
    expect(await writerB.appendOnce(user, change)).toBeNull();
    release();
    // The unique key refuses the slow writer's row: nothing added.
    expect(await slow).toBeNull();
    await writerB.append(user, { entity: 'contact', op: 'upsert', id: 'after' });
    // It filled its own number too: the reader goes straight on, no grace period waited out.
    expect((await readAll(reader, user)).ids).toEqual(['CALL1', 'after']);
    expect(filled.filter((f) => f.userId === user)).toEqual([]);
    // appendOnce is per feed: the same call in another account's feed is its own entry.
    expect(await writerB.appendOnce(newId(), change)).toBe(1);
  });

  it('fills the hole of a writer that died, and a writer that was only slow still gets its change in once', async () => {
    const user = newId();
    await writerB.append(user, { entity: 'contact', op: 'upsert', id: 'one' });
    let release!: () => void;
    gates.set(user, new Promise<void>((r) => (release = r)));
    const slow = writerA.append(user, { entity: 'contact', op: 'upsert', id: 'slow' });
    while (gates.has(user)) await new Promise((r) => setImmediate(r));
    await writerB.append(user, { entity: 'contact', op: 'upsert', id: 'fast' });

    // Inside the grace period the reader waits at the hole…
    expect((await readAll(reader, user)).ids).toEqual(['one']);
    // …past it, the hole is filled and reading moves on.
    clockOffsetMs = 60_000;
    const first = await readAll(reader, user);
    clockOffsetMs = 0;
    expect(first.ids).toEqual(['one', 'fast']);
    expect(filled).toEqual([{ userId: user, seqs: [2] }]);

    // The slow writer finds its number taken, takes a new one, and its change follows.
    release();
    expect(await slow).toBe(4);
    expect((await readAll(reader, user, first.after)).ids).toEqual(['slow']);
  });
});
