// The REST services and the gateway killed (SIGKILL) and restarted while calls are made. The stack has
// two gateways (Nginx's pool), two call service instances (the gateway's pool), one auth and one user
// service: with two, "fail over" means users never notice; with one, it means a clean 503 in API.md's
// shape for that service's routes only, everything else working, and nothing lost once it is back.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  connectedCall,
  counts,
  type FaultStack,
  fullHistory,
  fullSync,
  type Online,
  People,
  startFaultStack,
  untilApiAnswers,
  within,
} from './support/harness.js';

describe('call, user, auth and gateway killed and restarted while calls are made', () => {
  let stack: FaultStack;
  const people = new People(() => stack.url);
  let ann: Online;
  let bob: Online;

  beforeAll(async () => {
    stack = await startFaultStack({
      services: ['auth', 'user', 'call', 'signaling', 'gateway'],
      signalingInstances: 2,
      instances: { gateway: 2, call: 2 },
    });
    [ann, bob] = await Promise.all([people.online('Ann'), people.online('Bob')]);
  });
  afterAll(async () => {
    people.closeAll();
    await stack?.dispose();
  });

  /** A REST call through Nginx, answered (or not) within 5 s. */
  async function rest(method: string, path: string, token?: string, body?: unknown) {
    const res = await fetch(stack.url + path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text) as Record<string, unknown> & { error?: unknown } };
  }
  const token = (who: Online) => who.client.rest.tokens!.accessToken;

  /** A whole answered call, ringing → accepted → hung up; returns its id. */
  async function oneCall(a: Online, b: Online): Promise<string> {
    const { outgoing, incoming } = await connectedCall(a, b);
    const ended = incoming.next('ended');
    await outgoing.hangUp();
    await within(ended, 15_000, 'the callee never got call-ended');
    return outgoing.id;
  }

  async function expectHistoryOnce(who: Online, ids: string[]) {
    await vi.waitFor(
      async () => {
        const seen = counts((await fullHistory(who)).map((h) => h.callId));
        for (const id of ids) expect(seen.get(id), `call ${id} in history`).toBe(1);
      },
      { timeout: 30_000, interval: 500 },
    );
  }

  it('a call service instance killed: the gateway fails over, every call is set up; all instances down: calls in progress end and reach history once', async () => {
    const made: string[] = [];
    await stack.kill('call', 0);
    try {
      for (let i = 0; i < 4; i++) made.push(await oneCall(ann, bob));
      const live = await connectedCall(bob, ann);
      await stack.kill('call', 1);
      // No call service at all: starting a call is a clean 503; the call in progress goes on and ends.
      const refused = await rest('POST', '/api/calls', token(ann), { calleeId: bob.id, media: 'audio' });
      expect(refused.status).toBe(503);
      expect(refused.body).toMatchObject({
        error: { code: expect.any(String), message: expect.any(String) },
      });
      const ended = live.incoming.next('ended');
      await live.outgoing.hangUp();
      expect((await within(ended, 15_000, 'the call in progress did not end cleanly')).reason).toBe('hangup');
      made.push(live.outgoing.id);
    } finally {
      await Promise.all([stack.restart('call', 0), stack.restart('call', 1)]);
    }
    await untilApiAnswers(stack.url, token(ann));
    await expectHistoryOnce(ann, made);
    await expectHistoryOnce(bob, made);
  });

  it('auth killed: existing tokens keep working (REST and new sockets), sign-in is a clean 503, sign-up works again after restart', async () => {
    await stack.kill('auth');
    try {
      expect((await rest('GET', '/api/users/me', token(ann))).status).toBe(200);
      expect((await rest('GET', '/api/calls', token(ann))).status).toBe(200);
      // A new socket with an existing token: signaling verifies JWTs itself.
      ann.client.signaling.dropTransport();
      await vi.waitFor(() => expect(ann.client.connection.state).toBe('connected'), { timeout: 20_000 });
      const callId = await oneCall(ann, bob);
      await expectHistoryOnce(ann, [callId]);
      const login = await rest('POST', '/api/auth/login', undefined, {
        username: ann.username,
        password: 'correct horse battery',
      });
      expect(login.status).toBe(503);
      expect(login.body).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
    } finally {
      await stack.restart('auth');
    }
    await untilApiAnswers(stack.url, token(ann));
    const cat = await people.online('Cat');
    await vi.waitFor(async () => expect((await cat.client.users.me()).id).toBe(cat.id), { timeout: 15_000 });
  });

  it('user service killed: its routes answer 503, calls in progress go on; sign-ups and ended calls made meanwhile reach profiles and the sync feed once it is back', async () => {
    const live = await connectedCall(ann, bob);
    await stack.kill('user');
    let dan: Online;
    try {
      const me = await rest('GET', '/api/users/me', token(ann));
      expect(me.status).toBe(503);
      expect(me.body).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
      // A sign-up is auth's; its profile is made by the user service from the account-events stream.
      dan = await people.signedUp('Dan');
      const ended = live.incoming.next('ended');
      await live.outgoing.hangUp();
      expect((await within(ended, 15_000, 'the call in progress did not end')).reason).toBe('hangup');
    } finally {
      await stack.restart('user');
    }
    await untilApiAnswers(stack.url, token(ann));
    await vi.waitFor(async () => expect((await dan!.client.users.me()).id).toBe(dan!.id), {
      timeout: 20_000,
      interval: 250,
    });
    // The gateway takes the restarted service back on its next good probe: the first answers may still be 503.
    await vi.waitFor(
      async () => {
        const found = await ann.client.users.search(dan!.username);
        expect(found.items.filter((p) => p.id === dan!.id)).toHaveLength(1);
      },
      { timeout: 20_000, interval: 250 },
    );
    await vi.waitFor(
      async () => {
        const calls = (await fullSync(ann)).filter((c) => c.entity === 'call' && c.id === live.outgoing.id);
        expect(calls).toHaveLength(1);
      },
      { timeout: 20_000, interval: 250 },
    );
    await expectHistoryOnce(bob, [live.outgoing.id]);
  });

  it('a gateway killed: Nginx fails over, REST never fails; both down: Nginx’s JSON 503, calls go on; back after restart', async () => {
    const made: string[] = [];
    await stack.kill('gateway', 0);
    try {
      for (let i = 0; i < 10; i++) expect((await rest('GET', '/api/users/me', token(ann))).status).toBe(200);
      made.push(await oneCall(ann, bob));
      const live = await connectedCall(bob, ann);
      await stack.kill('gateway', 1);
      const down = await rest('GET', '/api/users/me', token(ann));
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
      const ended = live.incoming.next('ended');
      await live.outgoing.hangUp();
      expect((await within(ended, 15_000, 'the call in progress did not end')).reason).toBe('hangup');
      made.push(live.outgoing.id);
    } finally {
      await Promise.all([stack.restart('gateway', 0), stack.restart('gateway', 1)]);
    }
    await untilApiAnswers(stack.url, token(ann));
    await expectHistoryOnce(ann, made);
    const eve = await people.online('Eve');
    expect(eve.client.connection.state).toBe('connected');
  });
});
