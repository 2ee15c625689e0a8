import {
  conditionIssue,
  ELEMENT_SCOPE,
  evaluate,
  holds,
  loopItems,
  MAX_CONDITION_LENGTH,
  MESSAGE_SCOPE,
  parseCondition,
  settingHolds,
} from '../../../lambdas/domain/conditions';

const scope = {
  data: {
    plan: 'premium',
    count: 3,
    zero: 0,
    empty: '',
    tags: ['a', 'b'],
    items: [{ name: 'Mouse' }, { name: 'Keys' }],
    nested: { deep: { x: 1 } },
    nil: null,
  },
  profile: { email: 'ada@example.test', locale: 'fr' },
  tenant: { id: 't1', properties: { tier: 'gold' } },
};
const value = (source: string, sc: Record<string, unknown> = scope) => evaluate(parseCondition(source, ELEMENT_SCOPE), sc);

describe('evaluation', () => {
  it.each<[string, unknown]>([
    ["data.plan === 'premium'", true],
    ["data.plan !== 'premium'", false],
    ['data.count > 2 && data.count <= 3', true],
    ['data.count == "3"', true],
    ['data.count != 3', false],
    ['data.count + 1', 4],
    ['data.count - 1', 2],
    ['data.count * 2', 6],
    ['data.count / 2', 1.5],
    ['data.count % 2', 1],
    ['data.count ** 2', 9],
    ["data.plan + '!'", 'premium!'],
    ['-data.count', -3],
    ['+"4"', 4],
    ['!data.zero', true],
    ['typeof data.count', 'number'],
    ['typeof data.missing', 'undefined'],
    ['data.zero || data.count', 3],
    ['data.zero && data.count', 0],
    ['data.nil ?? "fallback"', 'fallback'],
    ['data.zero ?? "fallback"', 0],
    ['data.count > 1 ? "many" : "one"', 'many'],
    ['data["plan"]', 'premium'],
    ['data.tags[1]', 'b'],
    ['data.items[0].name', 'Mouse'],
    ['data.tags.length', 2],
    ['data.plan.length', 7],
    ['data.plan[0]', 'p'],
    ['data.tags.includes("a")', true],
    ['data.plan.includes("prem")', true],
    ['["x", "y"].includes("y")', true],
    ['[1, 2][1]', 2],
    ['profile.email', 'ada@example.test'],
    ['tenant.properties.tier === "gold"', true],
    ['data.missing', undefined],
    ['data.missing?.x', undefined],
    ['data.nested?.deep.x', 1],
    ['undefined', undefined],
    ['null', null],
  ])('%s is %j', (source, expected) => {
    expect(value(source)).toEqual({ ok: true, value: expected });
  });

  it.each<[string, string]>([
    ['reading a property of undefined', 'data.missing.x'],
    ['reading a property of null', 'data.nil.x'],
    ['a name not in scope when evaluated', '$.item'],
    ['.includes() of a number', 'data.count.includes(1)'],
    ['a string built past the limit', 'data.big + data.big'],
  ])('fails (false) on %s', (_, source) => {
    const big = 'x'.repeat(60_000);
    expect(value(source, { ...scope, data: { ...scope.data, big } })).toMatchObject({ ok: false });
    expect(holds(parseCondition(source, ELEMENT_SCOPE), { ...scope, data: { ...scope.data, big } })).toBe(false);
  });

  it.each<[string, unknown]>([
    ['data.constructor', undefined],
    ['data.__proto__', undefined],
    ['data["__proto__"]', undefined],
    ['data.prototype', undefined],
    ['data.toString', undefined],
    ['data.hasOwnProperty', undefined],
    ['data.plan.constructor', undefined],
    ['data.tags.map', undefined],
    ['data.count.toFixed', undefined],
    ['profile.valueOf', undefined],
    ['data.withProto.polluted', undefined],
  ])('reads %s as undefined: own properties only', (source, expected) => {
    const withProto = Object.create({ polluted: 'yes' });
    expect(value(source, { ...scope, data: { ...scope.data, withProto } })).toEqual({ ok: true, value: expected });
  });

  it('reads a JSON "__proto__" key as undefined, and never calls a getter', () => {
    const data = JSON.parse('{"__proto__": {"x": 1}}') as Record<string, unknown>;
    Object.defineProperty(data, 'trap', { get: () => 'called', enumerable: true });
    expect(value('data.__proto__', { data })).toEqual({ ok: true, value: undefined });
    expect(value('data.trap', { data })).toEqual({ ok: true, value: undefined });
  });

  it('gives truthiness as JavaScript does', () => {
    for (const [source, truthy] of [
      ['data.empty', false],
      ['data.zero', false],
      ['data.tags', true],
      ['data.nested', true],
      ['"0"', true],
    ] as const)
      expect([source, holds(parseCondition(source, ELEMENT_SCOPE), scope)]).toEqual([source, truthy]);
  });

  it('charges its work to the step function, and lets what it throws through', () => {
    const steps: number[] = [];
    evaluate(parseCondition('data.tags.includes("z")', ELEMENT_SCOPE), scope, (n) => steps.push(n));
    expect(steps).toEqual([5, 2]); // five AST nodes, then the two items searched
    const stop = new Error('budget');
    expect(() =>
      evaluate(parseCondition('data.count', ELEMENT_SCOPE), scope, () => {
        throw stop;
      }),
    ).toThrow(stop);
  });
});

