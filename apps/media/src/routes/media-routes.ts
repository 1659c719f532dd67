// /api/media: the recording flow and the recordings (schemas from the public route table in
// @voip/contracts, so the gateway's documentation and these routes cannot drift), and the internal view
// the call service shows in GET /api/calls/:id.
import { ErrorBody, errorResponses } from '@voip/contracts/common';
import { InternalRecordingsResponse, RecordingCallParams } from '@voip/contracts/media';
import { type PublicRoute, publicRoutes } from '@voip/contracts/public-routes';
import type { Principal } from '@voip/contracts/tokens';
import { principalOf } from '@voip/kit/authenticate';
import type { App } from '@voip/kit/app';
import { AppError } from '@voip/kit/errors';
import type { FixedWindowLimiter } from '@voip/kit/rate-limit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { createLinkSigner } from '../recordings/links.js';
import type { RecordingFlow } from '../recordings/recording-flow.js';
import { type RecordingRepository, toRecordingView } from '../recordings/repository.js';

export interface MediaRoutesDeps {
  flow: RecordingFlow;
  repo: RecordingRepository;
  links: ReturnType<typeof createLinkSigner>;
  askLimiter: FixedWindowLimiter;
}

const row = (method: PublicRoute['method'], url: string) => {
  const r = publicRoutes.find((x) => x.method === method && x.url === `/api/media${url}`);
  if (!r) throw new Error(`no public route ${method} /api/media${url}`);
  // The table's error rows are references to the one ErrorBody component; here they are the schema itself.
  const response = Object.fromEntries(
    Object.entries(r.schema.response).map(([status, schema]) => [
      status,
      status.startsWith('2') ? schema : ErrorBody,
    ]),
  );
  return { ...r.schema, response };
};

// The table's schemas are typed loosely (TSchema); the handlers read what the schemas guarantee.
interface CallP {
  callId: string;
}
interface RecP {
  recordingId: string;
}
type Desc = { type: 'offer' | 'answer'; sdp: string };

