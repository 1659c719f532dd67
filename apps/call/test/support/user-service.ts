// A stand-in for the user service's three internal routes (reachability, devices, push-token clean-up)
// over in-memory data, as a real local HTTP server: the call service is tested through the same HTTP
// interface it uses in production. It can also play dead (connection refused) or hang (never answers).
import { INTERNAL_TOKEN_HEADER } from '@voip/contracts/tokens';
import { TEST_INTERNAL_TOKEN } from '@voip/testkit/env';
import Fastify, { type FastifyInstance } from 'fastify';

export interface StandInUser {
  displayName: string;
  kind?: 'user' | 'guest';
  doNotDisturb?: boolean;
  blocked?: Set<string>;
  /** Who may ring (the user service's default for the kind when absent). */
  incomingCalls?: 'everyone' | 'registered' | 'contacts' | 'nobody';
  /** This user's contacts (invited guests among them). */
  contacts?: Set<string>;
  devices?: Array<{ deviceId: string; platform: 'android' | 'ios' | 'web'; pushToken: string }>;
}

export interface UserServiceStandIn {
  url: string;
  users: Map<string, StandInUser>;
  invalidated: string[][];
  /** 'up' answers, 'hang' accepts requests and never answers. */
  mode: 'up' | 'hang';
  close(): Promise<void>;
}

export async function startUserServiceStandIn(): Promise<UserServiceStandIn> {
  const users = new Map<string, StandInUser>();
  const invalidated: string[][] = [];
  const app: FastifyInstance = Fastify({ logger: false });
  const state = { mode: 'up' as 'up' | 'hang' };
  app.addHook('onRequest', async (request, reply) => {
    if (state.mode === 'hang') return new Promise(() => undefined);
    if (request.headers[INTERNAL_TOKEN_HEADER] !== TEST_INTERNAL_TOKEN)
      return reply.code(401).send({ error: { code: 'UNAUTHORIZED', message: 'no' } });
  });
  app.get<{ Params: { userId: string }; Querystring: { callerId: string } }>(
    '/internal/users/:userId/reachability',
    async (request) => {
      const u = users.get(request.params.userId);
      if (!u) return { exists: false, blocked: false, doNotDisturb: false };
      return {
        exists: true,
        kind: u.kind ?? 'user',
        displayName: u.displayName,
        blocked: u.blocked?.has(request.query.callerId) ?? false,
        doNotDisturb: u.doNotDisturb ?? false,
        incomingCalls: u.incomingCalls ?? (u.kind === 'guest' ? 'everyone' : 'registered'),
        contact: u.contacts?.has(request.query.callerId) ?? false,
      };
    },
  );
  app.get<{ Params: { userId: string } }>('/internal/users/:userId/devices', async (request) => ({
    devices: users.get(request.params.userId)?.devices ?? [],
  }));
  app.post<{ Body: { pushTokens: string[] } }>('/internal/push-tokens/invalidate', async (request) => {
    const tokens = request.body.pushTokens;
    invalidated.push(tokens);
    let removed = 0;
    for (const u of users.values()) {
      const before = u.devices?.length ?? 0;
      u.devices = (u.devices ?? []).filter((d) => !tokens.includes(d.pushToken));
      removed += before - u.devices.length;
    }
    return { removed };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    users,
    invalidated,
    get mode() {
      return state.mode;
    },
    set mode(m) {
      state.mode = m;
    },
    async close() {
      // Hanging requests would keep close() waiting: cut every connection.
      app.server.closeAllConnections();
      await app.close();
    },
  };
}
