// The upstream of the gateway benchmark: a real service built like every other one (createService:
// Redis, bus, token + session verification) answering one authenticated GET. Run as its own process
// by the gateway scenario of `pnpm bench` (bench/scenarios/gateway.ts; Node strips the types).
import { baseConfigSpec, env, jwtVerifyConfigSpec, loadConfig, redisConfigSpec } from '@voip/kit/config';
import { createService } from '@voip/kit/service';
import { runService } from '@voip/kit/shutdown';

const config = loadConfig({
  ...baseConfigSpec,
  PORT: env.port(),
  ...redisConfigSpec,
  ...jwtVerifyConfigSpec,
});
const app = await createService({ service: 'bench-echo', config });
app.get('/api/users/me', { preHandler: app.requireAuth() }, async (request) => ({
  id: request.principal!.id,
  kind: request.principal!.kind,
  displayName: 'Bench User',
  avatarUrl: null,
  doNotDisturb: false,
}));
await runService(app, { port: config.PORT, host: config.HOST, graceMs: 2000 });
