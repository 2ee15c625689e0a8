import { ValidationError } from '../../../lambdas/shared/errors';
import { DEFAULT_EXPIRY_SECONDS, MAX_EXPIRY_SECONDS, parseExpiration, parseIdempotencyKey, scopeHash } from '../../../lambdas/shared/idempotency';

const NOW_MS = Date.UTC(2026, 0, 15, 12, 0, 0, 250);
const NOW = Math.floor(NOW_MS / 1000);

describe('parseIdempotencyKey', () => {
  it('is undefined without the header and keeps a valid key as it is', () => {
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
    expect(parseIdempotencyKey('a')).toBe('a');
    expect(parseIdempotencyKey('order 42/user@x:~!')).toBe('order 42/user@x:~!');
    expect(parseIdempotencyKey('k'.repeat(255))).toHaveLength(255);
  });

  it.each([
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['a control character', 'a\u0001b'],
    ['a tab', 'a\tb'],
    ['non-ASCII', 'clé'],
  ])('refuses a key that is %s with 400 naming the header', (_, value) => {
    expect(() => parseIdempotencyKey(value)).toThrow(ValidationError);
    expect(() => parseIdempotencyKey(value)).toThrow(/header idempotency-key/);
  });
});

describe('parseExpiration', () => {
  it('defaults to 24 hours', () => {
    expect(parseExpiration(undefined, NOW_MS)).toBe(NOW + DEFAULT_EXPIRY_SECONDS);
  });

  it.each([
    ['epoch seconds', String(NOW + 3600), NOW + 3600],
    ['ISO-8601 UTC', '2026-01-16T12:00:00Z', NOW + 86400],
    ['ISO-8601 with fractions', '2026-01-16T12:00:00.500Z', NOW + 86401],
    ['ISO-8601 with an offset', '2026-01-16T13:00:00+01:00', NOW + 86400],
    ['ISO-8601 without an offset (UTC)', '2026-01-16T12:00:00', NOW + 86400],
    ['ISO-8601 without seconds', '2026-01-16T12:00', NOW + 86400],
    ['an ISO-8601 date', '2026-01-17', Date.UTC(2026, 0, 17) / 1000],
    ['"1 Day"', '1 Day', NOW + 86400],
    ['"2 Hours"', '2 Hours', NOW + 7200],
    ['"30 minutes"', '30 minutes', NOW + 1800],
    ['"1 week"', '1 week', NOW + 7 * 86400],
    ['"1 Year"', '1 Year', NOW + 365.25 * 86400], // a year of the one duration parser (domain/durations.ts)
    ['surrounding spaces', `  ${NOW + 60} `, NOW + 60],
  ])('accepts %s', (_, value, expected) => {
    expect(parseExpiration(value, NOW_MS)).toBe(expected);
  });

  it('allows at most a year (366 days) ahead', () => {
    expect(parseExpiration(String(NOW + MAX_EXPIRY_SECONDS), NOW_MS)).toBe(NOW + MAX_EXPIRY_SECONDS);
    expect(parseExpiration('366 days', NOW_MS)).toBe(NOW + MAX_EXPIRY_SECONDS);
    expect(() => parseExpiration(String(NOW + MAX_EXPIRY_SECONDS + 1), NOW_MS)).toThrow(/at most 1 year/);
    expect(() => parseExpiration('2 years', NOW_MS)).toThrow(/at most 1 year/);
    expect(() => parseExpiration(String(NOW_MS + 60_000), NOW_MS)).toThrow(/at most 1 year/);
  });

  it('refuses a time that is not in the future', () => {
    expect(() => parseExpiration(String(NOW), NOW_MS)).toThrow(/must be in the future/);
    expect(() => parseExpiration('2025-01-01T00:00:00Z', NOW_MS)).toThrow(/must be in the future/);
    expect(() => parseExpiration('0 days', NOW_MS)).toThrow(/must be in the future/);
  });

  it.each(['', 'soon', 'tomorrow', '1.5', '-60', '1 fortnight', '2026-02-30', '2026-01-16T25:00:00Z', '16/01/2026', 'P1D'])(
    'refuses %j with 400 naming the header',
    (value) => {
      expect(() => parseExpiration(value, NOW_MS)).toThrow(ValidationError);
      expect(() => parseExpiration(value, NOW_MS)).toThrow(/header x-idempotency-expiration/);
    },
  );
});

describe('scopeHash', () => {
  it('differs per method, path and key, and hides the key', () => {
    const h = scopeHash('POST', '/send', 'k1');
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(scopeHash('post', '/send', 'k1')).toBe(h);
    expect(new Set([h, scopeHash('POST', '/brands', 'k1'), scopeHash('POST', '/send', 'k2'), scopeHash('POST', '/send/', 'k1')]).size).toBe(4);
  });
});
