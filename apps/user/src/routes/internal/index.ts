// Lookups other services make (internal credential only; Nginx and the gateway never route
// /internal): can this caller reach this user, where to push, which push tokens the provider refused.
import { errorResponses } from '@voip/contracts/common';
import {
  InvalidatePushTokensBody,
  InvalidatePushTokensResponse,
  PushDevices,
  Reachability,
  ReachabilityQuery,
} from '@voip/contracts/internal';
import { UserIdParams } from '@voip/contracts/users';
import type { App } from '@voip/kit/app';
import { repairReachMirror } from '../../mirrors/reach-mirror.js';
import { incomingCallsOf } from '../../profiles/profile-view.js';

export default async function internalRoutes(app: App) {
  const guard = app.requireInternal();

  app.get(
    '/internal/users/:userId/reachability',
    {
      onRequest: guard,
      schema: {
        params: UserIdParams,
        querystring: ReachabilityQuery,
        response: { 200: Reachability, ...errorResponses(400, 401, 403, 503) },
      },
    },
    async (request) => {
      const { userId } = request.params;
      const { callerId } = request.query;
      const [profile, block, contact] = await Promise.all([
        app.domain.profiles.get(userId),
        app.domain.blocks.get(userId, callerId),
        app.domain.contacts.get(userId, callerId),
      ]);
      // The call service asks here when the callee's reach mirror is missing: rebuild it beside the answer.
      if (profile) repairReachMirror(app.domain, userId);
      if (!profile) return { exists: false, blocked: false, doNotDisturb: false };
      return {
        exists: true,
        kind: profile.kind,
        displayName: profile.displayName,
        blocked: block?.active === true,
        doNotDisturb: profile.doNotDisturb,
        incomingCalls: incomingCallsOf(profile),
        contact: contact?.active === true,
      };
    },
  );

  app.get(
    '/internal/users/:userId/devices',
    {
      onRequest: guard,
      schema: { params: UserIdParams, response: { 200: PushDevices, ...errorResponses(400, 401, 403, 503) } },
    },
    async (request) => ({
      devices: (await app.domain.devices.list(request.params.userId)).map((d) => ({
        deviceId: d.deviceId,
        platform: d.platform,
        pushToken: d.pushToken,
      })),
    }),
  );

  app.post(
    '/internal/push-tokens/invalidate',
    {
      onRequest: guard,
      schema: {
        body: InvalidatePushTokensBody,
        response: { 200: InvalidatePushTokensResponse, ...errorResponses(400, 401, 403, 503) },
      },
    },
    async (request) => {
      const removed = await app.domain.devices.removeTokens(request.body.pushTokens);
      request.log.info({ requested: request.body.pushTokens.length, removed }, 'push tokens invalidated');
      return { removed };
    },
  );
}
