import {
  adHocInvokeSchema,
  delayEnd,
  journeyUser,
  mergeData,
  mergeProfile,
  stepMessage,
  stepRuns,
  stepSchema,
  stepsSchema,
  untilIssue,
  type Merge,
  type Step,
} from '../../../lambdas/domain/automations';

const issuesOf = (steps: unknown): string[] => {
  const r = stepsSchema.safeParse(steps);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('steps as the SDK types them', () => {
  it.each([
    [[{ action: 'delay', duration: '5 minutes' }], []],
    [[{ action: 'delay', duration: 'PT1H' }], []],
    [[{ action: 'delay', until: '20240408T080910.123' }], []],
    [[{ action: 'delay', until: '2026-12-01T09:00:00Z' }], []],
    [[{ action: 'delay', until: 'Mo-Fr 09:00-17:00' }], []],
    [[{ action: 'delay' }], ['0.duration: needs exactly one of duration and until']],
    [[{ action: 'delay', duration: 'soon' }], ['0.duration: must be a duration such as "5 minutes" or "PT5M"']],
    [[{ action: 'send', template: 't', if: 'data.vip', ref: 'welcome' }], []],
    [[{ action: 'send', if: 'data.vip ===' }], ['0.if']],
    [[{ action: 'send-list', list: 'l1' }], []],
    [[{ action: 'update-profile', profile: { a: 1 }, merge: 'soft-merge' }], []],
    [[{ action: 'update-profile', profile: { a: 1 }, merge: 'deep' }], ['0.merge']],
    [[{ action: 'cancel', cancelation_token: 'tok' }], []],
    [[{ action: 'invoke', template: 'other' }], []],
    [[{ action: 'fetch-data', webhook: { method: 'GET', url: 'https://example.test' }, merge_strategy: 'overwrite' }], []],
    [[{ action: 'fetch-data', webhook: { method: 'GET', url: 'ftp://example.test' } }], ['0.webhook.url: must be an http or https URL']],
    [[{ action: 'fetch-data', webhook: { method: 'GET', url: 'https://example.test' }, merge_strategy: 'none' }], ['0.merge_strategy']],
    [[{ action: 'teleport' }], ['0.action: unknown step action "teleport" (one of delay, send, send-list, update-profile, cancel, invoke, fetch-data)']],
    [[{ action: 'send', template: 't', colour: 'red' }], ['0']],
    [[], [': must hold at least one step']],
  ])('%j -> %j', (steps, expected) => {
    const issues = issuesOf(steps);
    expect(issues.length).toBe(expected.length);
    expected.forEach((e, i) => expect(issues[i].startsWith(e)).toBe(true));
  });

  it('takes the SDK example of invokeAdHoc', () => {
    const body = {
      automation: {
        cancelation_token: 'delay-send--user-yes--abc-123',
        steps: [
          { action: 'delay', until: '20240408T080910.123' },
          { action: 'send', template: '64TP5HKPFTM8VTK1Y75SJDQX9JK0' },
        ],
      },
      data: { name: 'Foo' },
      profile: { tenant_id: 'abc-123' },
      recipient: 'user-yes',
    };
    expect(adHocInvokeSchema.safeParse(body).success).toBe(true);
  });

  it.each([
    ['2026-12-01T09:00:00Z', undefined],
    ['20261201T090000', undefined],
    ['Mo-Fr 09:00-17:00', undefined],
    ['Xx 09:00', 'defined'],
  ])('until %s', (until, issue) => expect(untilIssue(until) === undefined ? undefined : 'defined').toBe(issue));
});

describe('whether a step runs (its if, with data and profile in scope)', () => {
  const send = (cond?: string): Step => stepSchema.parse({ action: 'send', template: 't', ...(cond ? { if: cond } : {}) });
  it.each([
    [undefined, {}, {}, true],
    ['data.vip', { vip: true }, {}, true],
    ['data.vip', { vip: false }, {}, false],
    ['data.vip', {}, {}, false],
    ['profile.plan === "pro"', {}, { plan: 'pro' }, true],
    ['profile.plan === "pro"', {}, { plan: 'free' }, false],
    ['data.count > 2 && profile.email', { count: 3 }, { email: 'a@b.c' }, true],
    // An evaluation that fails (reading into undefined) is false, never an error.
    ['data.a.b.c', {}, {}, false],
  ])('%s with data %j, profile %j: %s', (cond, data, profile, expected) => {
    expect(stepRuns(send(cond), { data, profile })).toBe(expected);
  });
});

describe('merge strategies of update-profile', () => {
  const stored = { name: 'Ann', plan: 'free' };
  const patch = { plan: 'pro', team: 'a' };
  it.each<[Merge, Record<string, unknown> | undefined, Record<string, unknown>]>([
    ['replace', stored, { plan: 'pro', team: 'a' }],
    ['overwrite', stored, { name: 'Ann', plan: 'pro', team: 'a' }],
    ['soft-merge', stored, { name: 'Ann', plan: 'free', team: 'a' }],
    ['none', stored, { name: 'Ann', plan: 'free' }],
    ['replace', undefined, { plan: 'pro', team: 'a' }],
    ['overwrite', undefined, { plan: 'pro', team: 'a' }],
    ['soft-merge', undefined, { plan: 'pro', team: 'a' }],
    ['none', undefined, { plan: 'pro', team: 'a' }],
  ])('%s over %j', (merge, current, expected) => {
    expect(mergeProfile(current, patch, merge)).toEqual(expected);
    // Applied twice, the same result: a redelivered step changes nothing more.
    expect(mergeProfile(mergeProfile(current, patch, merge), patch, merge)).toEqual(expected);
  });
});

describe('merge strategies of fetch-data', () => {
  const data = { a: 1, b: 1 };
  const fetched = { b: 2, c: 2 };
  it.each([
    [undefined, { b: 2, c: 2 }],
    ['replace', { b: 2, c: 2 }],
    ['overwrite', { a: 1, b: 2, c: 2 }],
    ['soft-merge', { a: 1, b: 1, c: 2 }],
  ] as const)('%s', (merge, expected) => expect(mergeData(data, fetched, merge)).toEqual(expected));
});

describe('when a delay ends', () => {
  const at = Date.UTC(2026, 10, 28, 12); // Saturday 12:00 UTC
  const delay = (d: Record<string, string>) => stepSchema.parse({ action: 'delay', ...d }) as Extract<Step, { action: 'delay' }>;
  it.each([
    [{ duration: '5 minutes' }, undefined, at + 5 * 60_000],
    [{ duration: 'PT2H' }, undefined, at + 2 * 3_600_000],
    [{ until: '2026-11-28T13:00:00Z' }, undefined, Date.UTC(2026, 10, 28, 13)],
    [{ until: '20261128T130000' }, undefined, Date.UTC(2026, 10, 28, 13)],
    // An until already past ends at once.
    [{ until: '2026-11-28T11:00:00Z' }, undefined, at],
    // Opening hours in the profile's time zone: Monday 09:00 in Tokyo is Monday 00:00 UTC.
    [{ until: 'Mo-Fr 09:00-17:00' }, { timezone: 'Asia/Tokyo' }, Date.UTC(2026, 10, 30, 0)],
    // ... else in UTC.
    [{ until: 'Mo-Fr 09:00-17:00' }, undefined, Date.UTC(2026, 10, 30, 9)],
  ])('%j (profile %j)', (d, profile, expected) => {
    expect(delayEnd(delay(d), at, profile)).toBe(expected);
  });
});

describe('what a send step sends', () => {
  const ctx = { recipient: 'u1', template: 'run-tpl', data: { a: 1, b: 1 }, profile: { email: 'u1@x.test' }, brand: 'b1' };
  it('takes the run context, the step over it, and the run id as trace id', () => {
    const step = stepSchema.parse({ action: 'send', data: { b: 2 } }) as Extract<Step, { action: 'send' }>;
    expect(stepMessage(step, ctx, 'run1')).toEqual({
      to: { email: 'u1@x.test', user_id: 'u1' },
      template: 'run-tpl',
      data: { a: 1, b: 2 },
      brand_id: 'b1',
      metadata: { trace_id: 'run1' },
    });
  });
  it('sends a send-list step to the list', () => {
    const step = stepSchema.parse({ action: 'send-list', list: 'l1' }) as Extract<Step, { action: 'send-list' }>;
    expect(stepMessage(step, { template: 't' }, 'r')).toEqual({ to: { list_id: 'l1' }, template: 't', data: {}, metadata: { trace_id: 'r' } });
  });
  it.each([
    [{ recipient: 'u' }, 'names no template'],
    [{ template: 't' }, 'names no recipient'],
  ])('fails without %j', (c, error) => {
    const step = stepSchema.parse({ action: 'send' }) as Extract<Step, { action: 'send' }>;
    expect(String(stepMessage(step, c, 'r'))).toContain(error);
  });
});

describe("a journey's user", () => {
  it.each([
    [{ user_id: 'a', profile: { user_id: 'b' } }, 'a'],
    [{ profile: { userId: 'b' } }, 'b'],
    [{ data: { anonymousId: 'c' } }, 'c'],
    [{ profile: { email: 'x@y.z' } }, undefined],
  ])('%j -> %s', (body, user) => expect(journeyUser(body)).toBe(user));
});
