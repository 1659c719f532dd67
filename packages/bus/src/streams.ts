// Events that must not be lost (call history, account lifecycle): Redis Streams. Producers XADD an
// envelope; consumer groups read, handle, then XACK (createStreamConsumer). What a dead consumer left
// pending is claimed by another; what cannot be parsed or keeps failing goes to the dead-letter stream.
// A handler that fails because something it needs is away (MongoDB, Redis) is not a bad message: the
// consumer holds the entry, pauses and retries it with back-off without spending its deliveries.
// Over ~400 lines on purpose: the consumer's read, claim, retry, pause and dead-letter paths share its
// state (pending entries, back-off, deliveries) and are only correct read together.
import type { BusEventData, BusEventType } from '@voip/contracts/bus-events';
import { streams } from '@voip/contracts/redis-keys';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { type BusEnvelope, createEnvelope, parseEnvelope } from './envelope.js';

/** The stream entry has a single field holding the JSON envelope. */
export const ENTRY_FIELD = 'envelope';

export interface StreamProducer {
  readonly source: string;
  /** Appends a validated envelope; resolves to the stream entry id. */
  append<K extends BusEventType>(
    stream: string,
    type: K,
    data: BusEventData<K>,
  ): Promise<{ entryId: string; envelope: BusEnvelope<K> }>;
}

