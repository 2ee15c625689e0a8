/** INBOX_RETENTION_DAYS (issue 11, item 9): validated at start-up like every setting, naming the variable. */
import { parseConfig } from '../../../lambdas/shared/settings';

describe('INBOX_RETENTION_DAYS', () => {
  it.each([
    ['unset keeps inbox items', undefined, undefined],
    ['a whole number of days', '30', 30],
    ['the most, ten years', '3650', 3650],
  ])('accepts %s', (_, value, want) => {
    expect(parseConfig({ TABLE_NAME: 't', ...(value === undefined ? {} : { INBOX_RETENTION_DAYS: value }) }).INBOX_RETENTION_DAYS).toBe(want);
  });

  it.each(['0', '-1', '1.5', 'forever', '3651', ''])('refuses %j at start-up, naming the variable', (value) => {
    expect(() => parseConfig({ TABLE_NAME: 't', INBOX_RETENTION_DAYS: value })).toThrow(/invalid configuration: INBOX_RETENTION_DAYS/);
  });
});
