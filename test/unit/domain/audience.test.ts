import {
  audienceBodySchema,
  matchesAudience,
  MAX_FILTER_DEPTH,
  MAX_FILTER_RULES,
  usesMembership,
  type AudienceDefinition,
  type AudienceSubject,
  type FilterConfig,
} from '../../../lambdas/domain/audience';

const rule = (operator: string, path?: string, value?: string | string[]): FilterConfig => ({ operator, path, value });
const only = (filter: FilterConfig): AudienceDefinition => ({ filter: { filters: [filter] } });

/** Wraps `leaf` in groups so that it sits at `level` (filter.filters entries are level 1). */
function nestedTo(level: number, leaf: FilterConfig): FilterConfig {
  return level === 1 ? leaf : { operator: 'AND', filters: [nestedTo(level - 1, leaf)] };
}

const issuesOf = (body: unknown): string[] => {
  const result = audienceBodySchema.safeParse(body);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('audienceBodySchema', () => {
  it.each<[string, unknown]>([
    ['an empty body', {}],
    ['name and description only', { name: 'Enterprise', description: 'plan = enterprise' }],
    ['nulls the SDK sends', { name: null, description: null, operator: null, filter: null }],
    ['an empty filter list', { filter: { filters: [] } }],
    ['an EQ rule', { operator: 'AND', filter: { filters: [rule('EQ', 'plan', 'enterprise')] } }],
    ['INCLUDES with an array value', { filter: { filters: [rule('INCLUDES', 'tags', ['a', 'b'])] } }],
    ['OMIT with an array value', { filter: { filters: [rule('OMIT', 'tags', ['a'])] } }],
    ['EXISTS without a value', { filter: { filters: [rule('EXISTS', 'email')] } }],
    ['EXISTS "false"', { filter: { filters: [rule('EXISTS', 'email', 'false')] } }],
    ['MEMBER_OF without a path', { filter: { filters: [rule('MEMBER_OF', undefined, 'acme')] } }],
    ['MEMBER_OF with path account_id', { filter: { filters: [rule('MEMBER_OF', 'account_id', 'acme')] } }],
    ['GT with a decimal', { filter: { filters: [rule('GT', 'age', '-1.5e2')] } }],
    ['IS_BEFORE with a date', { filter: { filters: [rule('IS_BEFORE', 'created', '2024-01-01')] } }],
    ['IS_AFTER with an offset date-time', { filter: { filters: [rule('IS_AFTER', 'created', '2024-01-01T10:00:00.5+02:00')] } }],
    ['IS_AFTER with epoch ms', { filter: { filters: [rule('IS_AFTER', 'created', '1704067200000')] } }],
    ['a nested OR group', { filter: { filters: [{ operator: 'OR', filters: [rule('EQ', 'a', '1'), rule('EQ', 'b', '2')] }] } }],
    [`a rule at level ${MAX_FILTER_DEPTH}`, { filter: { filters: [nestedTo(MAX_FILTER_DEPTH, rule('EQ', 'a', '1'))] } }],
    [`${MAX_FILTER_RULES} rules`, { filter: { filters: Array.from({ length: MAX_FILTER_RULES }, () => rule('EQ', 'a', '1')) } }],
  ])('accepts %s', (_title, body) => {
    expect(issuesOf(body)).toEqual([]);
  });

  it.each<[string, unknown, string]>([
    ['a lower-case operator', { filter: { filters: [rule('EQ', 'a', '1'), rule('eq', 'a', '1')] } }, 'filter.filters.1.operator: Invalid option'],
    ['an unknown operator', { filter: { filters: [rule('CONTAINS', 'a', '1')] } }, 'filter.filters.0.operator: Invalid option'],
    ['a top-level operator other than AND/OR', { operator: 'XOR', filter: { filters: [] } }, 'operator: Invalid option'],
    ['a rule without a path', { filter: { filters: [rule('EQ', undefined, '1')] } }, 'filter.filters.0.path: EQ needs a path'],
    ['a rule without a value', { filter: { filters: [rule('STARTS_WITH', 'a')] } }, 'filter.filters.0.value: STARTS_WITH needs a value'],
    ['a number value', { filter: { filters: [{ operator: 'EQ', path: 'a', value: 1 }] } }, 'filter.filters.0.value: Invalid input'],
    ['an empty path part', { filter: { filters: [rule('EQ', 'location..city', 'x')] } }, 'filter.filters.0.path: expected a dotted profile path'],
    ['an array value on EQ', { filter: { filters: [rule('EQ', 'a', ['1'])] } }, 'filter.filters.0.value: EQ takes a single string value'],
    ['an empty INCLUDES array', { filter: { filters: [rule('INCLUDES', 'a', [])] } }, 'filter.filters.0.value: INCLUDES needs at least one value'],
    ['EXISTS "yes"', { filter: { filters: [rule('EXISTS', 'a', 'yes')] } }, 'filter.filters.0.value: EXISTS takes "true" or "false"'],
    ['GT with a non-number', { filter: { filters: [rule('GT', 'age', 'ten')] } }, 'filter.filters.0.value: GT needs a number'],
    ['LTE with a hex number', { filter: { filters: [rule('LTE', 'age', '0x10')] } }, 'filter.filters.0.value: LTE needs a number'],
    ['IS_BEFORE with a non-ISO date', { filter: { filters: [rule('IS_BEFORE', 'd', 'March 7')] } }, 'filter.filters.0.value: IS_BEFORE needs an ISO-8601 date'],
    ['MEMBER_OF on another path', { filter: { filters: [rule('MEMBER_OF', 'tenant', 'acme')] } }, 'filter.filters.0.path: MEMBER_OF reads account_id only'],
    ['MEMBER_OF with an empty tenant id', { filter: { filters: [rule('MEMBER_OF', undefined, '')] } }, 'filter.filters.0.value: MEMBER_OF needs a tenant id'],
    ['a group without filters', { filter: { filters: [{ operator: 'OR' }] } }, 'filter.filters.0.filters: an OR group needs at least one filter'],
    [
      'a group with empty filters',
      { filter: { filters: [{ operator: 'AND', filters: [] }] } },
      'filter.filters.0.filters: an AND group needs at least one filter',
    ],
    [
      'a group with a path',
      { filter: { filters: [{ operator: 'AND', path: 'a', filters: [rule('EQ', 'a', '1')] }] } },
      'filter.filters.0.path: an AND group takes no path',
    ],
    [
      'a rule with nested filters',
      { filter: { filters: [{ ...rule('EQ', 'a', '1'), filters: [rule('EQ', 'b', '1')] }] } },
      'filter.filters.0.filters: EQ is a rule and takes no nested filters',
    ],
    [
      'a nested rule error',
      { filter: { filters: [{ operator: 'OR', filters: [rule('EQ', 'a', '1'), rule('GT', 'b', 'x')] }] } },
      'filter.filters.0.filters.1.value: GT needs a number',
    ],
    ['a filter without filters', { filter: {} }, 'filter.filters: Invalid input'],
    [
      `a rule at level ${MAX_FILTER_DEPTH + 1}`,
      { filter: { filters: [nestedTo(MAX_FILTER_DEPTH + 1, rule('EQ', 'a', '1'))] } },
      `filter.filters.0${'.filters.0'.repeat(MAX_FILTER_DEPTH - 1)}.filters: filters nest at most ${MAX_FILTER_DEPTH} levels deep`,
    ],
    [
      `${MAX_FILTER_RULES + 1} rules across groups`,
      {
        filter: {
          filters: [{ operator: 'OR', filters: Array.from({ length: MAX_FILTER_RULES }, () => rule('EQ', 'a', '1')) }, rule('EQ', 'b', '2')],
        },
      },
      `filter.filters: at most ${MAX_FILTER_RULES} rules, got ${MAX_FILTER_RULES + 1}`,
    ],
  ])('rejects %s, naming the field', (_title, body, expected) => {
    expect(issuesOf(body)).toEqual([expect.stringContaining(expected)]);
  });

  it('rejects a hostile nesting depth without walking it', () => {
    const deep = nestedTo(5_000, rule('EQ', 'a', '1'));
    expect(issuesOf({ filter: { filters: [deep] } })).toHaveLength(1);
  });

  it('returns the body as given, dropping unknown keys and filling in no defaults', () => {
    const body = { name: 'n', extra: 1, filter: { filters: [{ ...rule('MEMBER_OF', undefined, 't'), note: 'x' }] } };
    expect(audienceBodySchema.parse(body)).toEqual({ name: 'n', filter: { filters: [{ operator: 'MEMBER_OF', value: 't' }] } });
  });
});

describe('matchesAudience: one rule', () => {
  const profile = {
    email: 'ada@example.com',
    plan: 'enterprise',
    age: 36,
    score: '7.5',
    vip: true,
    nothing: null,
    tags: ['beta', 'admin', 3],
    bio: 'likes Paris, TX',
    location: { city: 'London', geo: { lat: 51.5 } },
    created: '2024-03-01T12:00:00Z',
    created_ms: 1709294400000,
    local_time: '2024-03-01T12:00',
  };
  const subject: AudienceSubject = { profile, tenantIds: ['acme', 'globex'] };

  it.each<[string, string | undefined, string | string[] | undefined, boolean]>([
    ['EQ', 'plan', 'enterprise', true],
    ['EQ', 'plan', 'Enterprise', false],
    ['EQ', 'age', '36', true],
    ['EQ', 'vip', 'true', true],
    ['EQ', 'location.city', 'London', true],
    ['EQ', 'location.geo.lat', '51.5', true],
    ['EQ', 'tags.0', 'beta', true],
    ['EQ', 'location', '[object Object]', false],
    ['EQ', 'nothing', 'null', false],
    ['EQ', 'missing', '', false],
    ['EQ', 'constructor', 'function Object() { [native code] }', false],
    ['NEQ', 'plan', 'free', true],
    ['NEQ', 'plan', 'enterprise', false],
    ['NEQ', 'age', '36', false],
    ['NEQ', 'missing', 'x', true],
    ['NEQ', 'location', 'x', true],
    ['STARTS_WITH', 'email', 'ada@', true],
    ['STARTS_WITH', 'email', 'bob@', false],
    ['STARTS_WITH', 'age', '3', false],
    ['ENDS_WITH', 'email', '@example.com', true],
    ['ENDS_WITH', 'email', '@example.org', false],
    ['ENDS_WITH', 'missing', 'x', false],
    ['INCLUDES', 'tags', 'admin', true],
    ['INCLUDES', 'tags', ['nope', 'beta'], true],
    ['INCLUDES', 'tags', ['nope'], false],
    ['INCLUDES', 'tags', '3', true],
    ['INCLUDES', 'tags', 'beta,admin', false],
    ['INCLUDES', 'bio', 'Paris, TX', true],
    ['INCLUDES', 'bio', ['Rome', 'Paris'], true],
    ['INCLUDES', 'email', 'bob', false],
    ['INCLUDES', 'age', '3', false],
    ['INCLUDES', 'missing', 'x', false],
    ['OMIT', 'tags', 'admin', false],
    ['OMIT', 'tags', ['nope'], true],
    ['OMIT', 'bio', 'Paris', false],
    ['OMIT', 'missing', 'x', true],
    ['GT', 'age', '35', true],
    ['GT', 'age', '36', false],
    ['GTE', 'age', '36', true],
    ['LT', 'age', '36.5', true],
    ['LTE', 'age', '36', true],
    ['LT', 'score', '8', true],
    ['GT', 'score', '7.5', false],
    ['GT', 'plan', '1', false],
    ['GT', 'vip', '0', false],
    ['GT', 'missing', '1', false],
    ['GT', 'age', 'x', false],
    ['IS_BEFORE', 'created', '2024-03-02', true],
    ['IS_BEFORE', 'created', '2024-03-01T12:00:00Z', false],
    ['IS_AFTER', 'created', '2024-03-01T11:59:59.999Z', true],
    ['IS_AFTER', 'created', '2024-03-01T13:00:00+02:00', true],
    ['IS_BEFORE', 'created_ms', '2024-03-01T12:00:01Z', true],
    ['IS_AFTER', 'created', '1709294399999', true],
    ['IS_AFTER', 'local_time', '2024-03-01T11:59:59Z', true],
    ['IS_BEFORE', 'local_time', '2024-03-01T12:00:01Z', true],
    ['IS_BEFORE', 'plan', '2030-01-01', false],
    ['IS_BEFORE', 'missing', '2030-01-01', false],
    ['IS_BEFORE', 'created', 'soon', false],
    ['EXISTS', 'email', undefined, true],
    ['EXISTS', 'email', 'true', true],
    ['EXISTS', 'email', 'false', false],
    ['EXISTS', 'missing', 'true', false],
    ['EXISTS', 'missing', 'false', true],
    ['EXISTS', 'nothing', 'true', false],
    ['EXISTS', 'email', 'maybe', false],
    ['MEMBER_OF', undefined, 'acme', true],
    ['MEMBER_OF', 'account_id', 'globex', true],
    ['MEMBER_OF', undefined, 'initech', false],
    ['LIKE', 'plan', 'enterprise', false],
    ['eq', 'plan', 'enterprise', false],
  ])('%s %s %j -> %s', (operator, path, value, expected) => {
    expect(matchesAudience(only(rule(operator, path, value)), subject)).toBe(expected);
  });
});

describe('matchesAudience: dates without an offset', () => {
  const originalTz = process.env.TZ;
  afterEach(() => {
    process.env.TZ = originalTz;
  });

  it.each(['UTC', 'Asia/Tokyo', 'America/Los_Angeles'])('reads them as UTC whatever the host time zone (%s)', (tz) => {
    process.env.TZ = tz;
    const subject: AudienceSubject = { profile: { at: '2024-03-01T12:00' }, tenantIds: [] };
    expect(matchesAudience(only(rule('IS_AFTER', 'at', '2024-03-01T11:59:59Z')), subject)).toBe(true);
    expect(matchesAudience(only(rule('IS_BEFORE', 'at', '2024-03-01T12:00:01Z')), subject)).toBe(true);
  });
});

describe('matchesAudience: combining rules', () => {
  const subject: AudienceSubject = { profile: { plan: 'pro', country: 'FR', age: 20 }, tenantIds: ['acme'] };
  const yes = rule('EQ', 'plan', 'pro');
  const no = rule('EQ', 'plan', 'free');

  it.each<[string, AudienceDefinition, boolean]>([
    ['no filter', {}, false],
    ['a null filter', { filter: null }, false],
    ['an empty filter list', { filter: { filters: [] } }, false],
    ['default AND, all match', { filter: { filters: [yes, rule('EQ', 'country', 'FR')] } }, true],
    ['default AND, one fails', { filter: { filters: [yes, no] } }, false],
    ['null operator is AND', { operator: null, filter: { filters: [yes, no] } }, false],
    ['OR, one matches', { operator: 'OR', filter: { filters: [no, yes] } }, true],
    ['OR, none matches', { operator: 'OR', filter: { filters: [no, no] } }, false],
    ['AND of a nested OR', { filter: { filters: [rule('GTE', 'age', '18'), { operator: 'OR', filters: [no, yes] }] } }, true],
    [
      'OR of nested ANDs',
      {
        operator: 'OR',
        filter: {
          filters: [
            { operator: 'AND', filters: [yes, no] },
            { operator: 'AND', filters: [yes, rule('MEMBER_OF', undefined, 'acme')] },
          ],
        },
      },
      true,
    ],
    ['a stored empty group matches nobody', { operator: 'OR', filter: { filters: [{ operator: 'AND', filters: [] }] } }, false],
    ['three levels deep', { filter: { filters: [nestedTo(3, yes)] } }, true],
  ])('%s -> %s', (_title, def, expected) => {
    expect(matchesAudience(def, subject)).toBe(expected);
  });
});

describe('usesMembership', () => {
  it.each<[string, AudienceDefinition, boolean]>([
    ['no filter', {}, false],
    ['profile rules only', { filter: { filters: [rule('EQ', 'a', '1'), { operator: 'OR', filters: [rule('EXISTS', 'b')] }] } }, false],
    ['a top-level MEMBER_OF', { filter: { filters: [rule('EQ', 'a', '1'), rule('MEMBER_OF', undefined, 't')] } }, true],
    ['a nested MEMBER_OF', { filter: { filters: [nestedTo(4, rule('MEMBER_OF', undefined, 't'))] } }, true],
  ])('%s -> %s', (_title, def, expected) => {
    expect(usesMembership(def)).toBe(expected);
  });
});
