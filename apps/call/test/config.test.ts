// The cross-field rules of the call service's configuration (checkConfig): a combination that cannot work
// stops the service at start-up with one line naming the variable.
import { ConfigError } from '@voip/kit/config';
import { serviceEnv } from '@voip/testkit/env';
import { describe, expect, it } from 'vitest';
import { parseCallConfig } from '../src/config.js';

const callScoped = {
  TURN_MODE: 'call-scoped',
  TURN_URLS: 'turn:127.0.0.1:3478?transport=udp',
  TURN_SECRET: 'a-secret-of-at-least-16-chars',
  TURN_REDIS_URL: 'redis://127.0.0.1:6379/2',
};

describe('call config', () => {
  it('refuses call-scoped TURN without the history consumer, which is what revokes its users at call end', () => {
    let error: unknown;
    try {
      parseCallConfig(serviceEnv({ ...callScoped, HISTORY_CONSUMER_ENABLED: 'false' }));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect((error as ConfigError).variable).toBe('HISTORY_CONSUMER_ENABLED');
    expect(message).toMatch(/^config: HISTORY_CONSUMER_ENABLED .*TURN_MODE=call-scoped/);
    expect(message).not.toContain('\n');
  });

  it('accepts call-scoped TURN with the consumer, and REST TURN or no TURN without it', () => {
    expect(parseCallConfig(serviceEnv(callScoped))).toMatchObject({
      TURN_MODE: 'call-scoped',
      HISTORY_CONSUMER_ENABLED: true,
    });
    const { TURN_MODE: _mode, TURN_REDIS_URL: _db, ...rest } = callScoped;
    expect(parseCallConfig(serviceEnv({ ...rest, HISTORY_CONSUMER_ENABLED: 'false' })).TURN_MODE).toBe(
      'rest',
    );
    // Call-scoped without TURN_URLS hands out STUN only: no TURN users, nothing to revoke.
    expect(
      parseCallConfig(serviceEnv({ TURN_MODE: 'call-scoped', HISTORY_CONSUMER_ENABLED: 'false' }))
        .HISTORY_CONSUMER_ENABLED,
    ).toBe(false);
  });

  it('still names the missing TURN_REDIS_URL first', () => {
    const { TURN_REDIS_URL: _db, ...noDb } = callScoped;
    expect(() => parseCallConfig(serviceEnv({ ...noDb, HISTORY_CONSUMER_ENABLED: 'false' }))).toThrow(
      new ConfigError('TURN_REDIS_URL', 'is required when TURN_MODE=call-scoped'),
    );
  });

  it('takes turns: URLs in TURNS_URLS, and names the variable holding a URL of the wrong scheme', () => {
    const { TURN_MODE: _mode, TURN_REDIS_URL: _db, ...rest } = callScoped;
    const turns = 'turns:turn.example.com:5349?transport=tcp';
    expect(parseCallConfig(serviceEnv({ ...rest, TURNS_URLS: turns })).TURNS_URLS).toEqual([turns]);
    expect(() => parseCallConfig(serviceEnv({ ...rest, TURNS_URLS: 'turn:turn.example.com:3478' }))).toThrow(
      new ConfigError('TURNS_URLS', 'must hold turns: URLs, got "turn:turn.example.com:3478"'),
    );
    expect(() => parseCallConfig(serviceEnv({ ...rest, TURN_URLS: 'https://turn.example.com' }))).toThrow(
      new ConfigError('TURN_URLS', 'must hold turn: URLs, got "https://turn.example.com"'),
    );
    expect(() => parseCallConfig(serviceEnv({ TURN_SECRET: rest.TURN_SECRET, TURNS_URLS: turns }))).toThrow(
      /^config: TURNS_URLS needs TURN_URLS/,
    );
  });
});
