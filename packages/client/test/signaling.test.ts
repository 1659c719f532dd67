// The SDK's signaling side against the real stack (three signaling instances behind Nginx): the state
// machine, resume with clientId + resumeToken, token refresh on connect_error, the call object API, and
// a call that survives a SIGKILL of the caller's signaling instance.
import { createServer, type Socket as TcpSocket, connect as tcpConnect } from 'node:net';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../src/api-error.js';
import type { Call, Candidate, Offer } from '../src/call.js';
import type { ConnectionState } from '../src/connection-state.js';
import { memoryStorage } from '../src/storage.js';
import { VoipClient, type VoipClientOptions } from '../src/voip.js';
import { countingFetch, startTestStack, type TestStack, unique } from './support/stack.js';

const PASSWORD = 'correct horse battery';
// Signaling validates SDP as an opaque string: Node has no WebRTC, so calls carry hand-made descriptions.
const offer: Offer = { type: 'offer', sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=test-offer\r\n' };
const answer = { type: 'answer' as const, sdp: 'v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=test-answer\r\n' };
const candidate = (n: number): Candidate => ({
  candidate: `candidate:${n} 1 udp 2122260223 192.0.2.${n} 5${String(n).padStart(4, '0')} typ host`,
  sdpMid: '0',
  sdpMLineIndex: 0,
});

/** Rejects with `message` when `p` has not settled in time (a missing event names itself in the failure). */
function within<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

interface Online {
  client: VoipClient;
  id: string;
  username: string;
  states: ConnectionState[];
}

describe('signaling client (through Nginx → three signaling instances)', () => {
  let stack: TestStack;
  const clients: VoipClient[] = [];

  beforeAll(async () => {
    stack = await startTestStack({
      services: ['auth', 'user', 'call', 'signaling', 'gateway'],
      // Three, so that after one is stopped and another killed there is still somewhere to go.
      signalingInstances: 3,
      coturn: false,
      // Every test registers its users from this one address within a minute or two: room above the
      // default 20 sign-ups (auth) and 20 credential requests a minute (gateway).
      serviceEnv: {
        auth: { ACCESS_TTL_SECONDS: '10', REGISTER_MAX_PER_IP: '50' },
        gateway: { RATE_LIMIT_CREDENTIALS_MAX: '60' },
      },
    });
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await stack?.dispose();
  });

  const newClient = (opts: Partial<VoipClientOptions> = {}) => {
    const client = new VoipClient({ url: stack.url, storage: memoryStorage(), ...opts });
    clients.push(client);
    return client;
  };

  async function online(name: string, opts: Partial<VoipClientOptions> = {}): Promise<Online> {
    const client = newClient(opts);
    const username = unique(name.toLowerCase());
    const res = await client.auth.register({ username, password: PASSWORD, displayName: name });
    const states: ConnectionState[] = [];
    client.on('connection', (s) => states.push(s.state));
    client.connect();
    await vi.waitFor(() => expect(client.connection.state).toBe('connected'), {
      timeout: 15_000,
      interval: 50,
    });
    return { client, id: res.user.id, username, states };
  }

  /** Connections per signaling instance, from each one's /status (-1 for an instance that is gone). */
  async function connectionsPerInstance(): Promise<number[]> {
    return Promise.all(
      [0, 1, 2].map(async (i) => {
        try {
          const res = await fetch(`${stack.service('signaling', i).url}/status`);
          return ((await res.json()) as { connections: number }).connections;
        } catch {
          return -1;
        }
      }),
    );
  }

  /** Connects a new user and tells which instance took the connection (from the /status counts). */
  const onlineAt = async (name: string, opts: Partial<VoipClientOptions> = {}) => {
    const pre = await connectionsPerInstance();
    const who = await online(name, opts);
    let instance = -1;
    await vi.waitFor(
      async () => {
        const now = await connectionsPerInstance();
        instance = now.findIndex((n, k) => n > pre[k]!);
        expect(instance).toBeGreaterThanOrEqual(0);
      },
      { timeout: 5000, interval: 100 },
    );
    return { who, instance, pre };
  };

  /** Starts a call from `a` to `b` with hand-made SDP and has `b` accept it. */
  async function connectedCall(a: Online, b: Online): Promise<{ outgoing: Call; incoming: Call }> {
    const incomingP = b.client.next('incoming-call');
    const outgoing = await a.client.startCall(b.id, 'audio', { offer });
    const incoming = await incomingP;
    expect(incoming).toMatchObject({ id: outgoing.id, direction: 'incoming', media: 'audio' });
    expect(incoming.peer).toMatchObject({ id: a.id });
    const accepted = outgoing.next('accepted');
    await incoming.accept({ answer });
    expect((await accepted).answer).toEqual(answer);
    expect(outgoing.status).toBe('accepted');
    return { outgoing, incoming };
  }

  it('connects with a persisted clientId, reports its states, and resumes its session after a drop', async () => {
    const storage = memoryStorage();
    const ann = await online('Ann', { storage });
    expect(ann.states).toEqual(['connecting', 'connected']);
    expect(storage.getItem('voip.clientId')).toBe(ann.client.clientId);
    expect(ann.client.clientId).toMatch(/^[0-9A-Z]{26}$/);
    // The same storage is the same install: the same clientId.
    expect(new VoipClient({ url: stack.url, storage }).clientId).toBe(ann.client.clientId);

    const first = ann.client.signaling.session!;
    expect(first.resumeToken).toBeTruthy();
    const reconnected = ann.client.signaling.next('reconnected');
    ann.client.signaling.dropTransport();
    const session = await reconnected;
    expect(session.resumed).toBe(true);
    expect(ann.states.slice(2)).toEqual(['reconnecting', 'reconnecting', 'connected']);
    expect(ann.client.connection).toEqual({ state: 'connected', attempt: 0 });

    ann.client.disconnect();
    expect(ann.client.connection.state).toBe('disconnected');
    await expect(ann.client.signaling.request('heartbeat', {})).rejects.toMatchObject({
      code: 'DISCONNECTED',
    });
  });

  it('refreshes an expired access token when the handshake is refused with TOKEN_EXPIRED', async () => {
    const counting = countingFetch();
    // proactiveRefresh off: the client presents the expired token and must react to connect_error.
    const ben = await online('Ben', { fetch: counting.fetch, proactiveRefresh: false });
    const old = ben.client.rest.tokens!;
    await new Promise((r) => setTimeout(r, Math.max(0, old.expiresAt - Date.now()) + 1500));
    counting.calls.length = 0;
    const reconnected = ben.client.signaling.next('reconnected');
    ben.client.signaling.dropTransport();
    await reconnected;
    expect(counting.calls.filter((c) => c.path === '/api/auth/refresh')).toHaveLength(1);
    expect(ben.client.rest.tokens!.accessToken).not.toBe(old.accessToken);
    // One outage, one try: the expired token was not counted as a failed attempt.
    expect(ben.states.slice(2)).toEqual(['reconnecting', 'reconnecting', 'connected']);
  });

  it('fails with the code of a refused handshake instead of retrying it', async () => {
    const client = newClient();
    await client.auth.guest('Mallory');
    // A token the server cannot verify: UNAUTHORIZED is fatal, retrying cannot fix it.
    client.rest.setTokens({
      ...client.rest.tokens!,
      accessToken: 'not.a.token',
      expiresAt: Date.now() + 60_000,
    });
    client.connect();
    await vi.waitFor(() => expect(client.connection.state).toBe('failed'), { timeout: 10_000 });
    expect(client.connection.lastError?.code).toBe('UNAUTHORIZED');
  });

  it('runs a call: ringing, accept, trickle ICE with end of candidates, hang-up for both, answered in history', async () => {
    const cat = await online('Cat');
    const dan = await online('Dan');
    const ringing = vi.fn();
    const incomingP = dan.client.next('incoming-call');
    const outgoing = await cat.client.startCall(dan.id, 'video', { offer });
    outgoing.on('ringing', ringing);
    const incoming = await incomingP;
    expect(incoming).toMatchObject({ id: outgoing.id, media: 'video', offer, status: 'ringing' });
    expect(incoming.peer).toMatchObject({ id: cat.id, displayName: 'Cat', kind: 'user' });
    await vi.waitFor(() => expect(outgoing.status).toBe('ringing'));

    const accepted = outgoing.next('accepted');
    await incoming.accept({ answer });
    await accepted;

    const atDan: (Candidate | null)[] = [];
    const atCat: (Candidate | null)[] = [];
    incoming.on('ice-candidate', (e) => atDan.push(e.candidate));
    outgoing.on('ice-candidate', (e) => atCat.push(e.candidate));
    outgoing.sendIceCandidate(candidate(1));
    outgoing.sendIceCandidate(null);
    incoming.sendIceCandidate(candidate(2));
    incoming.sendIceCandidate(null);
    await vi.waitFor(() => {
      expect(atDan).toEqual([expect.objectContaining({ candidate: candidate(1).candidate }), null]);
      expect(atCat).toEqual([expect.objectContaining({ candidate: candidate(2).candidate }), null]);
    });

    const renegotiated = incoming.next('renegotiate');
    await outgoing.renegotiate({ type: 'offer', sdp: `${offer.sdp}a=ice-restart\r\n` });
    expect((await renegotiated).description.sdp).toContain('ice-restart');

    await new Promise((r) => setTimeout(r, 1100)); // a call that lasts a measurable second
    const endedAtDan = incoming.next('ended');
    await outgoing.hangUp();
    expect(outgoing.endInfo).toMatchObject({ reason: 'hangup' });
    expect((await endedAtDan).reason).toBe('hangup');
    expect(incoming.status).toBe('ended');

    await vi.waitFor(
      async () => {
        const item = (await cat.client.calls.history()).items.find((x) => x.callId === outgoing.id);
        expect(item).toMatchObject({ direction: 'outgoing', outcome: 'answered', peerId: dan.id });
        expect(item!.durationMs).toBeGreaterThan(0);
      },
      { timeout: 15_000, interval: 250 },
    );
  });

  it("ends a stranger's unanswered ring as busy when a contact calls, and rings the contact's call instead", async () => {
    const dora = await online('Dora');
    const finn = await online('Finn');
    const stan = await online('Stan');
    // Finn is Dora's contact; Stan is a stranger to her (a registered account may ring by default).
    await vi.waitFor(() => dora.client.users.addContact(finn.id), { timeout: 10_000, interval: 200 });

    const firstRing = dora.client.next('incoming-call');
    const fromStan = await stan.client.startCall(dora.id, 'audio', { offer });
    const stanRinging = await firstRing;
    expect(stanRinging.peer).toMatchObject({ id: stan.id });
    const endedAtDora = stanRinging.next('ended');
    // The caller hears it as a busy callee (call-rejected, reason busy), as when a callee declines as busy.
    const rejectedAtStan = fromStan.next('rejected');
    const secondRing = dora.client.next('incoming-call');
    const fromFinn = await finn.client.startCall(dora.id, 'audio', { offer });
    expect((await endedAtDora).reason).toBe('busy');
    expect((await rejectedAtStan).reason).toBe('busy');
    await vi.waitFor(() => expect(fromStan.status).toBe('ended'));
    const finnRinging = await secondRing;
    expect(finnRinging).toMatchObject({ id: fromFinn.id });
    const accepted = fromFinn.next('accepted');
    await finnRinging.accept({ answer });
    await accepted;
    await fromFinn.hangUp();
  });

  it('rejects, cancels and surfaces refused acks as ApiError codes', async () => {
    const eve = await online('Eve');
    const fay = await online('Fay');

    const incomingP = fay.client.next('incoming-call');
    const outgoing = await eve.client.startCall(fay.id, 'audio', { offer });
    const incoming = await incomingP;
    const rejected = outgoing.next('rejected');
    await incoming.reject();
    expect(await rejected).toMatchObject({ callId: outgoing.id });
    await vi.waitFor(() => expect(outgoing.status).toBe('ended'));
    expect(outgoing.endInfo?.reason).toBe('rejected');

    const incomingP2 = fay.client.next('incoming-call');
    const second = await eve.client.startCall(fay.id, 'audio', { offer });
    const ringingAtFay = await incomingP2;
    const cancelled = ringingAtFay.next('ended');
    await second.hangUp();
    expect(second.endInfo?.reason).toBe('cancelled');
    expect((await cancelled).reason).toBe('cancelled');

    // Accepting a call that is over: the ack says no, the SDK rejects with its code.
    const err = await fay.client.signaling.request('accept-call', { callId: second.id, answer }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toMatch(/^[A-Z_]+$/);
    // A payload that fails validation: ok:false, and the socket stays up.
    const invalid = await fay.client.signaling.request('ice-candidate', { callId: '', candidate: null }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(invalid).toBeInstanceOf(ApiError);
    expect(fay.client.isConnected).toBe(true);
  });

  it('glare: both call each other at once; the lower callId survives, the loser is told which call to keep, and it connects', async () => {
    const [ola, pia] = await Promise.all([online('Ola'), online('Pia')]);
    // Which side's call survives depends on the ids the server draws: a few rounds try both orders.
    const rounds = Number(process.env.VOIP_GLARE_ROUNDS ?? 3);
    for (let round = 0; round < rounds; round++) {
      // Every Call each side's SDK surfaces this round, outgoing and incoming.
      const seen = new Map<Online, Call[]>([
        [ola, []],
        [pia, []],
      ]);
      const offs = [ola, pia].map((who) => who.client.on('call', (c) => seen.get(who)!.push(c)));

      const [atOla, atPia] = await Promise.allSettled([
        ola.client.startCall(pia.id, 'audio', { offer }),
        pia.client.startCall(ola.id, 'audio', { offer }),
      ]);
      /** The call this side started (its own callId) and how startCall ended. */
      const own = (r: PromiseSettledResult<Call>) => {
        if (r.status === 'fulfilled') return { callId: r.value.id, call: r.value, error: undefined };
        expect(r.reason, 'startCall failed with something other than CALL_REPLACED').toBeInstanceOf(ApiError);
        const err = r.reason as ApiError;
        expect(err).toMatchObject({ status: 409, code: 'CALL_REPLACED' });
        const details = err.details as { callId: string; replacedBy: string };
        expect(details).toEqual({ callId: expect.any(String), replacedBy: expect.any(String) });
        return { callId: details.callId, call: undefined, error: details };
      };
      const sides = [
        { who: ola, ...own(atOla) },
        { who: pia, ...own(atPia) },
      ];
      expect(sides[0]!.callId).not.toBe(sides[1]!.callId);
      // API.md: one call survives by a deterministic rule, the lower callId.
      const survivor = [sides[0]!.callId, sides[1]!.callId].sort()[0]!;
      const winner = sides.find((x) => x.callId === survivor)!;
      const loser = sides.find((x) => x.callId !== survivor)!;

      // The winner's startCall gave it the surviving call, still live.
      expect(winner.error, `round ${round}: the surviving call's startCall was refused`).toBeUndefined();
      expect(winner.call!.ended).toBe(false);
      // The loser learns which call to keep: startCall refused with CALL_REPLACED, or (when its call was
      // replaced only after startCall returned) its call ends as cancelled, replaced by the survivor.
      if (loser.error) expect(loser.error.replacedBy).toBe(survivor);
      else
        expect(
          // (It may have ended while the other startCall was still settling.)
          await within(
            loser.call!.ended ? Promise.resolve(loser.call!.endInfo) : loser.call!.next('ended'),
            10_000,
            'the replaced call never ended',
          ),
        ).toMatchObject({
          callId: loser.callId,
          reason: 'cancelled',
          replacedBy: survivor,
        });

      // The loser is the survivor's callee: it rings there, and accepting connects both sides.
      // (It may have rung before startCall settled: the client keeps every call it knows by id.)
      const ringing = await vi.waitFor(
        () => {
          const c = loser.who.client.call(survivor);
          expect(c, 'the surviving call never rang at the loser').toBeDefined();
          return c!;
        },
        { timeout: 10_000, interval: 50 },
      );
      expect(ringing).toMatchObject({ id: survivor, direction: 'incoming', status: 'ringing' });
      expect(ringing.peer).toMatchObject({ id: winner.who.id });
      const accepted = winner.call!.next('accepted');
      await ringing.accept({ answer });
      expect((await within(accepted, 10_000, 'the winner never heard the accept')).answer).toEqual(answer);
      expect([winner.call!.status, ringing.status]).toEqual(['accepted', 'accepted']);

      // Whatever else either SDK surfaced (the replaced call, at either end) has ended, naming the survivor.
      await vi.waitFor(() => {
        for (const [who, calls] of seen) {
          const live = calls.filter((c) => !c.ended).map((c) => c.id);
          expect(live, `round ${round}: ${who.username}'s live calls`).toEqual([survivor]);
          for (const c of calls.filter((x) => x.id !== survivor))
            expect(c.endInfo).toMatchObject({
              callId: loser.callId,
              reason: 'cancelled',
              replacedBy: survivor,
            });
        }
      });
      // The server agrees, for either participant.
      expect(await loser.who.client.calls.get(loser.callId)).toMatchObject({
        state: 'ended',
        endReason: 'cancelled',
        replacedBy: survivor,
      });
      expect(await winner.who.client.calls.get(survivor)).toMatchObject({ state: 'accepted' });

      const ended = winner.call!.next('ended');
      await ringing.hangUp();
      expect((await within(ended, 10_000, 'the winner never heard the hang-up')).reason).toBe('hangup');
      if (round === 0) {
        // History: the replaced call is cancelled for both (nothing was missed), the survivor answered.
        for (const who of [ola, pia])
          await vi.waitFor(
            async () => {
              const items = (await who.client.calls.history()).items;
              expect(items.find((x) => x.callId === loser.callId)).toMatchObject({ outcome: 'cancelled' });
              expect(items.find((x) => x.callId === survivor)).toMatchObject({ outcome: 'answered' });
            },
            { timeout: 15_000, interval: 250 },
          );
      }
      for (const off of offs) off();
    }
  });

  it('keeps a call across a dropped connection: the peer is told, and what it sent meanwhile arrives', async () => {
    const ivy = await online('Ivy');
    const jon = await online('Jon');
    const { outgoing, incoming } = await connectedCall(ivy, jon);
    const peerReconnecting = incoming.next('peer-reconnecting');
    const peerReconnected = incoming.next('peer-reconnected');
    const back = ivy.client.signaling.next('reconnected');
    const atIvy: (Candidate | null)[] = [];
    outgoing.on('ice-candidate', (e) => atIvy.push(e.candidate));

    ivy.client.signaling.dropTransport();
    await within(peerReconnecting, 10_000, 'the callee never got peer-reconnecting');
    // Sent while the caller is away: the server keeps it for the caller's resume.
    incoming.sendIceCandidate(candidate(5));
    expect((await back).resumed).toBe(true);
    await within(peerReconnected, 10_000, 'the callee never got peer-reconnected');
    await vi.waitFor(() =>
      expect(atIvy).toEqual([expect.objectContaining({ candidate: candidate(5).candidate })]),
    );
    expect(outgoing.status).toBe('accepted');

    const ended = outgoing.next('ended');
    await incoming.hangUp();
    expect((await ended).reason).toBe('hangup');
  });

  it('loses nothing the peer sent while its link was silently dead: resumes with lastSeq, gets each once, in order', async () => {
    // Kim's signaling goes through a TCP relay that can freeze it (no FIN: Wi-Fi gone, the server's socket
    // still looks alive); connections opened later pass.
    const relay = await freezableRelay(stack.url);
    // REST straight to the stack: only the socket goes through the relay.
    const direct: typeof fetch = (input, init) =>
      fetch(String(input instanceof Request ? input.url : input).replace(relay.url, stack.url), init);
    const kim = await online('Kim', { url: relay.url, fetch: direct });
    const lou = await online('Lou');
    try {
      const { outgoing, incoming } = await connectedCall(kim, lou);
      const atKim: (Candidate | null)[] = [];
      outgoing.on('ice-candidate', (e) => atKim.push(e.candidate));
      const send = (n: number) =>
        lou.client.signaling.request('ice-candidate', { callId: incoming.id, candidate: candidate(n) });
      await send(1);
      await vi.waitFor(() => expect(atKim).toHaveLength(1));

      relay.freeze();
      // The server does not know yet: these are emitted live into the dead link.
      await send(2);
      await send(3);
      const back = kim.client.signaling.next('reconnected');
      kim.client.signaling.dropTransport(); // as when its heartbeats stop being answered
      expect((await within(back, 15_000, 'Kim never resumed')).resumed).toBe(true);
      await send(4);
      await vi.waitFor(
        () => expect(atKim.map((c) => c?.candidate)).toEqual([1, 2, 3, 4].map((n) => candidate(n).candidate)),
        { timeout: 10_000, interval: 50 },
      );
      expect(outgoing.status).toBe('accepted');
    } finally {
      relay.close();
    }
  });

  it('moves when its instance shuts down gracefully: leaves at server-shutdown’s time and resumes elsewhere', async () => {
    const { who: kim, instance } = await onlineAt('Kim');
    const lee = await online('Lee');
    const { outgoing, incoming } = await connectedCall(kim, lee);
    const shutdown = kim.client.signaling.next('server-shutdown');
    const back = kim.client.signaling.next('reconnected');
    const firstOutage = kim.client.next('connection', (s) => s.state === 'reconnecting');

    const stopping = stack.stop('signaling', instance);
    expect((await shutdown).reconnectAfterMs).toBeGreaterThanOrEqual(0);
    // The client left on its own at the time the server asked for, before being kicked at the drain's end.
    expect((await firstOutage).lastError?.code).toBe('SERVER_SHUTDOWN');
    const session = await within(back, 40_000, 'the client did not come back after the graceful shutdown');
    expect(session.resumed).toBe(true);
    expect(kim.states).not.toContain('failed');
    expect(outgoing.status).toBe('accepted');
    await stopping;

    const ended = incoming.next('ended');
    await outgoing.hangUp();
    expect((await ended).reason).toBe('hangup');
  });

  it('resumes a call after the caller’s signaling instance is SIGKILLed: peer-reconnected, ICE still delivered', async () => {
    const { who: caller, instance: callerInstance } = await onlineAt('Gus');
    // Find a callee device that Nginx sends to the other instance (it hashes on clientId; 24 tries miss
    // with a chance of 2^-24).
    let callee: Online | undefined;
    for (let i = 0; i < 24 && !callee; i++) {
      const tried = await onlineAt(`Hal${i}`, { storage: memoryStorage({ 'voip.clientId': ulid() }) });
      if (tried.instance !== callerInstance) callee = tried.who;
      else {
        tried.who.client.disconnect();
        await vi.waitFor(async () => expect(await connectionsPerInstance()).toEqual(tried.pre));
      }
    }
    expect(callee, 'no clientId landed on the other instance').toBeDefined();

    const { outgoing, incoming } = await connectedCall(caller, callee!);
    const peerReconnected = incoming.next('peer-reconnected');
    const callerBack = caller.client.signaling.next('reconnected');

    await stack.kill('signaling', callerInstance);
    const session = await within(callerBack, 20_000, 'the caller did not reconnect through Nginx');
    expect(session.resumed).toBe(true);
    expect(caller.states).toContain('reconnecting');
    expect(caller.client.connection.state).toBe('connected');
    // API.md: a participant restored within the resume window → the peer gets peer-reconnected.
    await within(
      peerReconnected,
      20_000,
      'the callee never got peer-reconnected after the caller resumed elsewhere',
    );
    expect(outgoing.status).toBe('accepted');
    expect(incoming.status).toBe('accepted');

    const atCaller: (Candidate | null)[] = [];
    const atCallee: (Candidate | null)[] = [];
    outgoing.on('ice-candidate', (e) => atCaller.push(e.candidate));
    incoming.on('ice-candidate', (e) => atCallee.push(e.candidate));
    incoming.sendIceCandidate(candidate(7));
    outgoing.sendIceCandidate(candidate(8));
    await vi.waitFor(() => {
      expect(atCaller).toEqual([expect.objectContaining({ candidate: candidate(7).candidate })]);
      expect(atCallee).toEqual([expect.objectContaining({ candidate: candidate(8).candidate })]);
    });

    const ended = incoming.next('ended');
    await outgoing.hangUp();
    expect((await ended).reason).toBe('hangup');
  });
});

/**
 * A TCP relay in front of `url` (TLS passes through untouched). freeze() stops forwarding, both ways and
 * without closing anything, on every connection open so far; later connections pass.
 */
async function freezableRelay(url: string): Promise<{ url: string; freeze(): void; close(): void }> {
  const target = new URL(url);
  const links: { frozen: boolean; sockets: TcpSocket[] }[] = [];
  const server = createServer((inbound) => {
    const outbound = tcpConnect(Number(target.port), target.hostname);
    const link = { frozen: false, sockets: [inbound, outbound] };
    links.push(link);
    for (const [from, to] of [
      [inbound, outbound],
      [outbound, inbound],
    ] as const) {
      from.on('data', (chunk) => {
        if (!link.frozen) to.write(chunk);
      });
      from.on('error', () => {});
      from.on('close', () => {
        if (!link.frozen) to.destroy();
      });
    }
  });
  const host = target.hostname === 'localhost' ? '127.0.0.1' : target.hostname;
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const relayUrl = new URL(url);
  relayUrl.port = String((server.address() as { port: number }).port);
  return {
    url: relayUrl.origin,
    freeze: () => {
      for (const l of links) l.frozen = true;
    },
    close: () => {
      for (const l of links) for (const s of l.sockets) s.destroy();
      server.close();
    },
  };
}
