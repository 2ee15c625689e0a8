import { delayLimitIssue } from '../../../lambdas/domain/send';
import { parseConfig } from '../../../lambdas/shared/settings';

const DAY = 86_400_000;
const now = Date.parse('2026-01-01T00:00:00Z');

describe('delay limit (MAX_DELAY_DAYS)', () => {
  it.each([
    ['no delay', undefined, undefined],
    ['an empty delay', {}, undefined],
    ['a duration of exactly the limit', { duration: 30 * DAY }, undefined],
    ['a duration one ms past the limit', { duration: 30 * DAY + 1 }, 'body.message.delay.duration'],
    ['an until in the past', { until: '2020-01-01T00:00:00Z' }, undefined],
    ['an until 30 days ahead', { until: '2026-01-31T00:00:00Z' }, undefined],
    ['an until past the limit', { until: '2026-01-31T00:00:01Z' }, 'body.message.delay.until'],
    ['an until far past the limit', { until: '9999-12-31T00:00:00Z' }, 'body.message.delay.until'],
    ['an until (which wins) past the limit with a short duration', { until: '2027-01-01T00:00:00Z', duration: 1000 }, 'body.message.delay.until'],
    ['a huge duration', { duration: Number.MAX_SAFE_INTEGER }, 'body.message.delay.duration'],
  ])('%s', (_name, delay, field) => {
    const issue = delayLimitIssue(delay, now, 30);
    if (field === undefined) expect(issue).toBeUndefined();
    else expect(issue).toMatch(new RegExp(`^Invalid request: ${field.replace(/\./g, '\\.')}: .*30 days`));
  });

  it('is a setting: 30 days by default, 1 to 365, refused naming the variable otherwise', () => {
    expect(parseConfig({ TABLE_NAME: 't' }).MAX_DELAY_DAYS).toBe(30);
    expect(parseConfig({ TABLE_NAME: 't', MAX_DELAY_DAYS: '90' }).MAX_DELAY_DAYS).toBe(90);
    for (const bad of ['0', '366', '1.5', 'soon']) expect(() => parseConfig({ TABLE_NAME: 't', MAX_DELAY_DAYS: bad })).toThrow(/MAX_DELAY_DAYS/);
  });
});
