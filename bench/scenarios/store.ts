// store: the product's own queries (the shapes apps/user and apps/call send, with the indexes they
// create) on FerretDB v1 with its SQLite backend (what scripts/setup builds and the tests use) and on the
// same FerretDB over Debian's PostgreSQL 15 (a private cluster in a temp dir), at two data sizes. Also
// the `{_id: {$eq: x}}` form, to show what an equality wrapper costs where the driver could push it down.
// Each query runs until BENCH_STORE_QUERY_MS or BENCH_STORE_ITERATIONS, whichever comes first; p50/p99
// per query, per backend, per size.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from '@voip/testkit/servers';
import mongoose from 'mongoose';
import { histogram } from '../lib/hdr.ts';
import { defineScenario, knob, type RunContext } from '../lib/scenario.ts';

const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const ferretBin = () => {
  const r = spawnSync('sh', ['-c', 'command -v ferretdb'], { encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error('ferretdb not on PATH: run ./scripts/setup and source scripts/lib/env.sh');
  return r.stdout.trim();
};

interface Backend {
  name: string;
  uri: string;
  stop(): Promise<void>;
}

const asPostgres = (cmd: string, args: string[]) =>
  process.getuid?.() === 0
    ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8' })
    : spawnSync(cmd, args, { encoding: 'utf8' });

function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null) return Promise.resolve();
  const gone = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill('SIGTERM');
  return gone;
}

