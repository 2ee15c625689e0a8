import fc from 'fast-check';
import { MAX_DELAY_SECONDS } from '../../../lambdas/domain/retry';
import { delaySecondsUntil, sqsSafeJson } from '../../../lambdas/shared/queue';

describe('sqsSafeJson', () => {
  it('writes plain printable ASCII that parses back to the same value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), (value, binary, text) => {
        for (const v of [value, binary, text, { [binary]: [text, value] }]) {
          const out = sqsSafeJson(v);
          expect(out).toMatch(/^[\x20-\x7e]*$/);
          expect(JSON.parse(out)).toEqual(JSON.parse(JSON.stringify(v)));
        }
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it.each([
    ['a supplementary character', '򱳄', '"\\uda87\\udcc4"'],
    ['an unpaired surrogate', '\ud800', '"\\ud800"'],
    ['U+FFFF', '\uffff', '"\\uffff"'],
    ['DEL', '\u007f', '"\\u007f"'],
    ['a control character', '\u0001', '"\\u0001"'],
  ])('escapes %s', (_name, value, want) => {
    expect(sqsSafeJson(value)).toBe(want);
  });
});

describe('delaySecondsUntil', () => {
  const now = 1_700_000_000_000;
  it.each<[string, number, number]>([
    ['due now', now, 0],
    ['overdue', now - 60_000, 0],
    ['one millisecond ahead: rounded up', now + 1, 1],
    ['exactly a second ahead', now + 1_000, 1],
    ['a second and a bit', now + 1_001, 2],
    ['ten minutes ahead', now + 600_000, 600],
    ['exactly one SQS delay', now + 900_000, 900],
    ['past one SQS delay: capped', now + 900_001, 900],
    ['a day ahead: capped', now + 86_400_000, 900],
    ['never (Infinity): capped', Infinity, 900],
  ])('%s', (_, dueAt, expected) => {
    expect(delaySecondsUntil(dueAt, now)).toBe(expected);
  });

  it('caps at the one 15-minute definition', () => {
    expect(MAX_DELAY_SECONDS).toBe(15 * 60);
    expect(delaySecondsUntil(now + 10 * MAX_DELAY_SECONDS * 1000, now)).toBe(MAX_DELAY_SECONDS);
  });
});
