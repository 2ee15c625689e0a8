import fc from 'fast-check';
import { sqsSafeJson } from '../../../lambdas/shared/queue';

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
