// The gateway's own variables: upstream lists are checked at start-up, not at the first request.
import { ConfigError, parseConfig } from '@voip/kit/config';
import { serviceEnv } from '@voip/testkit/env';
import { describe, expect, it } from 'vitest';
import { configSpec } from '../src/config.js';

describe('gateway config', () => {
  it('reads several upstreams per service and defaults to the conventional ports', () => {
    const c = parseConfig(
      configSpec,
      serviceEnv({ USER_UPSTREAMS: 'http://10.0.0.1:3002, http://10.0.0.2:3002,', CALL_UPSTREAMS: '' }),
    );
    expect(c.USER_UPSTREAMS).toEqual(['http://10.0.0.1:3002', 'http://10.0.0.2:3002']);
    expect(c.CALL_UPSTREAMS).toEqual(['http://127.0.0.1:3003']);
    expect(c.CORS_ORIGINS).toEqual([]);
  });

  it('names the variable when an upstream is not an http(s) URL', () => {
    expect(() =>
      parseConfig(configSpec, serviceEnv({ AUTH_UPSTREAMS: 'http://ok:1,auth-service:3001' })),
    ).toThrow(new ConfigError('AUTH_UPSTREAMS', 'has "auth-service:3001": only http(s) upstreams'));
    expect(() => parseConfig(configSpec, serviceEnv({ USER_UPSTREAMS: 'not a url' }))).toThrow(
      /USER_UPSTREAMS .*not a URL/,
    );
    expect(() => parseConfig(configSpec, serviceEnv({ CALL_UPSTREAMS: ' , ' }))).toThrow(
      /CALL_UPSTREAMS needs at least one URL/,
    );
  });

  it('refuses nonsense limits', () => {
    expect(() => parseConfig(configSpec, serviceEnv({ RATE_LIMIT_USER_MAX: '0' }))).toThrow(
      /RATE_LIMIT_USER_MAX/,
    );
    expect(() => parseConfig(configSpec, serviceEnv({ UPSTREAM_TIMEOUT_MS: 'soon' }))).toThrow(
      /UPSTREAM_TIMEOUT_MS/,
    );
  });
});