describe('loops', () => {
  it.each<[string, unknown[]]>([
    ['data.items', scope.data.items],
    ['data.tags', ['a', 'b']],
    ['[1, 2, 3]', [1, 2, 3]],
    ['data.plan', []],
    ['data.nested', []],
    ['data.missing', []],
    ['data.missing.items', []],
  ])('%s repeats over %j', (source, items) => {
    expect(loopItems(parseCondition(source, ELEMENT_SCOPE), scope)).toEqual(items);
  });
});

describe('parsing', () => {
  it.each<[string, string, readonly string[]]>([
    ['an assignment', 'data.x = 1', ELEMENT_SCOPE],
    ['a function call', 'data.toString()', ELEMENT_SCOPE],
    ['a call of a global', 'alert(1)', ELEMENT_SCOPE],
    ['this', 'this.x', ELEMENT_SCOPE],
    ['new', 'new Date()', ELEMENT_SCOPE],
    ['two expressions', 'data.a, data.b', ELEMENT_SCOPE],
    ['a bitwise operator', 'data.a | 1', ELEMENT_SCOPE],
    ['~', '~data.a', ELEMENT_SCOPE],
    ['in', '"a" in data', ELEMENT_SCOPE],
    ['an unknown name', 'user.plan === 1', ELEMENT_SCOPE],
    ['a global', 'process.env', ELEMENT_SCOPE],
    ['refs outside Elemental', 'refs.x.visible', MESSAGE_SCOPE],
    ['$ outside Elemental', '$.item', MESSAGE_SCOPE],
    ['handlebars', '{{data.plan}} === "x"', ELEMENT_SCOPE],
    ['an unclosed string', 'data.plan === "x', ELEMENT_SCOPE],
    ['an unclosed bracket', 'data[0', ELEMENT_SCOPE],
    ['includes with two arguments', 'data.tags.includes(1, 2)', ELEMENT_SCOPE],
    ['a computed method call', 'data.tags["includes"](1)', ELEMENT_SCOPE],
    ['a source over the length limit', `data.a === "${'x'.repeat(MAX_CONDITION_LENGTH)}"`, ELEMENT_SCOPE],
    ['deep brackets', `${'('.repeat(200)}1${')'.repeat(200)}`, ELEMENT_SCOPE],
    ['deep brackets, unbalanced', `${'['.repeat(500)}`, ELEMENT_SCOPE],
    ['a long unary chain', `${'!'.repeat(900)}data.a`, ELEMENT_SCOPE],
    ['a long operator chain', Array.from({ length: 150 }, () => 'data.a').join(' && '), ELEMENT_SCOPE],
    ['too many terms', `[${Array.from({ length: 210 }, (_, i) => i).join(',')}]`, ELEMENT_SCOPE],
    ['a nested conditional chain', `${Array.from({ length: 100 }, () => 'data.a ?').join(' ')} 1 ${': 2 '.repeat(100)}`, ELEMENT_SCOPE],
  ])('refuses %s', (_, source, names) => {
    expect(conditionIssue(source, names)).toEqual(expect.any(String));
    expect(() => parseCondition(source, names)).toThrow();
  });

  it.each([
    ['an empty condition (none)', ''],
    ['a blank condition (none)', '   '],
    ['refs and $ in Elemental', 'refs.greeting.visible && $.index > 0'],
    ['optional chaining', 'data.a?.b'],
  ])('accepts %s', (_, source) => {
    expect(conditionIssue(source, ELEMENT_SCOPE)).toBeUndefined();
  });

  it('says what is wrong', () => {
    expect(conditionIssue('user.plan', MESSAGE_SCOPE)).toBe('unknown name "user": a condition can read data, profile, tenant');
    expect(conditionIssue('data.toString()')).toBe('calls are not supported, except .includes()');
    expect(conditionIssue('data.a ===')).toMatch(/^does not parse: /);
  });
});

describe('channel and provider settings', () => {
  const s = { data: { vip: true, region: 'eu' }, profile: {}, tenant: {} };
  it.each<[string, Record<string, { if?: string | null }> | undefined, Record<string, { if?: string | null }> | undefined, boolean]>([
    ['no settings', undefined, undefined, true],
    ['settings without if', { email: {} }, undefined, true],
    ['a null if', { email: { if: null } }, undefined, true],
    ['an if that holds', { email: { if: 'data.vip' } }, undefined, true],
    ['an if that does not hold', { email: { if: '!data.vip' } }, undefined, false],
    ['an if that fails to evaluate', { email: { if: 'data.nope.x' } }, undefined, false],
    ['an if that does not parse (stored)', { email: { if: 'data.' } }, undefined, false],
    ['the fallback when the message names no entry', undefined, { email: { if: '!data.vip' } }, false],
    ["the message's entry over the fallback", { email: {} }, { email: { if: '!data.vip' } }, true],
    ['another key only', { sms: { if: 'false' } }, undefined, true],
  ])('%s', (_, own, fallback, expected) => {
    expect(settingHolds(own, fallback, 'email', s)).toBe(expected);
  });

  it('looks up own keys only', () => {
    expect(settingHolds({}, undefined, 'constructor', s)).toBe(true);
  });
});