export async function mediaRoutes(app: App, deps: MediaRoutesDeps) {
  const auth = app.requireAuth();
  const { flow, repo, links } = deps;

  const askLimit = async (request: FastifyRequest, reply: FastifyReply) => {
    const decision = await deps.askLimiter.hit(principalOf(request).id);
    if (!decision.allowed) {
      reply.header('retry-after', String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))));
      throw new AppError('RATE_LIMITED', 'too many recording requests, try again later');
    }
  };

  /**
   * POST /calls/:callId/recording… (the recording flow): its schema from the route table, the caller
   * authenticated, the handler given the call id, the caller's id and the body the schema admitted.
   */
  const callRoute = <B>(
    url: string,
    handler: (callId: string, me: string, body: B, reply: FastifyReply) => Promise<unknown>,
    preHandler: typeof auth | (typeof auth)[] = auth,
  ) =>
    app.post(url, { schema: row('POST', url), preHandler }, async (request, reply) =>
      handler((request.params as CallP).callId, principalOf(request).id, request.body as B, reply),
    );

  callRoute(
    '/calls/:callId/recording',
    async (callId, me, _body, reply) => reply.code(202).send(toRecordingView(await flow.ask(callId, me))),
    [auth, askLimit],
  );

  callRoute<{ recordingId: string; consent: boolean }>(
    '/calls/:callId/recording/consent',
    async (callId, me, body) =>
      toRecordingView(await flow.consent(callId, me, body.recordingId, body.consent)),
  );

  callRoute<{ recordingId: string }>('/calls/:callId/recording/stop', async (callId, me, body) =>
    toRecordingView(await flow.stop(callId, me, body.recordingId)),
  );

  callRoute<{ recordingId: string; offer: Desc }>(
    '/calls/:callId/recording/publish',
    async (callId, me, body) => {
      if (body.offer.type !== 'offer') throw new AppError('VALIDATION_FAILED', 'offer.type must be offer');
      const answer = await flow.publish(callId, me, body.recordingId, body.offer);
      return { answer: { type: 'answer', sdp: answer.sdp } };
    },
  );

  callRoute<{ recordingId: string }>('/calls/:callId/recording/subscribe', async (callId, me, body) => {
    const offer = await flow.subscribe(callId, me, body.recordingId);
    return { offer: { type: 'offer', sdp: offer.sdp } };
  });

  callRoute<{ recordingId: string; answer: Desc }>(
    '/calls/:callId/recording/subscribe/answer',
    async (callId, me, body, reply) => {
      if (body.answer.type !== 'answer')
        throw new AppError('VALIDATION_FAILED', 'answer.type must be answer');
      await flow.answer(callId, me, body.recordingId, body.answer);
      return reply.code(204).send();
    },
  );

  app.get(
    '/calls/:callId/recordings',
    { schema: row('GET', '/calls/:callId/recordings'), preHandler: auth },
    async (request) => {
      const { callId } = request.params as CallP;
      const me = principalOf(request).id;
      const items = (await repo.forCall(callId)).filter((r) => r.participants.includes(me));
      // Strangers and calls without recordings look the same.
      if (items.length === 0) throw new AppError('NOT_FOUND', 'no recordings for this call');
      return { items: items.map(toRecordingView) };
    },
  );

  const visibleRecording = async (recordingId: string, me: Principal) => {
    const rec = await repo.get(recordingId);
    const allowed = rec && (rec.participants.includes(me.id) || me.kind === 'admin');
    if (!rec || !allowed || rec.state === 'deleted') throw new AppError('NOT_FOUND', 'no such recording');
    return rec;
  };

  app.post(
    '/recordings/:recordingId/link',
    { schema: row('POST', '/recordings/:recordingId/link'), preHandler: auth },
    async (request) => {
      const { recordingId } = request.params as RecP;
      const me = principalOf(request);
      const rec = await visibleRecording(recordingId, me);
      // Participants only: an admin manages recordings but does not watch them.
      if (!rec.participants.includes(me.id)) throw new AppError('NOT_FOUND', 'no such recording');
      if (rec.state !== 'ready') throw new AppError('INVALID_STATE', `the recording is ${rec.state}`);
      request.log.info({ recordingId }, 'download link issued');
      return links.issue(recordingId);
    },
  );

  app.get(
    '/recordings/:recordingId/file',
    { schema: row('GET', '/recordings/:recordingId/file') },
    async (request, reply) => {
      const { recordingId } = request.params as RecP;
      const { exp, sig } = request.query as { exp: string; sig: string };
      if (!links.verify(recordingId, exp, sig))
        throw new AppError('FORBIDDEN', 'the link is not valid or has expired');
      const rec = await repo.get(recordingId);
      if (!rec || rec.state !== 'ready' || !rec.file) throw new AppError('NOT_FOUND', 'no such recording');
      request.log.info({ recordingId }, 'recording downloaded');
      return reply
        .header('x-accel-redirect', `/.voip-recordings/${rec.file}`)
        .header('content-type', 'video/webm')
        .header('content-disposition', `attachment; filename="call-${rec.callId}-${rec._id}.webm"`)
        .header('cache-control', 'private, no-store')
        .code(200)
        .send('');
    },
  );

  app.delete(
    '/recordings/:recordingId',
    { schema: row('DELETE', '/recordings/:recordingId'), preHandler: auth },
    async (request, reply) => {
      const { recordingId } = request.params as RecP;
      const me = principalOf(request);
      const rec = await visibleRecording(recordingId, me);
      await flow.remove(rec, me.kind === 'admin' && !rec.participants.includes(me.id) ? 'admin' : me.id);
      return reply.code(204).send();
    },
  );
}

/** Internal (the call service, with the internal credential): every recording of a call. */
export async function internalRoutes(app: App, deps: { repo: RecordingRepository }) {
  app.get(
    '/internal/calls/:callId/recordings',
    {
      schema: {
        params: RecordingCallParams,
        response: { 200: InternalRecordingsResponse, ...errorResponses(401, 403) },
      },
      onRequest: app.requireInternal(),
    },
    async (request) => {
      const rows = await deps.repo.forCall(request.params.callId);
      return { items: rows.filter((r) => r.state !== 'deleted').map(toRecordingView) };
    },
  );
}
