import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { baseConfigSpec, ConfigError, env, parseConfig, redisConfigSpec } from '../src/config.js';

/** The first ConfigError parseConfig throws for this spec and environment. */
function configError(spec: Parameters<typeof parseConfig>[0], source: NodeJS.ProcessEnv): ConfigError {
  try {
    parseConfig(spec, source);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('names a missing required variable', () => {
    const err = configError({ MONGODB_URI: env.url() }, {});
    expect(err.variable).toBe('MONGODB_URI');
    expect(err.message).toBe('config: MONGODB_URI is required but not set');
  });

  it('treats an empty value as unset', () => {
    expect(configError({ SECRET_THING: env.string() }, { SECRET_THING: '' }).variable).toBe('SECRET_THING');
    expect(parseConfig({ HOST: env.string('127.0.0.1') }, { HOST: '' }).HOST).toBe('127.0.0.1');
  });

  it.each([
    ['PORT', env.port(), '80a', /PORT must be an integer in \[0, 65535\], got "80a"/],
    ['PORT', env.port(), '65536', /PORT must be an integer/],
    ['PORT', env.port(), '-1', /PORT must be an integer/],
    ['RETRIES', env.int(3, { min: 1, max: 10 }), '1.5', /RETRIES must be an integer in \[1, 10\]/],
    ['RETRIES', env.int(3, { min: 1, max: 10 }), '0', /RETRIES must be an integer/],
    [
      'REDIS_URL',
      env.url(undefined, ['redis', 'rediss']),
      'localhost:6379',
      /REDIS_URL must use one of redis, rediss/,
    ],
    ['REDIS_URL', env.url(undefined, ['redis', 'rediss']), 'not a url', /REDIS_URL must be a URL/],
    ['MONGODB_URI', env.url(undefined, ['mongodb']), 'http://x', /MONGODB_URI must use one of mongodb/],
    ['PUSH_ENABLED', env.bool(false), 'maybe', /PUSH_ENABLED must be true or false, got "maybe"/],
    [
      'LOG_LEVEL',
      env.oneOf(['info', 'debug'] as const, 'info'),
      'loud',
      /LOG_LEVEL must be one of info, debug, got "loud"/,
    ],
  ])('refuses an invalid %s (%s)', (name, field, raw, message) => {
    const err = configError({ [name]: field }, { [name]: raw });
    expect(err.variable).toBe(name);
    expect(err.message).toMatch(message);
    expect(err.message.split('\n')).toHaveLength(1);
  });

  it('never prints a secret that is too short', () => {
    const err = configError({ INTERNAL_TOKEN: env.secret(24) }, { INTERNAL_TOKEN: 'hunter2' });
    expect(err.message).toBe('config: INTERNAL_TOKEN must be at least 24 characters');
    expect(err.message).not.toContain('hunter2');
  });

  const PH = 'is the example placeholder (change-me…)';
  const PH_URL = 'has the example placeholder (change-me…) as its credentials';
  it.each([
    ['INTERNAL_TOKEN', env.secret(24), 'change-me-internal-token-at-least-24-chars', PH],
    ['TURN_SECRET', env.optionalString(), 'change-me-turn-secret-0123456789', PH],
    ['TOKEN', env.string(), ' Change-Me-later', PH],
    ['REDIS_URL', env.url(undefined, ['redis']), 'redis://:change-me-0123456789abcdef@redis:6379/0', PH_URL],
    ['TURN_REDIS_URL', env.optionalString(), 'redis://:change-me-x@redis:6379/2', PH_URL],
    ['UPSTREAMS', env.list(), 'change-me-upstream', PH],
  ])(
    "refuses .env.example's placeholder secret in %s, naming it without printing it",
    (name, field, raw, problem) => {
      const err = configError({ [name]: field }, { [name]: raw });
      expect(err.variable).toBe(name);
      expect(err.message).toBe(
        `config: ${name} ${problem} from .env.example; set a real secret (infra/docker/init-secrets.sh writes random ones)`,
      );
      expect(err.message).not.toContain(raw.trim());
    },
  );

  it('accepts real secrets, URLs without a placeholder password, and unset optional ones', () => {
    const spec = { INTERNAL_TOKEN: env.secret(24), REDIS_URL: env.url(), TURN_SECRET: env.optionalString() };
    const config = parseConfig(spec, {
      INTERNAL_TOKEN: '4f1c0d7a9b2e8c3f6a5d4e7b1c2d3e4f5a6b7c8d',
      REDIS_URL: 'redis://:0123456789abcdef@redis:6379/0?name=change-me',
    });
    expect(config.INTERNAL_TOKEN).toHaveLength(40);
    expect(config.TURN_SECRET).toBeUndefined();
  });

  it('applies defaults and converts values', () => {
    const spec = {
      ...baseConfigSpec,
      ...redisConfigSpec,
      PORT: env.port(3002),
      ENABLED: env.bool(false),
      ON: env.bool(),
      UPSTREAMS: env.list(['http://a']),
      EXTRA: env.optionalString(),
    };
    const config = parseConfig(spec, { ON: 'yes', UPSTREAMS: ' http://x:1, ,http://y:2 ' });
    expect(config).toMatchObject({
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      BODY_LIMIT_BYTES: 64 * 1024,
      REDIS_URL: 'redis://127.0.0.1:6379',
      PORT: 3002,
      ENABLED: false,
      ON: true,
      UPSTREAMS: ['http://x:1', 'http://y:2'],
    });
    expect(config.EXTRA).toBeUndefined();
    expect(parseConfig({ PORT: env.port(3002) }, { PORT: '0' }).PORT).toBe(0);
    for (const [raw, value] of [
      ['TRUE', true],
      ['on', true],
      ['1', true],
      ['off', false],
      ['No', false],
      ['0', false],
    ] as const)
      expect(parseConfig({ B: env.bool() }, { B: raw }).B).toBe(value);
  });

  it('returns a frozen object', () => {
    const config = parseConfig({ PORT: env.port(1) }, {});
    expect(Object.isFrozen(config)).toBe(true);
  });
});

describe('loadConfig', () => {
  it('stops the process with exit code 1 and one line naming the variable', () => {
    const kitDir = fileURLToPath(new URL('..', import.meta.url));
    const script = `
      import { env, loadConfig } from '@voip/kit/config';
      loadConfig({ PORT: env.port(3000), MONGODB_URI: env.url() }, { PORT: '3000' });
      console.log('should not get here');`;
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: kitDir,
      encoding: 'utf8',
    });
    expect(res.status).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toBe('config: MONGODB_URI is required but not set\n');
  });

  it("stops the process on .env.example's placeholder secret with one line naming the variable", () => {
    const kitDir = fileURLToPath(new URL('..', import.meta.url));
    const script = `
      import { jwtVerifyConfigSpec, loadConfig } from '@voip/kit/config';
      loadConfig(jwtVerifyConfigSpec, { INTERNAL_TOKEN: 'change-me-internal-token-at-least-24-chars' });
      console.log('should not get here');`;
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: kitDir,
      encoding: 'utf8',
    });
    expect(res.status).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr.split('\n')).toHaveLength(2);
    expect(res.stderr).toMatch(
      /^config: INTERNAL_TOKEN is the example placeholder \(change-me…\) from \.env\.example/,
    );
  });
});
