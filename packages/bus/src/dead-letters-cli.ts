#!/usr/bin/env node
// `pnpm dead-letters list|show|replay`: the operator's view of the dead-letter stream (docs/OPERATIONS.md,
// "Dead letters"). Reads REDIS_URL (default redis://127.0.0.1:6379).
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import {
  type DeadLetter,
  type DeadLetterFilter,
  getDeadLetter,
  listDeadLetters,
  replayDeadLetter,
  replayDeadLetters,
} from './dead-letters.js';

const USAGE = `usage: pnpm dead-letters <command> [options]
  list                    dead letters, oldest first: id, time, stream, group, reason, type, deliveries, detail
  show <id>               one dead letter in full, with its original envelope
  replay <id>...          re-append each to its original stream (for the group that gave up) and delete it
  replay --all            the same for every dead letter matching the filters
options:
  --stream <key>          only dead letters from this stream (e.g. voip:stream:call-events)
  --group <name>          only those of this consumer group (e.g. call-history)
  --reason <reason>       only this reason (max-deliveries, invalid-json, invalid-envelope, invalid-data, ...)
  --limit <n>             list at most n (default 100; 0 = all)
  --json                  one JSON object per line
  --dead-letter-stream <key>  another dead-letter stream than voip:stream:dead-letter
environment: REDIS_URL (default redis://127.0.0.1:6379)`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function line(d: DeadLetter) {
  const detail = d.detail.replace(/\s+/g, ' ').slice(0, 120);
  return [d.id, d.at, d.stream, d.group, d.reason, d.type || '-', String(d.deliveries), detail].join('  ');
}

const options = {
  stream: { type: 'string' },
  group: { type: 'string' },
  reason: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
  all: { type: 'boolean' },
  id: { type: 'string' },
  'dead-letter-stream': { type: 'string' },
  help: { type: 'boolean' },
} as const;

function args() {
  try {
    return parseArgs({ allowPositionals: true, options });
  } catch (err) {
    fail((err as Error).message);
  }
}

async function main(): Promise<number> {
  const parsed = args();
  const { values, positionals } = parsed;
  const [command, ...ids] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(command || values.help ? 0 : 2);
  }
  if (values.id) ids.push(values.id);
  const filter: DeadLetterFilter = {
    ...(values.stream ? { stream: values.stream } : {}),
    ...(values.group ? { group: values.group } : {}),
    ...(values.reason ? { reason: values.reason } : {}),
    ...(values['dead-letter-stream'] ? { deadLetterStream: values['dead-letter-stream'] } : {}),
  };
  const limit = values.limit === undefined ? 100 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 0) fail('--limit must be a whole number');

  const redis = new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379', {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    switch (command) {
      case 'list': {
        const letters = await listDeadLetters(redis, filter, limit);
        for (const d of letters) process.stdout.write(`${values.json ? JSON.stringify(d) : line(d)}\n`);
        if (!values.json) process.stderr.write(`${letters.length} dead letter(s)\n`);
        return 0;
      }
      case 'show': {
        if (ids.length === 0) fail('show needs a dead letter id');
        let missing = 0;
        for (const id of ids) {
          const d = await getDeadLetter(redis, id, filter.deadLetterStream);
          if (!d) {
            process.stderr.write(`no dead letter ${id}\n`);
            missing++;
            continue;
          }
          let envelope: unknown = d.raw;
          try {
            envelope = JSON.parse(d.raw);
          } catch {
            // not JSON: shown as it is (reason invalid-json)
          }
          process.stdout.write(
            `${JSON.stringify({ ...d, raw: undefined, envelope }, null, values.json ? 0 : 2)}\n`,
          );
        }
        return missing ? 1 : 0;
      }
      case 'replay': {
        if (values.all && ids.length > 0) fail('replay takes ids or --all, not both');
        if (!values.all && ids.length === 0) fail('replay needs dead letter ids or --all');
        let missing = 0;
        const replayed = values.all ? await replayDeadLetters(redis, filter) : [];
        for (const id of ids) {
          const r = await replayDeadLetter(redis, id, filter.deadLetterStream);
          if (r) replayed.push(r);
          else {
            process.stderr.write(`no dead letter ${id} (already replayed?)\n`);
            missing++;
          }
        }
        for (const r of replayed)
          process.stdout.write(
            `${values.json ? JSON.stringify(r) : `replayed ${r.id} -> ${r.stream} ${r.entryId} (group ${r.group || '-'})`}\n`,
          );
        process.stderr.write(`${replayed.length} replayed\n`);
        return missing ? 1 : 0;
      }
      default:
        fail(`unknown command "${command}"`);
    }
  } finally {
    redis.disconnect();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`dead-letters: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
