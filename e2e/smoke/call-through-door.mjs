#!/usr/bin/env node
// One call through the public door, as a client does it: two accounts registered over /api, both
// connected to /socket.io over WebSocket, POST /api/calls, call-user → incoming-call → accept-call →
// call-accepted → end-call → call-ended, and the call in both histories as `answered`.
// CI runs it against the compose stack of the images just built (.github/workflows/images.yml);
// e2e/test/smoke-client.test.ts runs it against the test stack. Plain JavaScript with one dependency
// (socket.io-client, e2e's), so it needs no build. Exit 0 = the call went through; otherwise one line why.
//   node e2e/smoke/call-through-door.mjs https://localhost --ca .voip/tls/ca.pem
// The door serves HTTPS/WSS with a certificate of a local CA (infra/docker/local-cert.sh, or the dev
// stack's): `--ca FILE` or SMOKE_CA_FILE adds that CA to the system's for every connection of this process
// (fetch and the WebSocket); NODE_EXTRA_CA_CERTS works as well. A public certificate needs neither.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';
import { parseArgs } from 'node:util';
import { io } from 'socket.io-client';

const { values: opts, positionals } = parseArgs({
  options: { ca: { type: 'string' } },
  allowPositionals: true,
});
const base = (positionals[0] ?? process.env.VOIP_URL ?? 'https://localhost').replace(/\/$/, '');
const caFile = opts.ca ?? process.env.SMOKE_CA_FILE;
const TIMEOUT_MS = Number(process.env.SMOKE_TIMEOUT_MS ?? 20_000);
const step = (what) => process.stdout.write(`smoke: ${what}\n`);

async function api(method, path, { token, body } = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, body: json, text };
}

function expectStatus(res, status, what) {
  if (res.status !== status)
    throw new Error(`${what}: expected ${status}, got ${res.status} ${res.text.slice(0, 200)}`);
  return res.body;
}

async function register(name) {
  const username = `smoke_${name.toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const body = expectStatus(
    await api('POST', '/api/auth/register', {
      body: { username, password: `smoke ${randomBytes(8).toString('hex')}`, displayName: name },
    }),
    201,
    `register ${name}`,
  );
  return { id: body.user.id, token: body.accessToken };
}

function connect(account) {
  const clientId = `smoke${randomBytes(12).toString('hex')}`;
  const socket = io(base, {
    path: '/socket.io',
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: TIMEOUT_MS,
    auth: { token: account.token, clientId },
    query: { clientId },
  });
  return new Promise((resolve, reject) => {
    socket.once('session', () => resolve(socket));
    socket.once('connect_error', (err) => reject(new Error(`socket connect: ${err.message}`)));
  });
}

const next = (socket, event) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    socket.once(event, (payload) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });

async function emit(socket, event, payload) {
  const ack = await socket.timeout(TIMEOUT_MS).emitWithAck(event, payload);
  if (!ack?.ok) throw new Error(`${event} refused: ${JSON.stringify(ack)}`);
  return ack;
}

/** The call in the account's history, once the call service has written it (from its stream). */
async function historyEntry(account, callId) {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const page = expectStatus(
      await api('GET', '/api/calls?limit=20', { token: account.token }),
      200,
      'history',
    );
    const entry = page.items.find((c) => c.callId === callId);
    if (entry) return entry;
    if (Date.now() > deadline) throw new Error(`call ${callId} not in history after ${TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The failure and, for fetch's generic "fetch failed", its cause (a refused connection, an untrusted certificate). */
const reason = (err) => {
  const cause = err?.cause?.message ?? err?.cause?.code;
  return cause && cause !== err.message ? `${err.message} (${cause})` : err.message;
};

const sockets = [];
try {
  if (caFile) {
    let pem;
    try {
      pem = readFileSync(caFile, 'utf8');
    } catch (err) {
      throw new Error(`cannot read the CA file ${caFile}: ${err.code ?? err.message}`);
    }
    tls.setDefaultCACertificates([...tls.getCACertificates('default'), pem]);
  }
  expectStatus(await api('GET', '/api/auth/me'), 401, 'GET /api/auth/me without a token');
  const [alice, bob] = await Promise.all([register('Alice'), register('Bob')]);
  step(`registered ${alice.id} and ${bob.id}`);
  const [aliceSocket, bobSocket] = await Promise.all([connect(alice), connect(bob)]);
  sockets.push(aliceSocket, bobSocket);
  step('both connected over WebSocket');

  const created = expectStatus(
    await api('POST', '/api/calls', { token: alice.token, body: { calleeId: bob.id, media: 'audio' } }),
    201,
    'POST /api/calls',
  );
  const { callId } = created;
  const incoming = next(bobSocket, 'incoming-call');
  await emit(aliceSocket, 'call-user', { callId, offer: { type: 'offer', sdp: 'v=0\r\n' } });
  const invite = await incoming;
  if (invite.callId !== callId || invite.from?.id !== alice.id)
    throw new Error(`unexpected incoming-call ${JSON.stringify(invite)}`);
  step(`call ${callId} rings on Bob's socket`);

  const accepted = next(aliceSocket, 'call-accepted');
  await emit(bobSocket, 'accept-call', { callId, answer: { type: 'answer', sdp: 'v=0\r\n' } });
  await accepted;
  step('Bob accepted; Alice got call-accepted');

  const ended = next(bobSocket, 'call-ended');
  await emit(aliceSocket, 'end-call', { callId, reason: 'hangup' });
  const end = await ended;
  if (end.reason !== 'hangup') throw new Error(`call-ended with ${JSON.stringify(end)}`);
  const entry = await historyEntry(alice, callId);
  if (entry.outcome !== 'answered') throw new Error(`history says ${JSON.stringify(entry)}`);
  step('hung up; the call is in the history as answered');
  step('ok');
} catch (err) {
  process.stderr.write(`smoke: FAILED against ${base}: ${reason(err)}\n`);
  process.exitCode = 1;
} finally {
  for (const s of sockets) s.disconnect();
}
