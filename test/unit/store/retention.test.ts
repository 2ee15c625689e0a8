import { parseConfig } from '../../../lambdas/shared/settings';
import { ttlFor } from '../../../lambdas/store/messages';

/** MESSAGE_RETENTION_DAYS: the `ttl` every message log item carries, from the setting and the time given. */
const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);

describe('retention', () => {
  it.each([
    ['unset keeps logs forever', undefined, undefined, {}],
    ['30 days from now', 30, undefined, { ttl: NOW / 1000 + 30 * 86_400 }],
    ['a due time in the past counts from now', 1, NOW - 3_600_000, { ttl: NOW / 1000 + 86_400 }],
    ['a delayed request counts from when it is due', 7, NOW + 10 * 86_400_000, { ttl: NOW / 1000 + 17 * 86_400 }],
  ])('%s', (_name, days, dueAt, want) => {
    expect(ttlFor(days, NOW, dueAt)).toEqual(want);
  });

  it('refuses a retention that is not a whole number of days from 1 to 3650 at start-up', () => {
    for (const bad of ['0', '-1', '1.5', 'forever', '3651']) {
      expect(() => parseConfig({ TABLE_NAME: 't', MESSAGE_RETENTION_DAYS: bad })).toThrow(/MESSAGE_RETENTION_DAYS/);
    }
    expect(parseConfig({ TABLE_NAME: 't', MESSAGE_RETENTION_DAYS: '90' }).MESSAGE_RETENTION_DAYS).toBe(90);
  });
});
