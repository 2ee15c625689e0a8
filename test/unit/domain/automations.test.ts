import {
  adHocInvokeSchema,
  batchCloses,
  delayEnd,
  digestMessage,
  runStepSchema,
  topicDigestSchema,
  nextScheduled,
  retained,
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
    [
      [{ action: 'teleport' }],
      ['0.action: unknown step action "teleport" (one of delay, send, send-list, update-profile, cancel, invoke, fetch-data, batch, throttle)'],
    ],
    [[{ action: 'send', template: 't', colour: 'red' }], ['0']],
    // Batches (Courier's journey batch node): a quiet period with a cap, or a schedule.
    [[{ action: 'batch', wait_period: 'PT10M', max_wait_period: 'PT1H' }], []],
    [[{ action: 'batch', wait_period: '10 minutes', max_wait_period: '1 hour', max_items: 50, retain: { type: 'last', count: 5 } }], []],
    [[{ action: 'batch', schedule: 'Mo-Fr 09:00', timezone: 'Europe/Berlin', category_key: 'data.project' }], []],
    [[{ action: 'batch', schedule: '09:00,17:30', retain: { type: 'highest', count: 3, sort_key: 'data.priority' } }], []],
    [[{ action: 'batch', wait_period: 'PT10M' }], ['0.max_wait_period: needs wait_period and max_wait_period, or a schedule']],
    [[{ action: 'batch' }], ['0.wait_period: needs wait_period and max_wait_period, or a schedule']],
    [[{ action: 'batch', wait_period: 'PT1H', max_wait_period: 'PT10M' }], ['0.max_wait_period: must be longer than wait_period']],
    [[{ action: 'batch', schedule: '09:00', wait_period: 'PT1M', max_wait_period: 'PT1H' }], ['0.schedule: a batch closes on a schedule or after wait_period']],
    [[{ action: 'batch', schedule: '09:00-17:00' }], ['0.schedule: names times of day']],
    [[{ action: 'batch', schedule: 'Mo-Fr' }], ['0.schedule: names times of day']],
    [[{ action: 'batch', schedule: 'PH 09:00' }], ['0.schedule: "PH 09:00" is not supported']],
    [[{ action: 'batch', schedule: '09:00', timezone: 'Mars/Olympus' }], ['0.timezone: not a known IANA time zone']],
    [[{ action: 'batch', schedule: '09:00', retain: { type: 'highest', count: 3 } }], ['0.retain.sort_key: sort_key is needed by highest and lowest']],
    [[{ action: 'batch', schedule: '09:00', retain: { type: 'first', count: 101 } }], ['0.retain.count']],
    [[{ action: 'batch', schedule: '09:00', category_key: 'project' }], ['0.category_key: must be a dot path into data or profile']],
    [[{ action: 'batch', wait_period: '1ms', max_wait_period: 'PT1H' }], ['0.wait_period: must be a duration']],
    // Throttles (Courier's journey throttle nodes).
    [[{ action: 'throttle', max_allowed: 3, period: '1 hour' }], []],
    [[{ action: 'throttle', max_allowed: 3, period: 'PT1H', scope: 'global' }], []],
    [[{ action: 'throttle', max_allowed: 3, period: 'PT1H', scope: 'dynamic', throttle_key: 'data.account' }], []],
    [[{ action: 'throttle', max_allowed: 3, period: 'PT1H', scope: 'dynamic' }], ['0.throttle_key: throttle_key is needed by scope dynamic']],
    [[{ action: 'throttle', max_allowed: 3, period: 'PT1H', throttle_key: 'data.account' }], ['0.throttle_key: throttle_key is needed by scope dynamic']],
    [[{ action: 'throttle', max_allowed: 0, period: 'PT1H' }], ['0.max_allowed']],
    [
      [
        { action: 'throttle', max_allowed: 3, period: 'PT1H', on_throttle: 'fallback' },
        { action: 'send', template: 't', ref: 'fallback' },
      ],
      [],
    ],
    [[{ action: 'throttle', max_allowed: 3, period: 'PT1H', on_throttle: 'nowhere' }], ['0.on_throttle: names no later step whose ref is "nowhere"']],
    [
      [
        { action: 'send', template: 't', ref: 'back' },
        { action: 'throttle', max_allowed: 3, period: 'PT1H', on_throttle: 'back' },
      ],
      ['1.on_throttle: names no later step'],
    ],
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

  it.each([
    ['refs.gate.status === "throttled"', { gate: { status: 'throttled' } }, true],
    ['refs.gate.status === "throttled"', { gate: { status: 'done' } }, false],
    ['refs.digest.count > 5', { digest: { status: 'done', count: 9 } }, true],
    // A ref no earlier step has: false.
    ['refs.nothing.status === "done"', {}, false],
  ])('%s with refs %j: %s', (cond, refs, expected) => {
    expect(stepRuns(send(cond), {}, refs)).toBe(expected);
  });
});

