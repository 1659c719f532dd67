// Events that must not be lost (call history, account lifecycle): Redis Streams. Producers XADD an
// envelope; consumer groups read, handle, then XACK (see createStreamConsumer).
import type { BusEventData, BusEventType } from '@voip/contracts/bus-events';
import type { Redis } from 'ioredis';
import { type BusEnvelope, createEnvelope } from './envelope.js';

/** The stream entry has a single field holding the JSON envelope. */
export const ENTRY_FIELD = 'envelope';

export interface StreamProducer {
  readonly source: string;
  /** Appends a validated envelope; resolves to the stream entry id. */
  append<K extends BusEventType>(stream: string, type: K, data: BusEventData<K>): Promise<{ entryId: string; envelope: BusEnvelope<K> }>;
}

export function createStreamProducer(redis: Redis, source: string, { maxLen = 1_000_000 } = {}): StreamProducer {
  return {
    source,
    async append(stream, type, data) {
      const envelope = createEnvelope(type, data, source);
      const entryId = await redis.xadd(stream, 'MAXLEN', '~', String(maxLen), '*', ENTRY_FIELD, JSON.stringify(envelope));
      if (!entryId) throw new Error(`XADD to ${stream} returned no id`);
      return { entryId, envelope };
    },
  };
}
