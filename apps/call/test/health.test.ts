import { describeOpsEndpoints } from '@voip/testkit/ops-suite';
import { expect, it } from 'vitest';
import { callEnv, startCallService } from './support/harness.js';

describeOpsEndpoints(
  'call',
  () => startCallService(callEnv(1)),
  (app) => {
    it('exposes the call-history consumer group backlog (bus_stream_pending / bus_stream_lag)', async () => {
      const scrape = async () => (await app().inject('/metrics')).body;
      // The group is created when the consumer starts; the gauges report it from then on.
      await expect
        .poll(scrape, { timeout: 10_000 })
        .toMatch(/bus_stream_pending\{[^}]*group="call-history"[^}]*\} \d+\n/);
      expect(await scrape()).toMatch(/bus_stream_lag\{[^}]*stream="[^"]*call-events"[^}]*\} \d+\n/);
    });
  },
);