async function startFerret(handler: 'sqlite' | 'pg'): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), `voip-store-${handler}-`));
  const stops: (() => Promise<void>)[] = [];
  const args = ['--debug-addr=-', '--telemetry=disable', '--log-level=error', `--state-dir=${dir}`];
  if (handler === 'sqlite') args.push('--handler=sqlite', `--sqlite-url=file:${dir}/`);
  else {
    // A private PostgreSQL 15 cluster (trust on loopback, no fsync: a throw-away dev/test store).
    if (process.getuid?.() === 0)
      chownSync(dir, Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout), -1);
    const pgPort = await freePort();
    const data = join(dir, 'data');
    const init = asPostgres(`${PG_BIN}/initdb`, [
      '-D',
      data,
      '-A',
      'trust',
      '-U',
      'postgres',
      '--no-sync',
      '-E',
      'UTF8',
    ]);
    if (init.status !== 0) throw new Error(`initdb: ${init.stderr}`);
    const opts = `-p ${pgPort} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    const start = asPostgres(`${PG_BIN}/pg_ctl`, [
      '-D',
      data,
      '-l',
      join(dir, 'pg.log'),
      '-o',
      opts,
      '-w',
      'start',
    ]);
    if (start.status !== 0) throw new Error(`pg_ctl start: ${start.stderr}`);
    stops.push(async () => {
      asPostgres(`${PG_BIN}/pg_ctl`, ['-D', data, '-m', 'fast', '-w', 'stop']);
    });
    const db = asPostgres(`${PG_BIN}/createdb`, [
      '-h',
      '127.0.0.1',
      '-p',
      String(pgPort),
      '-U',
      'postgres',
      'ferretdb',
    ]);
    if (db.status !== 0) throw new Error(`createdb: ${db.stderr}`);
    args.push('--handler=pg', `--postgresql-url=postgres://postgres@127.0.0.1:${pgPort}/ferretdb`);
  }
  const port = await freePort();
  args.push(`--listen-addr=127.0.0.1:${port}`);
  const child = spawn(ferretBin(), args, { stdio: 'ignore' });
  stops.unshift(() => stopChild(child));
  await waitForPort(port);
  return {
    name: handler === 'sqlite' ? 'FerretDB + SQLite' : 'FerretDB + PostgreSQL 15',
    uri: `mongodb://127.0.0.1:${port}/bench`,
    async stop() {
      for (const s of stops) await s().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const id = (p: string, i: number) => `${p}${String(i).padStart(10, '0')}`;

/** Seeds `n` profiles, n contacts, n calls and n sync rows with the product's indexes. */
async function seed(db: mongoose.mongo.Db, n: number, from: number) {
  if (from === 0) {
    await db
      .collection('profiles')
      .createIndexes([
        { key: { searchName: 1, _id: 1 } },
        { key: { usernameLower: 1 } },
        { key: { kind: 1, createdAt: 1 } },
      ]);
    await db
      .collection('contacts')
      .createIndexes([{ key: { ownerId: 1, active: 1, since: 1 } }, { key: { targetId: 1, active: 1 } }]);
    await db
      .collection('calls')
      .createIndexes([
        { key: { callerId: 1, state: 1, createdAt: -1, _id: -1 } },
        { key: { calleeId: 1, state: 1, createdAt: -1, _id: -1 } },
      ]);
    await db
      .collection('changes')
      .createIndexes([
        { key: { userId: 1, seq: 1 } },
        { key: { userId: 1, entity: 1, id: 1 } },
        { key: { onceKey: 1 }, unique: true, sparse: true },
      ]);
  }
  const now = Date.now();
  for (let i = from; i < n; i += 1000) {
    const r = Array.from({ length: Math.min(1000, n - i) }, (_, k) => i + k);
    await db.collection('profiles').insertMany(
      r.map((j) => ({
        _id: id('U', j),
        kind: j % 2 ? 'guest' : 'user',
        username: j % 2 ? null : `user${j}`,
        usernameLower: j % 2 ? null : `user${j}`,
        displayName: `Person ${j}`,
        searchName: `person ${j}`,
        avatarUrl: null,
        doNotDisturb: false,
        incomingCalls: null,
        provisional: false,
        createdAt: new Date(now - j * 1000),
        updatedAt: new Date(now),
      })) as never[],
    );
    await db.collection('contacts').insertMany(
      r.map((j) => ({
        _id: `${id('U', j)}:${id('U', (j + 1) % n)}`,
        ownerId: id('U', j),
        targetId: id('U', (j + 1) % n),
        active: true,
        since: new Date(now),
        seq: 1,
      })) as never[],
    );
    await db.collection('calls').insertMany(
      r.map((j) => ({
        _id: id('C', j),
        callerId: id('U', j),
        calleeId: id('U', (j + 1) % n),
        media: 'audio',
        state: 'ended',
        createdAt: new Date(now - j * 1000),
        endedAt: new Date(now - j * 1000 + 5000),
        recordedAt: new Date(now),
      })) as never[],
    );
    await db.collection('changes').insertMany(
      r.map((j) => ({
        _id: `${id('U', j)}:1`,
        userId: id('U', j),
        seq: 1,
        entity: 'call',
        op: 'upsert',
        id: id('C', j),
        at: new Date(now),
        onceKey: `${id('U', j)}:call:${id('C', j)}`,
      })) as never[],
    );
    await db.collection('change_counters').insertMany(r.map((j) => ({ _id: id('U', j), seq: 1 })) as never[]);
  }
}

type Query = { name: string; run: (db: mongoose.mongo.Db, i: number, n: number) => Promise<unknown> };

/** The shapes the product sends (see the repositories named), on ids that exist. */
const QUERIES: Query[] = [
  {
    name: 'profile by id `{_id: x}` (user: profiles.get; reachability)',
    run: (db, i, n) => db.collection('profiles').findOne({ _id: id('U', (i * 7919) % n) as never }),
  },
  {
    name: 'profile by id, `{_id: {$eq: x}}` wrapper',
    run: (db, i, n) => db.collection('profiles').findOne({ _id: { $eq: id('U', (i * 7919) % n) } as never }),
  },
  {
    name: 'relation by pair id (contacts/blocks.get)',
    run: (db, i, n) => {
      const j = (i * 7919) % n;
      return db.collection('contacts').findOne({ _id: `${id('U', j)}:${id('U', (j + 1) % n)}` as never });
    },
  },
  {
    name: 'active contacts of an owner (reach mirror, lists)',
    run: (db, i, n) =>
      db
        .collection('contacts')
        .find({ ownerId: id('U', (i * 7919) % n), active: true }, { projection: { targetId: 1 } })
        .toArray(),
  },
  {
    name: 'sync counter `$inc` by id (change-log append)',
    run: (db, i, n) =>
      db
        .collection('change_counters')
        .findOneAndUpdate(
          { _id: id('U', (i * 7919) % n) as never },
          { $inc: { seq: 1 } },
          { returnDocument: 'after' },
        ),
  },
  {
    name: 'sync feed page `{userId, seq > x}` (GET /sync/changes)',
    run: (db, i, n) =>
      db
        .collection('changes')
        .find({ userId: id('U', (i * 7919) % n), seq: { $gt: 0 } })
        .sort({ seq: 1 })
        .limit(50)
        .toArray(),
  },
  {
    name: 'call record upsert by id (history: call.created / call.ended)',
    run: (db, i, n) =>
      db
        .collection('calls')
        .updateOne(
          { _id: id('C', (i * 7919) % n) as never, state: { $ne: 'ended' } },
          { $setOnInsert: { state: 'ringing' } },
          { upsert: false },
        ),
  },
  {
    name: "a user's history page, one side (GET /api/calls now: caller and callee sides, merged)",
    run: (db, i, n) =>
      db
        .collection('calls')
        .find({ callerId: id('U', (i * 7919) % n), state: 'ended' })
        .sort({ createdAt: -1, _id: -1 })
        .limit(20)
        .toArray(),
  },
  {
    name: "a user's history page, `$or` of both sides (GET /api/calls before)",
    run: (db, i, n) => {
      const u = id('U', (i * 7919) % n);
      return db
        .collection('calls')
        .find({ state: 'ended', $or: [{ callerId: u }, { calleeId: u }] })
        .sort({ createdAt: -1, _id: -1 })
        .limit(20)
        .toArray();
    },
  },
];

async function measure(db: mongoose.mongo.Db, n: number, maxMs: number, maxIt: number) {
  const out: Record<string, { p50Ms: number; p99Ms: number; runs: number }> = {};
  for (const q of QUERIES) {
    await q.run(db, 0, n); // warm
    const h = histogram();
    const until = performance.now() + maxMs;
    for (let i = 1; i <= maxIt && performance.now() < until; i++) {
      const t = performance.now();
      await q.run(db, i, n);
      h.record(performance.now() - t);
    }
    const s = h.summary();
    out[q.name] = { p50Ms: s.p50Ms, p99Ms: s.p99Ms, runs: s.count };
  }
  return out;
}

async function run(ctx: RunContext) {
  const sizes = (process.env.BENCH_STORE_SIZES ?? (ctx.quick ? '500,2000' : '5000,50000'))
    .split(',')
    .map(Number);
  const maxMs = knob('BENCH_STORE_QUERY_MS', 3000, 500);
  const maxIt = knob('BENCH_STORE_ITERATIONS', 200, 20);
  const results: Record<string, Record<number, Awaited<ReturnType<typeof measure>>>> = {};
  const seedSeconds: Record<string, Record<number, number>> = {};
  for (const handler of ['sqlite', 'pg'] as const) {
    const b = await startFerret(handler);
    try {
      const conn = await mongoose.createConnection(b.uri).asPromise();
      const db = conn.db!;
      results[b.name] = {};
      seedSeconds[b.name] = {};
      let have = 0;
      for (const n of sizes) {
        const t = performance.now();
        await seed(db, n, have);
        have = n;
        seedSeconds[b.name]![n] = Number(((performance.now() - t) / 1000).toFixed(1));
        ctx.log(`${b.name}: ${n} profiles seeded in ${seedSeconds[b.name]![n]} s`);
        results[b.name]![n] = await measure(db, n, maxMs, maxIt);
      }
      await conn.close();
    } finally {
      await b.stop();
    }
  }
  const names = Object.keys(results);
  const header = `| query | ${sizes.flatMap((n) => names.map((b) => `${b} @ ${n.toLocaleString('en')} p50 / p99 ms`)).join(' | ')} |`;
  const rows = QUERIES.map(
    (q) =>
      `| ${q.name} | ${sizes
        .flatMap((n) => names.map((b) => results[b]![n]![q.name]!))
        .map((r) => `${r.p50Ms} / ${r.p99Ms}`)
        .join(' | ')} |`,
  );
  const markdown = [
    `The product's query shapes with its indexes, one at a time (no concurrency), ${sizes.join(' and ')} profiles (as many contacts, calls and sync rows). PostgreSQL: a private Debian PostgreSQL 15 cluster, fsync off (a throw-away dev/test store).`,
    '',
    header,
    `| --- | ${sizes.flatMap(() => names.map(() => '---:')).join(' | ')} |`,
    ...rows,
    '',
    `Seeding (s): ${names.map((b) => `${b} ${sizes.map((n) => `${n}: ${seedSeconds[b]![n]}`).join(', ')}`).join('; ')}.`,
  ].join('\n');
  return {
    config: { sizes, maxMs, maxIt },
    data: { results, seedSeconds },
    targets: [],
    markdown,
  };
}

export default defineScenario(
  'store',
  "the product's queries on FerretDB's SQLite and PostgreSQL backends",
  run,
);