export function createStreamProducer(
  redis: Redis,
  source: string,
  { maxLen = 1_000_000 } = {},
): StreamProducer {
  return {
    source,
    async append(stream, type, data) {
      const envelope = createEnvelope(type, data, source);
      const entryId = await redis.xadd(
        stream,
        'MAXLEN',
        '~',
        String(maxLen),
        '*',
        ENTRY_FIELD,
        JSON.stringify(envelope),
      );
      if (!entryId) throw new Error(`XADD to ${stream} returned no id`);
      return { entryId, envelope };
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Consumer

/** Where an entry came from, for handlers that want it (idempotency keys, logs). */
export interface EntryMeta {
  stream: string;
  entryId: string;
  /** 1 on first delivery; more when it was claimed after a failure or a dead consumer. */
  deliveries: number;
}

export type StreamHandler<K extends BusEventType> = (
  envelope: BusEnvelope<K>,
  meta: EntryMeta,
) => Promise<void> | void;
export type StreamHandlers = { [K in BusEventType]?: StreamHandler<K> };

export type DeadLetterReason =
  | 'invalid-json'
  | 'invalid-envelope'
  | 'invalid-data'
  | 'missing-envelope-field'
  | 'max-deliveries';

/** `deferred`: the handler failed on an unavailable dependency; the entry is held and retried. */
export type ConsumerOutcome = 'processed' | 'failed' | 'dead-lettered' | 'skipped' | 'deferred';

export interface OutcomeInfo {
  stream: string;
  group: string;
  entryId: string;
  type?: string;
  reason?: DeadLetterReason | 'unknown-type' | 'no-handler' | 'replay-for-other-group';
}

/**
 * Thrown by a handler (or anything it calls) to say "this entry is fine, but something I need is away":
 * the consumer then holds the entry and retries it with back-off instead of spending a delivery.
 */
export class DependencyUnavailableError extends Error {
  override readonly name = 'DependencyUnavailableError';
  constructor(
    readonly dependency: string,
    message = `${dependency} unavailable`,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

// Errors that say a server could not be reached or answered nothing, never that a request was wrong:
// the MongoDB driver's and mongoose's connection errors, ioredis's, and Node's socket errors.
const DEPENDENCY_ERROR_NAMES: Record<string, string> = {
  MongoServerSelectionError: 'mongo',
  MongooseServerSelectionError: 'mongo',
  MongoNetworkError: 'mongo',
  MongoNetworkTimeoutError: 'mongo',
  MongoNotConnectedError: 'mongo',
  MongoTopologyClosedError: 'mongo',
  MongoPoolClearedError: 'mongo',
  MongoWaitQueueTimeoutError: 'mongo',
  MaxRetriesPerRequestError: 'redis',
};
const DEPENDENCY_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
const DEPENDENCY_MESSAGES: Array<[RegExp, string]> = [
  [/before initial connection is complete|Client must be connected|Topology is closed/i, 'mongo'],
  [/Connection is closed|Stream isn't writeable|enableOfflineQueue/i, 'redis'],
  [/^(LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b/, 'redis'],
];

/**
 * Which dependency an error says is unavailable ('mongo', 'redis', or the name a
 * DependencyUnavailableError carries), or null for an error that says nothing of the kind. Looks
 * through `cause`, `reason` and AggregateError's `errors`.
 */
export function unavailableDependency(err: unknown, depth = 0): string | null {
  if (!err || typeof err !== 'object' || depth > 4) return null;
  if (err instanceof DependencyUnavailableError) return err.dependency;
  const e = err as {
    name?: unknown;
    code?: unknown;
    message?: unknown;
    cause?: unknown;
    reason?: unknown;
    errors?: unknown;
  };
  const name = typeof e.name === 'string' ? e.name : '';
  if (name in DEPENDENCY_ERROR_NAMES) return DEPENDENCY_ERROR_NAMES[name] ?? null;
  const message = typeof e.message === 'string' ? e.message : '';
  for (const [pattern, dependency] of DEPENDENCY_MESSAGES) if (pattern.test(message)) return dependency;
  if (typeof e.code === 'string' && DEPENDENCY_ERROR_CODES.has(e.code))
    return name.startsWith('Mongo') ? 'mongo' : 'dependency';
  for (const inner of [e.cause, e.reason, ...(Array.isArray(e.errors) ? e.errors : [])]) {
    const found = unavailableDependency(inner, depth + 1);
    if (found) return found;
  }
  return null;
}

export interface ConsumerStatus {
  state: 'idle' | 'running' | 'paused' | 'stopped';
  /** Why it is paused, e.g. "paused: mongo unavailable". */
  reason?: string;
  /** When the pause began (epoch ms). */
  since?: number;
}

export interface ConsumerStats {
  /** handled and acked */
  processed: number;
  /** handler threw; left pending for a retry */
  failed: number;
  deadLettered: number;
  /** unknown type or no handler: acked without handling */
  skipped: number;
  /** entries taken over from an idle (dead or failing) consumer */
  claimed: number;
  /** Redis errors the loop recovered from */
  errors: number;
  /** handler retries made while a dependency was unavailable (not counted as deliveries) */
  deferred: number;
  running: boolean;
  paused: boolean;
}

export interface StreamConsumerOptions {
  /** A client to duplicate: the consumer blocks on a connection of its own. */
  redis: Redis;
  stream: string;
  group: string;
  /** This consumer's name in the group (stable per process, e.g. the instance id). */
  consumer: string;
  handlers: StreamHandlers;
  logger?: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  /** How long one XREADGROUP blocks (ms). */
  blockMs?: number;
  /** Entries read per XREADGROUP / XAUTOCLAIM. */
  batch?: number;
  /** Pending entries idle longer than this (left by a dead or failing consumer) are claimed and re-delivered. */
  claimIdleMs?: number;
  /** How often to look for claimable entries (default: min(claimIdleMs, blockMs)). */
  claimIntervalMs?: number;
  /** After this many deliveries an entry goes to the dead-letter stream instead of the handler. */
  maxDeliveries?: number;
  deadLetterStream?: string;
  /** Where a new group starts: '0' so nothing appended before the group existed is lost. */
  startId?: string;
  /** Consumers of the group with nothing pending and idle this long are removed (dead instances). */
  pruneIdleConsumersMs?: number;
  /** Called once per entry outcome, e.g. to bump a prom-client counter. Must not throw. */
  onOutcome?: (outcome: ConsumerOutcome, info: OutcomeInfo) => void;
  /**
   * Tells a handler error that means "a dependency is away" (the entry is held and retried, no delivery
   * spent) from one that means "this entry fails" (retried via the claim loop, then dead-lettered).
   * Returns the dependency's name or null. Default: unavailableDependency().
   */
  classifyError?: (err: unknown) => string | null;
  /**
   * A cheap health probe of what the handlers need (e.g. mongoose's readyState === 1). While it says
   * false the consumer neither reads nor claims, and any handler failure counts as an outage.
   */
  isDependencyAvailable?: () => boolean | Promise<boolean>;
  /** The probe's dependency, for the pause reason ('mongo'). */
  dependency?: string;
  /** First back-off while a dependency is away (ms); doubles up to outageRetryMaxMs, ±25% jitter. */
  outageRetryMs?: number;
  outageRetryMaxMs?: number;
}

export interface StopOptions {
  /** Give up waiting for the in-flight handler after this long; its entry stays pending (re-delivered). */
  timeoutMs?: number;
}

export interface StreamConsumer {
  start(): void;
  /** Finishes the in-flight message (at most timeoutMs), then closes the consumer's connection. */
  stop(opts?: StopOptions): Promise<void>;
  readonly stats: Readonly<ConsumerStats>;
  /** running, or paused with the reason (for /ready). */
  readonly status: Readonly<ConsumerStatus>;
}

/** The field a replayed dead letter carries: only that group handles it, the stream's other groups skip it. */
export const REPLAY_FOR_FIELD = 'replayFor';

type RawEntry = [id: string, fields: string[]];

const REDIS_PAUSE = 'paused: redis unavailable';

const noopLogger = { debug() {}, info() {}, warn() {}, error() {} };
const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

function fieldValue(fields: string[] | null | undefined, name: string): string | undefined {
  if (!Array.isArray(fields)) return undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

export function createStreamConsumer(opts: StreamConsumerOptions): StreamConsumer {
  const {
    stream,
    group,
    consumer,
    handlers,
    blockMs = 5000,
    batch = 32,
    claimIdleMs = 30_000,
    maxDeliveries = 5,
    deadLetterStream = streams.deadLetter,
    startId = '0',
    pruneIdleConsumersMs = 60 * 60_000,
    onOutcome,
    classifyError = unavailableDependency,
    isDependencyAvailable,
    dependency = 'dependency',
    outageRetryMs = 500,
    outageRetryMaxMs = 30_000,
  } = opts;
  const claimIntervalMs = opts.claimIntervalMs ?? Math.min(claimIdleMs, blockMs);
  const log = opts.logger ?? noopLogger;
  const ctx = { stream, group, consumer };
  const stats: ConsumerStats = {
    processed: 0,
    failed: 0,
    deadLettered: 0,
    skipped: 0,
    claimed: 0,
    errors: 0,
    deferred: 0,
    running: false,
    paused: false,
  };
  let status: ConsumerStatus = { state: 'idle' };

  // Blocking XREADGROUP would stall every other command on a shared connection, so the consumer owns one.
  // A command that fails while Redis is away is not retried here: the loop below backs off and starts over.
  // CLIENT SETNAME refuses spaces (ioredis then leaves the connection unnamed): keep it findable in CLIENT LIST.
  const connectionName = `bus:${group}:${consumer}`.replace(/[^\w.:-]/g, '_');
  const conn = opts.redis.duplicate({ connectionName, lazyConnect: true });
  conn.on('error', (err) => log.debug({ ...ctx, err: err.message }, 'stream consumer connection error'));

  let loop: Promise<void> | undefined;
  let stopping = false;
  let abandoned = false;
  let reading = false;
  let groupReady = false;
  let nextClaimAt = 0;
  let claimCursor = '0-0';
  let wake: (() => void) | undefined;
  let stopped: Promise<void> | undefined;

  const report = (outcome: ConsumerOutcome, info: Omit<OutcomeInfo, 'stream' | 'group'>) => {
    try {
      onOutcome?.(outcome, { stream, group, ...info });
    } catch (err) {
      log.warn({ ...ctx, err: errorMessage(err) }, 'onOutcome hook threw');
    }
  };

  /** Entries of the batch being handled that this consumer still holds (kept claimed during an outage). */
  let held: string[] = [];

  function pause(reason: string) {
    if (status.state === 'paused' && status.reason === reason) return;
    const first = status.state !== 'paused';
    status = { state: 'paused', reason, since: first ? Date.now() : (status.since ?? Date.now()) };
    stats.paused = true;
    log.warn({ ...ctx, reason }, 'stream consumer paused');
  }

  function resume() {
    if (status.state !== 'paused') return;
    log.info({ ...ctx, pausedMs: Date.now() - (status.since ?? Date.now()) }, 'stream consumer resumed');
    status = { state: 'running' };
    stats.paused = false;
  }

  /** Exponential back-off for attempt 1, 2, ...: outageRetryMs doubling up to outageRetryMaxMs, ±25% jitter. */
  const outageDelay = (attempt: number) =>
    Math.min(outageRetryMs * 2 ** Math.min(attempt - 1, 30), outageRetryMaxMs) * (0.75 + Math.random() / 2);

  async function dependencyAvailable(): Promise<boolean> {
    if (!isDependencyAvailable) return true;
    try {
      return await isDependencyAvailable();
    } catch {
      return false;
    }
  }

  /** The unavailable dependency a handler error stands for, or null when the entry itself failed. */
  async function outageOf(err: unknown): Promise<string | null> {
    let found: string | null = null;
    try {
      found = classifyError(err);
    } catch {
      found = null;
    }
    if (found) return found === 'dependency' ? dependency : found;
    return (await dependencyAvailable()) ? null : dependency;
  }

  /**
   * Waits `ms` while keeping the held entries claimed: XCLAIM ... JUSTID resets their idle time without
   * counting a delivery, so no other consumer takes them (and spends a delivery) while this one waits.
   */
  async function holdFor(ms: number) {
    const step = Math.max(50, Math.floor(claimIdleMs / 3));
    for (let left = ms; left > 0 && !stopping; left -= step) {
      await sleep(Math.min(left, step));
      if (stopping || abandoned || held.length === 0) continue;
      await conn.xclaim(stream, group, consumer, 0, ...held, 'JUSTID').catch(() => undefined);
    }
  }

  async function ensureGroup() {
    try {
      await conn.xgroup('CREATE', stream, group, startId, 'MKSTREAM');
      log.info({ ...ctx, startId }, 'stream consumer group created');
    } catch (err) {
      if (!/BUSYGROUP/.test(errorMessage(err))) throw err;
    }
    groupReady = true;
  }

  async function ack(entryId: string) {
    if (abandoned) return;
    await conn.xack(stream, group, entryId);
  }

  async function deadLetter(
    entryId: string,
    fields: string[],
    reason: DeadLetterReason,
    detail: string,
    deliveries: number,
    type?: string,
  ) {
    if (abandoned) return;
    const raw = fieldValue(fields, ENTRY_FIELD) ?? JSON.stringify(fields ?? null);
    // One MULTI: the entry is never acked without its dead letter, nor dead-lettered twice by a crash between.
    const res = await conn
      .multi()
      .xadd(
        deadLetterStream,
        'MAXLEN',
        '~',
        '100000',
        '*',
        'reason',
        reason,
        'detail',
        detail.slice(0, 2000),
        'stream',
        stream,
        'group',
        group,
        'consumer',
        consumer,
        'entryId',
        entryId,
        'deliveries',
        String(deliveries),
        'type',
        type ?? '',
        'at',
        new Date().toISOString(),
        'raw',
        raw,
      )
      .xack(stream, group, entryId)
      .exec();
    const failed = res?.find(([e]) => e);
    if (!res || failed) throw failed?.[0] ?? new Error('dead-letter transaction aborted');
    stats.deadLettered++;
    log.warn({ ...ctx, entryId, reason, detail, deliveries, type }, 'stream entry dead-lettered');
    report('dead-lettered', { entryId, reason, ...(type ? { type } : {}) });
  }

  async function processEntry(entryId: string, fields: string[], deliveries: number) {
    const raw = fieldValue(fields, ENTRY_FIELD);
    if (raw === undefined)
      return deadLetter(entryId, fields, 'missing-envelope-field', `no "${ENTRY_FIELD}" field`, deliveries);
    const parsed = parseEnvelope(raw);
    if (!parsed.ok) {
      if (parsed.reason === 'unknown-type') {
        // Producers may be newer than this consumer: a type it does not know is not an error.
        log.debug({ ...ctx, entryId, type: parsed.type }, 'unknown stream event type skipped');
        await ack(entryId);
        stats.skipped++;
        report('skipped', { entryId, reason: 'unknown-type', ...(parsed.type ? { type: parsed.type } : {}) });
        return;
      }
      return deadLetter(entryId, fields, parsed.reason, parsed.detail, deliveries, parsed.type);
    }
    const env = parsed.envelope;
    const replayFor = fieldValue(fields, REPLAY_FOR_FIELD);
    if (replayFor !== undefined && replayFor !== group) {
      // A dead letter replayed for another group of this stream: this group handled it the first time.
      await ack(entryId);
      stats.skipped++;
      report('skipped', { entryId, type: env.type, reason: 'replay-for-other-group' });
      return;
    }
    const handler = handlers[env.type] as StreamHandler<BusEventType> | undefined;
    if (!handler) {
      log.debug({ ...ctx, entryId, type: env.type }, 'stream event without a handler skipped');
      await ack(entryId);
      stats.skipped++;
      report('skipped', { entryId, type: env.type, reason: 'no-handler' });
      return;
    }
    if (deliveries > maxDeliveries)
      return deadLetter(
        entryId,
        fields,
        'max-deliveries',
        `handler failed ${deliveries - 1} times`,
        deliveries,
        env.type,
      );
    for (let attempt = 1; ; attempt++) {
      try {
        await handler(env, { stream, entryId, deliveries });
        break;
      } catch (err) {
        const unavailable = stopping ? null : await outageOf(err);
        if (unavailable === null) return handlerFailed(entryId, env, deliveries, err);
        // Not this entry's fault: hold it (and the rest of the batch), pause and retry it here, so no
        // delivery is spent and nothing newer overtakes it. stop() ends the wait; it then stays pending.
        stats.deferred++;
        pause(`paused: ${unavailable} unavailable`);
        const retryInMs = Math.round(outageDelay(attempt));
        log.warn(
          { ...ctx, entryId, type: env.type, eventId: env.id, attempt, retryInMs, err: errorMessage(err) },
          'stream handler failed on an unavailable dependency; holding the entry and retrying',
        );
        report('deferred', { entryId, type: env.type });
        await holdFor(retryInMs);
        // With a probe, the next try waits until it says the dependency is back.
        while (!stopping && !(await dependencyAvailable())) await holdFor(outageDelay(++attempt));
        if (stopping) return;
      }
    }
    resume();
    await ack(entryId);
    stats.processed++;
    report('processed', { entryId, type: env.type });
  }

  /** The entry failed on a healthy dependency: left pending, the claim step re-delivers it once idle for claimIdleMs, up to maxDeliveries. */
  function handlerFailed(entryId: string, env: BusEnvelope, deliveries: number, err: unknown) {
    resume();
    stats.failed++;
    log.error({ ...ctx, entryId, type: env.type, eventId: env.id, deliveries, err }, 'stream handler failed');
    report('failed', { entryId, type: env.type });
  }

  /** Takes over entries idle for claimIdleMs (their consumer died or their handler failed) and handles them. */
  async function claimIdle(): Promise<number> {
    const res = (await conn.xautoclaim(
      stream,
      group,
      consumer,
      claimIdleMs,
      claimCursor,
      'COUNT',
      batch,
    )) as [string, Array<RawEntry | null>, string[]?];
    claimCursor = res[0] ?? '0-0';
    const entries = (res[1] ?? []).filter((e): e is RawEntry => Array.isArray(e));
    const deleted = res[2] ?? [];
    if (deleted.length > 0)
      log.warn({ ...ctx, entryIds: deleted }, 'pending entries were trimmed from the stream before handling');
    if (entries.length === 0) return 0;
    stats.claimed += entries.length;
    log.info({ ...ctx, count: entries.length }, 'claimed idle pending entries');
    // XAUTOCLAIM does not say how often an entry was delivered; XPENDING on each id does.
    const pipe = conn.pipeline();
    for (const [id] of entries) pipe.xpending(stream, group, id, id, 1);
    const counts = (await pipe.exec()) ?? [];
    held = entries.map(([id]) => id);
    for (const [i, [id, fields]] of entries.entries()) {
      if (stopping) break;
      const row = (counts[i]?.[1] as Array<[string, string, number, number]> | undefined)?.[0];
      await processEntry(id, fields, Number(row?.[3] ?? 1));
      held = held.filter((h) => h !== id);
    }
    held = [];
    return entries.length;
  }

  // Deleting a consumer drops its pending entries, so the check and the delete happen in one script.
  const DELETE_IF_NOTHING_PENDING = `
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) == 0 then
  return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
end
return -1`;

  /** Removes consumers that hold nothing and have not been seen for a long time (instances that are gone). */
  async function pruneConsumers() {
    const rows = (await conn.xinfo('CONSUMERS', stream, group)) as unknown[][];
    for (const row of rows) {
      const info: Record<string, unknown> = {};
      for (let i = 0; i + 1 < row.length; i += 2) info[String(row[i])] = row[i + 1];
      const name = String(info.name);
      if (name !== consumer && Number(info.pending) === 0 && Number(info.idle) > pruneIdleConsumersMs) {
        const removed = await conn.eval(DELETE_IF_NOTHING_PENDING, 1, stream, group, name);
        if (removed !== -1) log.info({ ...ctx, removed: name }, 'idle consumer removed from group');
      }
    }
  }

  async function readNew() {
    reading = true;
    let res: Array<[string, RawEntry[]]> | null;
    try {
      res = (await conn.xreadgroup(
        'GROUP',
        group,
        consumer,
        'COUNT',
        batch,
        'BLOCK',
        blockMs,
        'STREAMS',
        stream,
        '>',
      )) as Array<[string, RawEntry[]]> | null;
    } finally {
      reading = false;
    }
    for (const [, entries] of res ?? []) {
      held = entries.map(([id]) => id);
      for (const [id, fields] of entries) {
        // Entries read but not started stay pending and are claimed after claimIdleMs (at-least-once).
        if (stopping) return;
        await processEntry(id, fields, 1);
        held = held.filter((h) => h !== id);
      }
    }
    held = [];
  }

  function sleep(ms: number) {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    }).finally(() => {
      wake = undefined;
    });
  }

  async function run() {
    let failures = 0;
    let nextPruneAt = 0;
    let probeFailures = 0;
    while (!stopping) {
      // The handlers' dependency is away: read and claim nothing (nothing would be handled) until it is back.
      if (!(await dependencyAvailable())) {
        pause(`paused: ${dependency} unavailable`);
        await sleep(outageDelay(++probeFailures));
        continue;
      }
      probeFailures = 0;
      // Nothing is held between entries: a pause for the dependency is over once the probe says so.
      if (status.state === 'paused' && status.reason !== REDIS_PAUSE) resume();
      try {
        if (!groupReady) await ensureGroup();
        if (Date.now() >= nextClaimAt) {
          const claimed = await claimIdle();
          // A full batch means more may be waiting: look again right away.
          nextClaimAt = claimed === batch ? 0 : Date.now() + claimIntervalMs;
          if (Date.now() >= nextPruneAt) {
            nextPruneAt = Date.now() + Math.max(60_000, Math.min(pruneIdleConsumersMs, 10 * 60_000));
            await pruneConsumers();
          }
        }
        if (stopping) break;
        await readNew();
        failures = 0;
        if (status.reason === REDIS_PAUSE) resume();
      } catch (err) {
        if (stopping) break;
        const message = errorMessage(err);
        // The stream or group was deleted under us: recreate it and carry on.
        if (/NOGROUP|no such key/i.test(message)) groupReady = false;
        stats.errors++;
        if (unavailableDependency(err) === 'redis' || conn.status !== 'ready') pause(REDIS_PAUSE);
        const delay = Math.min(100 * 2 ** failures, 5000) * (0.75 + Math.random() / 2);
        failures = Math.min(failures + 1, 10);
        log.warn({ ...ctx, err: message, retryInMs: Math.round(delay) }, 'stream consumer error; retrying');
        await sleep(delay);
      }
    }
  }

  return {
    get stats() {
      return { ...stats };
    },
    get status() {
      return { ...status };
    },
    start() {
      if (loop || stopping) return;
      stats.running = true;
      status = { state: 'running' };
      loop = run()
        .catch((err) => log.error({ ...ctx, err }, 'stream consumer loop ended unexpectedly'))
        .finally(() => {
          stats.running = false;
          stats.paused = false;
          status = { state: 'stopped' };
        });
    },
    stop(stopOpts: StopOptions = {}) {
      stopped ??= stopNow(stopOpts);
      return stopped;
    },
  };

  async function stopNow({ timeoutMs = 10_000 }: StopOptions) {
    stopping = true;
    wake?.();
    // Blocked in XREADGROUP with nothing in flight: nothing to finish, so drop the connection now.
    if (reading) conn.disconnect();
    if (loop) {
      let timer: NodeJS.Timeout | undefined;
      const finished = await Promise.race([
        loop.then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (!finished) {
        abandoned = true;
        log.warn(
          { ...ctx, timeoutMs },
          'in-flight stream entry abandoned on stop; it stays pending for another consumer',
        );
      }
    }
    stats.running = false;
    if (conn.status === 'end') return;
    if (abandoned || conn.status !== 'ready') conn.disconnect();
    else await conn.quit().catch(() => conn.disconnect());
  }
}

// ---------------------------------------------------------------------------------------------------
// Backlog

export interface StreamBacklog {
  /** false when the stream or the group does not exist (yet). */
  exists: boolean;
  /** entries delivered to a consumer and not yet acked */
  pending: number;
  /** entries not yet delivered to the group; null when Redis cannot tell (after XDEL, or Redis < 7) */
  lag: number | null;
  consumers: number;
  lastDeliveredId: string | null;
}

/** One group's backlog, for readiness and metrics: XINFO GROUPS (pending and, on Redis 7, lag). */
export async function streamBacklog(redis: Redis, stream: string, group: string): Promise<StreamBacklog> {
  const none: StreamBacklog = { exists: false, pending: 0, lag: 0, consumers: 0, lastDeliveredId: null };
  let rows: unknown[][];
  try {
    rows = (await redis.xinfo('GROUPS', stream)) as unknown[][];
  } catch (err) {
    if (/no such key/i.test(errorMessage(err))) return none;
    throw err;
  }
  for (const row of rows) {
    const info: Record<string, unknown> = {};
    for (let i = 0; i + 1 < row.length; i += 2) info[String(row[i])] = row[i + 1];
    if (info.name !== group) continue;
    const lag = info.lag;
    return {
      exists: true,
      pending: Number(info.pending ?? 0),
      lag: lag === null || lag === undefined ? null : Number(lag),
      consumers: Number(info.consumers ?? 0),
      lastDeliveredId: typeof info['last-delivered-id'] === 'string' ? info['last-delivered-id'] : null,
    };
  }
  return none;
}

// ---------------------------------------------------------------------------------------------------
// Several consumers of one group in one process

/**
 * `count` consumers of one group in this process, seen as one: named `<consumer>` and `<consumer>.2`…,
 * each with its own connection, reading its own share of new entries, so that many handlers (database
 * round trips) are in flight at once; started and stopped together. Use it only where the handlers do
 * not depend on the order of entries across keys (each entry is still handled once, acked after its
 * handler, claimed and dead-lettered as by one consumer). Stats are summed; the status is paused while
 * any consumer is (with the first reason), so /ready and the outage behaviour read as for one.
 */
export function createStreamConsumers(opts: StreamConsumerOptions & { count?: number }): StreamConsumer {
  const count = Math.max(1, Math.floor(opts.count ?? 1));
  if (count === 1) return createStreamConsumer(opts);
  const all = Array.from({ length: count }, (_, i) =>
    createStreamConsumer({ ...opts, consumer: i === 0 ? opts.consumer : `${opts.consumer}.${i + 1}` }),
  );
  return {
    start() {
      for (const c of all) c.start();
    },
    async stop(stopOpts) {
      await Promise.all(all.map((c) => c.stop(stopOpts)));
    },
    get stats() {
      const sum = { ...all[0]!.stats };
      for (const c of all.slice(1)) {
        const s = c.stats;
        sum.processed += s.processed;
        sum.failed += s.failed;
        sum.deadLettered += s.deadLettered;
        sum.skipped += s.skipped;
        sum.claimed += s.claimed;
        sum.errors += s.errors;
        sum.deferred += s.deferred;
        sum.running ||= s.running;
        sum.paused ||= s.paused;
      }
      return sum;
    },
    get status(): Readonly<ConsumerStatus> {
      const statuses = all.map((c) => c.status);
      const paused = statuses
        .filter((s) => s.state === 'paused')
        .sort((a, b) => (a.since ?? 0) - (b.since ?? 0))[0];
      if (paused) return paused;
      if (statuses.some((s) => s.state === 'running')) return { state: 'running' };
      return statuses.every((s) => s.state === 'stopped') ? { state: 'stopped' } : { state: 'idle' };
    },
  };
}
