import { parseConfig } from '@voip/kit/config';
import { serviceEnv } from '@voip/testkit/env';
import { describeOpsEndpoints } from '@voip/testkit/ops-suite';
import { expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { configSpec } from '../src/config.js';

describeOpsEndpoints(
  'user',
  () => buildApp(parseConfig(configSpec, serviceEnv())),
  (app) => {
    it('exposes the backlog of both consumer groups it reads (bus_stream_pending / bus_stream_lag)', async () => {
      const scrape = async () => (await app().inject('/metrics')).body;
      await expect
        .poll(scrape, { timeout: 10_000 })
        .toMatch(/bus_stream_pending\{[^}]*group="user-service"[^}]*\} \d+\n/);
      await expect
        .poll(scrape, { timeout: 10_000 })
        .toMatch(/bus_stream_pending\{[^}]*group="user-sync"[^}]*\} \d+\n/);
      expect(await scrape()).toMatch(/bus_stream_lag\{[^}]*group="user-sync"[^}]*\} \d+\n/);
    });
  },
);
