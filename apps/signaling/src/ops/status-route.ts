// GET /status: what this instance holds and what the cluster is doing, for operators and the reconnect
// test guide (seed 001). Not routed by Nginx.
import { Type } from '@sinclair/typebox';
import { keys } from '@voip/contracts/redis-keys';
import type { App } from '@voip/kit/app';
import type { Signaling } from '../realtime/context.js';

const StatusResponse = Type.Object({
  instanceId: Type.String(),
  status: Type.Union([Type.Literal('running'), Type.Literal('draining')]),
  uptimeMs: Type.Integer(),
  connections: Type.Integer(),
  users: Type.Integer(),
  guests: Type.Integer(),
  activeCalls: Type.Integer(),
  calls: Type.Object({ ringing: Type.Integer(), accepted: Type.Integer() }),
  reconnecting: Type.Integer(),
  instances: Type.Integer(),
});

export function statusRoute(app: App, ctx: Signaling) {
  app.get('/status', { logLevel: 'warn', schema: { response: { 200: StatusResponse } } }, async () => {
    const [calls, reconnecting, instances] = await Promise.all([
      ctx.calls.countLive(),
      ctx.redis.zcard(keys.resumeDeadlines()),
      ctx.redis.scard(keys.instances()),
    ]);
    return {
      instanceId: app.instanceId,
      status: ctx.state.draining ? ('draining' as const) : ('running' as const),
      uptimeMs: Date.now() - ctx.state.startedAt,
      connections: ctx.local.connectionCount(),
      users: ctx.local.userCount(),
      guests: ctx.local.guestCount(),
      activeCalls: calls.ringing + calls.accepted,
      calls,
      reconnecting,
      instances,
    };
  });
}
