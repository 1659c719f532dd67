import { parseConfig } from '@voip/kit/config';
import { serviceEnv } from '@voip/testkit/env';
import { describeOpsEndpoints } from '@voip/testkit/ops-suite';
import { buildApp } from '../src/app.js';
import { configSpec } from '../src/config.js';

describeOpsEndpoints('gateway', () => buildApp(parseConfig(configSpec, serviceEnv())));
