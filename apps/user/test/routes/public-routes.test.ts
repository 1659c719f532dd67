// The gateway forwards /api/users/* and documents it from @voip/contracts/public-routes: this service
// must serve exactly those rows, with the same schemas and success statuses.
import { publicRouteDrift } from '@voip/kit/public-route-drift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUserService, type TestService } from '../harness.js';

describe('user routes and the public route table', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startUserService();
  });
  afterAll(() => svc?.app.close());

  it('serves every /api route of the table for users, and nothing else under /api', () => {
    expect(publicRouteDrift(svc.app.registeredRoutes, 'users')).toEqual([]);
  });
});
