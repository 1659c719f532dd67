// Dead letters for an operator: list, show and replay what stream consumers moved to the dead-letter
// stream (see streams.ts). A replay appends the original envelope to its original stream, tagged for the
// group that dead-lettered it (the stream's other groups skip it: they handled the original), and deletes
// the dead letter, in one script: a dead letter is replayed at most once, however often the command runs.
// Consumers are idempotent (at-least-once), so a replay of something that was in fact handled is harmless.
import { streams } from '@voip/contracts/redis-keys';
import type { Redis } from 'ioredis';
import { ENTRY_FIELD, REPLAY_FOR_FIELD } from './streams.js';

export interface DeadLetter {
  /** The dead letter's own id in the dead-letter stream. */
  id: string;
  reason: string;
  detail: string;
  /** Where the entry came from, and the group and consumer that gave up on it. */
  stream: string;
  group: string;
  consumer: string;
  entryId: string;
  deliveries: number;
  type: string;
  at: string;
  /** The original payload (the envelope's JSON). */
  raw: string;
}

export interface DeadLetterFilter {
  deadLetterStream?: string;
  stream?: string;
  group?: string;
  reason?: string;
}

function toDeadLetter(id: string, fields: string[]): DeadLetter {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  return {
    id,
    reason: f.reason ?? '',
    detail: f.detail ?? '',
    stream: f.stream ?? '',
    group: f.group ?? '',
    consumer: f.consumer ?? '',
    entryId: f.entryId ?? '',
    deliveries: Number(f.deliveries ?? 0),
    type: f.type ?? '',
    at: f.at ?? '',
    raw: f.raw ?? '',
  };
}

const matches = (d: DeadLetter, f: DeadLetterFilter) =>
  (!f.stream || d.stream === f.stream) &&
  (!f.group || d.group === f.group) &&
  (!f.reason || d.reason === f.reason);

/** Dead letters oldest first, filtered; at most `limit` (all when 0). Reads in pages of 500. */
export async function listDeadLetters(
  redis: Redis,
  filter: DeadLetterFilter = {},
  limit = 0,
): Promise<DeadLetter[]> {
  const key = filter.deadLetterStream ?? streams.deadLetter;
  const out: DeadLetter[] = [];
  let start = '-';
  for (;;) {
    const rows = await redis.xrange(key, start, '+', 'COUNT', 500);
    for (const [id, fields] of rows) {
      const d = toDeadLetter(id, fields);
      if (matches(d, filter)) out.push(d);
      if (limit > 0 && out.length >= limit) return out;
    }
    if (rows.length < 500) return out;
    start = `(${rows[rows.length - 1]![0]}`;
  }
}

export async function getDeadLetter(
  redis: Redis,
  id: string,
  deadLetterStream: string = streams.deadLetter,
): Promise<DeadLetter | null> {
  const [row] = await redis.xrange(deadLetterStream, id, id);
  return row ? toDeadLetter(row[0], row[1]) : null;
}

// KEYS: dead-letter stream, original stream. ARGV: dead letter id, expected stream name, raw, group.
// Appends and deletes only while the dead letter still exists: a second replay finds nothing.
const REPLAY = `
local row = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #row == 0 then return false end
local id
if ARGV[4] == '' then
  id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', '1000000', '*', '${ENTRY_FIELD}', ARGV[3])
else
  id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', '1000000', '*', '${ENTRY_FIELD}', ARGV[3], '${REPLAY_FOR_FIELD}', ARGV[4])
end
redis.call('XDEL', KEYS[1], ARGV[1])
return id`;

export interface Replayed {
  id: string;
  stream: string;
  group: string;
  /** The new entry's id in the original stream. */
  entryId: string;
}

/** Replays one dead letter; null when it is not (or no longer) there. */
export async function replayDeadLetter(
  redis: Redis,
  id: string,
  deadLetterStream: string = streams.deadLetter,
): Promise<Replayed | null> {
  const d = await getDeadLetter(redis, id, deadLetterStream);
  if (!d) return null;
  if (!d.stream) throw new Error(`dead letter ${id} names no stream`);
  const entryId = (await redis.eval(REPLAY, 2, deadLetterStream, d.stream, id, d.stream, d.raw, d.group)) as
    | string
    | null;
  return entryId ? { id, stream: d.stream, group: d.group, entryId } : null;
}

/** Replays every dead letter that matches the filter, oldest first. */
export async function replayDeadLetters(redis: Redis, filter: DeadLetterFilter = {}): Promise<Replayed[]> {
  const out: Replayed[] = [];
  for (const d of await listDeadLetters(redis, filter)) {
    const r = await replayDeadLetter(redis, d.id, filter.deadLetterStream);
    if (r) out.push(r);
  }
  return out;
}
