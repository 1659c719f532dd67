// The bare Socket.io baseline: the same Socket.io version, engine settings and sharded Redis adapter as
// apps/signaling, each socket in a room per user and a room per device (as ours), and a relay that emits
// to the target device's room (`io.to(room).emit`), the same kind of room ours delivers to. No auth, no
// validation, no call state: what Socket.io itself costs. `auth: {userId, clientId}` names the socket.
// BARE_ROOMS=user: the room per user only. REDIS_URL unset: the in-memory adapter (a single instance).
import { createServer } from 'node:http';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const http = createServer((req, res) => {
  res.writeHead(req.url === '/ready' ? 200 : 404).end();
});
const redisUrl = process.env.REDIS_URL;
const pub = redisUrl ? new Redis(redisUrl) : null;
const sub = pub?.duplicate() ?? null;
const io = new Server(http, {
  path: '/socket.io',
  serveClient: false,
  perMessageDeflate: false,
  httpCompression: false,
  maxHttpBufferSize: 64 * 1024,
  pingInterval: 25_000,
  pingTimeout: 20_000,
  connectTimeout: 5000,
  cleanupEmptyChildNamespaces: true,
  ...(pub && sub
    ? { adapter: createShardedAdapter(pub, sub, { channelPrefix: 'sio', subscriptionMode: 'dynamic' }) }
    : {}),
});
io.on('connection', async (socket) => {
  const a = socket.handshake.auth as { userId?: string; clientId?: string };
  const userId = String(a.userId ?? socket.id);
  const clientId = String(a.clientId ?? socket.id);
  await socket.join(
    process.env.BARE_ROOMS === 'user'
      ? [`user:${userId}`]
      : [`user:${userId}`, `client:${userId}:${clientId}`],
  );
  if (sub) await sub.ping();
  socket.emit('session', { ok: true });
  socket.on('relay', (m: { to: string; data: unknown }, ack?: (r: unknown) => void) => {
    io.to(m.to).emit('ice-candidate', m.data);
    ack?.({ ok: true });
  });
});
http.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  io.close();
  pub?.disconnect();
  sub?.disconnect();
  process.exit(0);
});