describe('when a scheduled batch closes: the next time of its schedule in the zone, DST-correct', () => {
  const utc = (iso: string) => Date.parse(iso);
  it.each([
    // Daily 09:00 in New York: Saturday 31 October 2026 10:00 EDT (14:00Z) -> Sunday 1 November 09:00 EST, after the clocks went back: 14:00Z.
    ['09:00', '2026-10-31T14:00:00Z', 'America/New_York', '2026-11-01T14:00:00.000Z'],
    // The day before, 08:00 EDT -> 09:00 EDT the same day: 13:00Z.
    ['09:00', '2026-10-31T12:00:00Z', 'America/New_York', '2026-10-31T13:00:00.000Z'],
    // Spring forward in Berlin (29 March 2026): 09:00 CEST is 07:00Z, the day before 09:00 CET is 08:00Z.
    ['09:00', '2026-03-28T09:30:00Z', 'Europe/Berlin', '2026-03-29T07:00:00.000Z'],
    // Inside the scheduled minute: the next one, not now.
    ['09:00', '2026-11-30T09:00:30Z', 'UTC', '2026-12-01T09:00:00.000Z'],
    ['09:00', '2026-11-30T09:00:00Z', 'UTC', '2026-12-01T09:00:00.000Z'],
    // Weekdays only: Friday 17:00 -> Monday 09:00.
    ['Mo-Fr 09:00', '2026-12-04T17:00:00Z', 'UTC', '2026-12-07T09:00:00.000Z'],
    // Several times a day.
    ['09:00,17:30', '2026-11-30T10:00:00Z', 'UTC', '2026-11-30T17:30:00.000Z'],
    ['23:59', '2026-11-30T10:00:00Z', 'Asia/Tokyo', '2026-11-30T14:59:00.000Z'],
  ])('%s from %s in %s -> %s', (schedule, from, zone, expected) => {
    expect(new Date(nextScheduled(schedule, utc(from), zone)).toISOString()).toBe(expected);
  });
});

describe('when a batch closes and what it keeps', () => {
  const batch = (b: Record<string, unknown>) => stepSchema.parse({ action: 'batch', ...b }) as Extract<Step, { action: 'batch' }>;
  const waits = batch({ wait_period: 'PT10M', max_wait_period: 'PT1H' });
  it.each([
    // Quiet for 10 minutes after the last event...
    [{ openedAt: 0, lastAt: 0 }, 600_000],
    [{ openedAt: 0, lastAt: 1_200_000 }, 1_800_000],
    // ... but never more than an hour after the first.
    [{ openedAt: 0, lastAt: 3_500_000 }, 3_600_000],
    // A scheduled batch closes at its time.
    [{ openedAt: 0, lastAt: 5, releaseAt: 42 }, 42],
  ])('%j -> %d', (head, expected) => expect(batchCloses(waits, head)).toBe(expected));

  const events = [5, 1, 9, 3, undefined, 'x', 9].map((p, i) => ({ data: { i, ...(p === undefined ? {} : { p }) } }));
  it.each([
    [{ type: 'first', count: 2 }, [0, 1]],
    [{ type: 'last', count: 2 }, [5, 6]],
    // Highest first; ties in arrival order; strings after numbers, absent last.
    [{ type: 'highest', count: 4, sort_key: 'data.p' }, [2, 6, 0, 3]],
    [{ type: 'lowest', count: 7, sort_key: 'data.p' }, [1, 3, 0, 2, 6, 5, 4]],
  ])('retain %j -> events %j', (retain, expected) => {
    expect(retained(batch({ schedule: '09:00', retain }), events).map((d) => d.i)).toEqual(expected);
  });
  it('keeps the first ten by default', () => {
    const many = Array.from({ length: 15 }, (_, i) => ({ data: { i } }));
    expect(retained(batch({ schedule: '09:00' }), many).map((d) => d.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
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

describe('a topic’s digest', () => {
  it.each([
    [{ wait_period: 'PT10M', max_wait_period: 'PT1H' }, []],
    [{ schedule: 'Mo-Fr 09:00', timezone: 'Europe/Paris', retain: { type: 'last', count: 10 } }, []],
    [{ wait_period: 'PT10M' }, ['max_wait_period']],
    [{ schedule: '09:00', scope: 'global' }, ['']],
    [{ schedule: '09:00', action: 'batch' }, ['']],
  ])('%j -> issues at %j', (digest, paths) => {
    const r = topicDigestSchema.safeParse(digest);
    expect(r.success ? [] : r.error.issues.map((i) => i.path.join('.'))).toEqual(paths);
  });

  it('is not a step the API takes, but a stored run may hold its send-message', () => {
    const step = { action: 'send-message', message: { content: { title: 'x' } } };
    expect(stepsSchema.safeParse([step]).success).toBe(false);
    expect(runStepSchema.safeParse(step).success).toBe(true);
  });

  it('sends the first message again to the user, without its delay, with the run’s data and traced to the run', () => {
    const step = runStepSchema.parse({
      action: 'send-message',
      message: { to: { list_id: 'l1' }, content: { title: 'Hi' }, data: { n: 1 }, delay: { duration: 5000 }, metadata: { tags: ['a'], trace_id: 'old' } },
    }) as Extract<ReturnType<typeof runStepSchema.parse>, { action: 'send-message' }>;
    expect(digestMessage(step, { recipient: 'u1', data: { n: 1, batch: { count: 2, items: [] } } }, 'run1')).toEqual({
      to: { user_id: 'u1' },
      content: { title: 'Hi' },
      data: { n: 1, batch: { count: 2, items: [] } },
      metadata: { tags: ['a'], trace_id: 'run1' },
    });
    // A message to that user alone keeps its `to` (profile data it carried).
    const own = runStepSchema.parse({ action: 'send-message', message: { to: { user_id: 'u1', email: 'u1@x.test' } } }) as typeof step;
    expect(digestMessage(own, { recipient: 'u1' }, 'r')).toMatchObject({ to: { user_id: 'u1', email: 'u1@x.test' } });
    expect(digestMessage(own, {}, 'r')).toBe('names no recipient');
  });
});
