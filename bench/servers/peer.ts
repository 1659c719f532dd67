// The PeerJS server baseline (npm `peer`): its own JSON protocol over `ws`; a client opens
// `/peerjs?key=peerjs&id=…&token=…` and sends `{type: "CANDIDATE", dst, payload}`, which the server
// forwards to the destination peer's socket with `src` added. Single process, in memory (no Redis).
import { PeerServer } from 'peer';

PeerServer({
  host: '127.0.0.1',
  port: Number(process.env.PORT),
  path: '/',
  key: 'peerjs',
  concurrent_limit: 1_000_000,
  alive_timeout: 600_000,
  expire_timeout: 600_000,
  allow_discovery: false,
});
process.on('SIGTERM', () => process.exit(0));
