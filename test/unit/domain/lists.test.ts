import fc from 'fast-check';
import { compileListPattern, listIdSchema } from '../../../lambdas/domain/lists';
import { ValidationError } from '../../../lambdas/shared/errors';

describe('listIdSchema', () => {
  it.each(['a', 'eng', 'p.eng.alerts', 'a.b.c.d', 'team/a b@x.io', 'x'.repeat(256)])('accepts %s', (id) => {
    expect(listIdSchema.safeParse(id)).toEqual({ success: true, data: id });
  });

  it.each<[string, string]>([
    ['', 'must be 1-256 characters'],
    ['x'.repeat(257), 'must be 1-256 characters'],
    ['a.b.c.d.e', 'must have at most 4 dot-separated parts (has 5)'],
    ['.a', 'must not have an empty part'],
    ['a.', 'must not have an empty part'],
    ['a..b', 'must not have an empty part'],
    ['a.*', "must not contain '*'"],
    ['a*b', "must not contain '*'"],
  ])('rejects %j: %s', (id, message) => {
    const result = listIdSchema.safeParse(id);
    expect(result.error?.issues).toEqual([expect.objectContaining({ message: expect.stringContaining(message) })]);
  });
});

describe('compileListPattern: matching', () => {
  it.each<[string, string, boolean]>([
    // conformance cases
    ['p.*.alerts', 'p.eng.alerts', true],
    ['p.*.alerts', 'p.ops.alerts', true],
    ['p.*.alerts', 'p.eng.news', false],
    ['p.eng.**', 'p.eng.alerts', true],
    ['p.eng.**', 'p.eng.news', true],
    ['p.eng.**', 'p.eng.a.b', true],
    ['p.eng.**', 'p.eng', false],
    ['p.eng.**', 'p.engx.a', false],
    // '*' is exactly one part
    ['p.*', 'p.a', true],
    ['p.*', 'p', false],
    ['p.*', 'p.a.b', false],
    ['*', 'a', true],
    ['*', 'a.b', false],
    ['*.alerts', 'eng.alerts', true],
    ['*.alerts', 'eng.news', false],
    ['*.*', 'a.b', true],
    ['*.*', 'a', false],
    ['a.*.c.*', 'a.b.c.d', true],
    ['a.*.c.*', 'a.b.x.d', false],
    // '**' is one or more remaining parts
    ['**', 'a', true],
    ['**', 'a.b.c.d', true],
    ['a.**', 'a', false],
    ['a.**', 'ab.c', false],
    ['*.**', 'a.b', true],
    ['*.**', 'a', false],
    ['a.*.**', 'a.b.c.d', true],
    // exact ids match only themselves
    ['a.b', 'a.b', true],
    ['a.b', 'a.bc', false],
    ['a.b', 'a.b.c', false],
    ['a.b', 'a', false],
    ['a.b', 'A.b', false],
  ])('%s matches %s: %s', (pattern, id, expected) => {
    expect(compileListPattern(pattern).matches(id)).toBe(expected);
  });
});

describe('compileListPattern: prefix for begins_with', () => {
  it.each<[string, string]>([
    ['eng.*.alerts', 'eng.'],
    ['eng.**', 'eng.'],
    ['p.eng.**', 'p.eng.'],
    ['a.b.*', 'a.b.'],
    ['*.alerts', ''],
    ['**', ''],
    ['a.b', 'a.b'],
    ['a', 'a'],
  ])('%s -> %j', (pattern, prefix) => {
    expect(compileListPattern(pattern)).toEqual(expect.objectContaining({ raw: pattern, prefix }));
  });

  it('never excludes an id the pattern matches', () => {
    // Small alphabets so that generated patterns and ids often share parts.
    const literal = fc.constantFrom('a', 'b', 'ab');
    const pattern = fc
      .tuple(fc.array(fc.oneof(literal, fc.constant('*')), { minLength: 1, maxLength: 4 }), fc.boolean())
      .map(([parts, rest]) => (rest ? [...parts.slice(0, 3), '**'] : parts).join('.'));
    const id = fc.array(literal, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('.'));
    fc.assert(
      fc.property(pattern, id, (p, i) => {
        const compiled = compileListPattern(p);
        return !compiled.matches(i) || i.startsWith(compiled.prefix);
      }),
    );
  });
});

describe('compileListPattern: invalid patterns', () => {
  it.each<[string, string]>([
    ['', 'must be 1-256 characters'],
    ['a.b.c.d.*', 'must have at most 4 dot-separated parts (has 5)'],
    ['a..*', 'must not have an empty part'],
    ['*.', 'must not have an empty part'],
    ['eng*', `part "eng*" must be '*', '**' or free of '*'`],
    ['a.***', `part "***" must be '*', '**' or free of '*'`],
    ['**.alerts', "'**' must be the last part"],
    ['a.**.b', "'**' must be the last part"],
  ])('refuses %j: %s', (pattern, message) => {
    expect(() => compileListPattern(pattern)).toThrow(ValidationError);
    expect(() => compileListPattern(pattern)).toThrow(`Invalid list pattern "${pattern}": ${message}`);
  });
});
