// The gateway forwards /api/calls/* and documents it from @voip/contracts/public-routes: this service
// must serve exactly those rows, with the same schemas and success statuses.
import { publicRouteDrift } from '@voip/kit/public-route-drift';
import type { App } from '@voip/kit/app';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callEnv, startCallService } from './support/harness.js';

// Its own Redis database (see README.md "Tests"), though nothing here writes to it.
const DB = 8;

describe('call routes and the public route table', () => {
  let app: App;
  beforeAll(async () => {
    app = await startCallService(callEnv(DB, { HISTORY_CONSUMER_ENABLED: 'false' }));
  });
  afterAll(() => app?.close());

  it('serves every /api route of the table for calls, and nothing else under /api', () => {
    expect(publicRouteDrift(app.registeredRoutes, 'calls')).toEqual([]);
  });
});
