/** Audit events: retention, and the newest-first page merged from the shards' pages. */
import { expiresAt, isRetained, mergeNewestFirst } from '../../../lambdas/domain/audit-events';
import { auditKeys } from '../../../lambdas/store/keys';

const DAY = 86_400_000;

describe('retention', () => {
  it.each([
    [0, 1, 90, true],
    [0, 90 * DAY - 1, 90, true],
    [0, 90 * DAY, 90, false],
    [5 * DAY, 6 * DAY - 1, 1, true],
    [5 * DAY, 6 * DAY, 1 / 2, false],
  ])('an event at %d seen at %d with %d days kept: %s', (at, now, days, want) => {
    expect(isRetained(at, now, days)).toBe(want);
  });

  it.each([
    [0, 90, 90 * 86_400],
    [1_700_000_000_123, 7, 1_700_000_001 + 7 * 86_400],
    [1_700_000_000_000, 1, 1_700_000_000 + 86_400],
  ])('ttl of an event at %d kept %d days is %d, never before it is hidden', (at, days, ttl) => {
    expect(expiresAt(at, days)).toBe(ttl);
    expect(expiresAt(at, days) * 1000).toBeGreaterThanOrEqual(at + days * DAY);
  });
});

describe('event ids', () => {
  it.each([0, 1, 1_700_000_000_123, 4_000_000_000_000])('an id made at %d sorts by time and gives the time back', (at) => {
    const id = auditKeys.newId(at, 'abcdef012345');
    expect(id).toMatch(auditKeys.idPattern);
    expect(auditKeys.timeOf(id)).toBe(at);
    expect(auditKeys.newId(at + 1, '000000000000') > id).toBe(true);
  });

  it.each(['', 'nope', '00000000zabcdef0123', '000000000abcdef01234G', '000000000ABCDEF012345'])('%j names no event', (id) => {
    expect(auditKeys.idPattern.test(id)).toBe(false);
  });
});

describe('mergeNewestFirst', () => {
  const id = (n: number) => n.toString().padStart(4, '0');
  const all = () => true;
  it.each([
    ['one shard', [[9, 8, 7]], 2, all, [9, 8], true],
    [
      'shards interleaved',
      [
        [9, 5, 1],
        [8, 6, 2],
        [7, 3],
      ],
      4,
      all,
      [9, 8, 7, 6],
      true,
    ],
    [
      'exactly a page',
      [
        [4, 2],
        [3, 1],
      ],
      4,
      all,
      [4, 3, 2, 1],
      false,
    ],
    ['fewer than a page', [[4], [], [3]], 4, all, [4, 3], false],
    ['no events', [[], [], [], []], 4, all, [], false],
    [
      'expired tail dropped',
      [
        [9, 8, 2, 1],
        [7, 3],
      ],
      3,
      (n: number) => n > 5,
      [9, 8, 7],
      false,
    ],
    ['expired tail, still more kept', [[9, 8, 7, 6], [5]], 3, (n: number) => n > 4, [9, 8, 7], true],
  ])('%s', (_, pages, limit, keep, want, more) => {
    const page = mergeNewestFirst(
      pages.map((p) => p.map(id)),
      (x) => x,
      limit,
      (x) => keep(Number(x)),
    );
    expect(page).toEqual({ items: want.map(id), more });
  });
});
