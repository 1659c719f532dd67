// /api/calls: initiate (and its alias /initiate), history, one call, and ICE servers. Every route needs an
// access token (users and guests alike); a call is only ever shown to its two participants.
import type { CallStore } from '@voip/call-state/call-store';
import {
  Call,
  CallParams,
  HistoryResponse,
  IceServersQuery,
  IceServersResponse,
  InitiateCallBody,
  InitiateCallResponse,
} from '@voip/contracts/calls';
import { CursorQuery, errorResponses } from '@voip/contracts/common';
import type { Recording } from '@voip/contracts/media';
import { WorstCallsQuery, WorstCallsResponse } from '@voip/contracts/quality';
import { principalOf } from '@voip/kit/authenticate';
import type { App } from '@voip/kit/app';
import { AppError } from '@voip/kit/errors';
import type { FixedWindowLimiter } from '@voip/kit/rate-limit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type InitiateDeps, initiateCall } from '../../calls/initiate-call.js';
import type { CallRepository } from '../../history/call-repository.js';
import {
  decodeCursor,
  encodeCursor,
  fromLiveRecord,
  qualityView,
  toCallView,
  toHistoryItem,
} from '../../history/history-view.js';
import type { IceServerIssuer } from '../../turn/ice-servers.js';

export interface CallRoutesDeps extends InitiateDeps {
  /** The call's recordings from the media service; null when it is not configured or did not answer. */
  recordings?: (callId: string) => Promise<Recording[] | null>;
  store: CallStore;
  calls: CallRepository;
  turn: IceServerIssuer;
  initiateLimiter: FixedWindowLimiter;
}

export async function callRoutes(app: App, deps: CallRoutesDeps) {
  const auth = app.requireAuth();

  const rateLimit = async (request: FastifyRequest, reply: FastifyReply) => {
    const decision = await deps.initiateLimiter.hit(principalOf(request).id);
    if (!decision.allowed) {
      reply.header('retry-after', String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))));
      throw new AppError('RATE_LIMITED', 'too many calls started, try again later');
    }
  };

  const initiateSchema = {
    body: InitiateCallBody,
    response: { 201: InitiateCallResponse, ...errorResponses(400, 401, 403, 404, 409, 429, 503) },
  };
  for (const url of ['/', '/initiate']) {
    app.post(url, { schema: initiateSchema, preHandler: [auth, rateLimit] }, async (request, reply) => {
      const result = await initiateCall(deps, { caller: principalOf(request), ...request.body }, request.log);
      return reply.code(201).send(result);
    });
  }

  app.get(
    '/',
    {
      schema: {
        querystring: CursorQuery,
        response: { 200: HistoryResponse, ...errorResponses(400, 401, 503) },
      },
      preHandler: auth,
    },
    async (request) => {
      const me = principalOf(request).id;
      const limit = request.query.limit ?? 20;
      const before = request.query.before ? decodeCursor(request.query.before) : undefined;
      if (before === null)
        throw new AppError('VALIDATION_FAILED', 'before is not a cursor this service issued');
      // One extra row says whether another page exists without a second query.
      const rows = await deps.calls.history(me, { before, limit: limit + 1 });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map((r) => toHistoryItem(r, me)),
        nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
      };
    },
  );

  app.get(
    '/ice-servers',
    {
      schema: {
        querystring: IceServersQuery,
        response: { 200: IceServersResponse, ...errorResponses(400, 401, 404, 409, 503) },
      },
      preHandler: auth,
    },
    async (request) => {
      const me = principalOf(request).id;
      const { callId } = request.query;
      // TURN relays for a participant of a live call only; without one (or before one), STUN only.
      if (!callId) return deps.turn.issue(me);
      const live = await deps.store.get(callId);
      if (!live || (live.callerId !== me && live.calleeId !== me))
        throw new AppError('CALL_NOT_FOUND', 'no such call');
      if (live.state === 'ended') throw new AppError('INVALID_STATE', 'the call has ended');
      const issued = await deps.turn.issue(me, live);
      if (deps.turn.mode === 'call-scoped') {
        // The call may have ended between the check and the write, after call.ended revoked its users:
        // look again and take back what was just written, so nothing outlives the call.
        const again = await deps.store.get(callId);
        if (!again || again.state === 'ended') {
          await deps.turn.revoke(live);
          throw new AppError('INVALID_STATE', 'the call has ended');
        }
      }
      return issued;
    },
  );

  // The operator's view (issue 19): the calls of a period with the lowest estimated MOS on either side.
  // Admin token (or the internal credential on the service's own port), like the other admin routes.
  app.get(
    '/quality/worst',
    {
      schema: {
        querystring: WorstCallsQuery,
        response: { 200: WorstCallsResponse, ...errorResponses(400, 401, 403, 503) },
      },
      onRequest: app.requireInternal({ allowAdmin: true }),
    },
    async (request) => {
      const from = new Date(request.query.from);
      const to = request.query.to ? new Date(request.query.to) : new Date();
      if (!(from < to)) throw new AppError('VALIDATION_FAILED', 'from must be before to');
      const rows = await deps.calls.worstCalls(from, to, request.query.limit ?? 50);
      return {
        items: rows.map((r) => ({
          callId: r.callId,
          callerId: r.callerId,
          calleeId: r.calleeId,
          createdAt: r.createdAt.toISOString(),
          durationMs: r.durationMs,
          mos: r.qualityMos ?? 0,
          quality: r.quality ? qualityView(r.quality) : {},
        })),
      };
    },
  );

  app.get(
    '/:callId',
    {
      schema: { params: CallParams, response: { 200: Call, ...errorResponses(401, 404, 503) } },
      preHandler: auth,
    },
    async (request) => {
      const me = principalOf(request).id;
      const { callId } = request.params;
      const withRecordings = async (view: ReturnType<typeof toCallView>) => {
        const recordings = await deps.recordings?.(callId);
        return recordings && recordings.length > 0 ? { ...view, recordings } : view;
      };
      const stored = await deps.calls.findForParticipant(callId, me);
      if (stored?.state === 'ended') return withRecordings(toCallView(stored, me));
      // Not final in history yet: the live record in Redis is the truth while the call goes on.
      const live = await deps.store.get(callId);
      if (live && (live.callerId === me || live.calleeId === me))
        return withRecordings(toCallView(fromLiveRecord(live, stored), me));
      if (stored) return withRecordings(toCallView(stored, me));
      // Strangers and unknown ids get the same answer: nobody learns that a call exists.
      throw new AppError('CALL_NOT_FOUND', 'no such call');
    },
  );
}
