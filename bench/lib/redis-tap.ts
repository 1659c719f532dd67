// Preloaded (after lib/probe.ts) into a signaling instance whose incoming pub/sub traffic a scenario
// counts: every message its ioredis connections receive (message, pmessage, smessage) is counted by kind,
// the channel with ids folded away plus, for the Socket.io adapter's channels, the event the packet
// carries. lib/probe.ts returns the counts with each probe (`tap`). The ioredis class is taken from the
// server's own dependencies (the same module instance the service uses).
import { createRequire } from 'node:module';
import { join } from 'node:path';

const counts: Record<string, number> = {};
const EVENTS = [
  'presence',
  'call-ended',
  'call-rejected',
  'incoming-call',
  'call-accepted',
  'call-ringing',
  'call-answered-elsewhere',
  'ice-candidate',
  'renegotiate',
  'peer-reconnecting',
  'peer-reconnected',
  'session-revoked',
  'server-shutdown',
];
const ID = /[0-9A-HJKMNP-TV-Z]{26}/g;

function kindOf(channel: unknown, message: unknown): string {
  const c = Buffer.isBuffer(channel) ? channel.toString() : String(channel);
  if (c.includes(':sio#')) {
    const room = c.split('#')[2] ?? '';
    const where =
      room === ''
        ? 'adapter base channel (every instance)'
        : `adapter room ${room.replace(ID, '*').replace(/[^:]+$/, '*')}`;
    const body = Buffer.isBuffer(message) ? message.toString('latin1') : String(message);
    const ev = EVENTS.find((e) => body.includes(e));
    return `${where}: ${ev ?? 'other'}`;
  }
  return c.replace(ID, '*');
}

const seen = new Set<unknown>();
for (const dir of [
  process.cwd(),
  join(process.cwd(), '../../packages/kit'),
  join(process.cwd(), '../../packages/bus'),
]) {
  try {
    const mod = createRequire(join(dir, 'package.json'))('ioredis') as { default?: unknown };
    const Redis = (mod.default ?? mod) as { prototype: { emit(ev: string, ...a: unknown[]): boolean } };
    if (seen.has(Redis)) continue;
    seen.add(Redis);
    const emit = Redis.prototype.emit;
    Redis.prototype.emit = function (this: unknown, ev: string, ...a: unknown[]) {
      // ioredis emits the Buffer variants for every message (the string ones only with listeners).
      if (ev === 'messageBuffer' || ev === 'smessageBuffer') {
        const k = kindOf(a[0], a[1]);
        counts[k] = (counts[k] ?? 0) + 1;
      } else if (ev === 'pmessageBuffer') {
        const k = kindOf(a[1], a[2]);
        counts[k] = (counts[k] ?? 0) + 1;
      }
      return emit.call(this, ev, ...a);
    };
  } catch {
    /* no ioredis there */
  }
}
(globalThis as { __benchTap?: () => Record<string, number> }).__benchTap = () => ({ ...counts });
