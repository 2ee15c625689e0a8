import { criteriaMet, escalationPolicy, watchOutcome, type Engagement, type EscalationPolicy } from '../../../lambdas/domain/escalation';

describe('escalationPolicy', () => {
  it.each([
    [undefined, undefined],
    [{}, undefined],
    [{ criteria: 'viewed' as const }, undefined],
    [{ escalation: 1000, criteria: 'no-escalation' as const }, undefined],
    [{ escalation: 1000 }, { afterMs: 1000, criteria: 'delivered' }],
    [
      { escalation: 5000, criteria: 'engaged' as const },
      { afterMs: 5000, criteria: 'engaged' },
    ],
  ])('%j -> %j', (timeout, policy) => {
    expect(escalationPolicy(timeout)).toEqual(policy);
  });
});

describe('criteriaMet', () => {
  const none: Engagement = {};
  const opened: Engagement = { opened: true };
  const read: Engagement = { opened: true, read: true };
  const clicked: Engagement = { clicked: true };
  it.each([
    ['delivered', 'sent', none, false],
    ['delivered', 'delivered', none, true],
    ['delivered', 'sent', opened, true],
    ['viewed', 'delivered', none, false],
    ['viewed', 'sent', opened, true],
    ['viewed', 'sent', clicked, true],
    ['engaged', 'delivered', opened, false],
    ['engaged', 'sent', read, true],
    ['engaged', 'sent', clicked, true],
  ] as const)('%s with %s and %j -> %s', (criteria, state, engagement, met) => {
    expect(criteriaMet({ afterMs: 1, criteria }, state, engagement)).toBe(met);
  });
});

describe('watchOutcome', () => {
  const policy: EscalationPolicy = { afterMs: 1000, criteria: 'viewed' };
  it.each([
    [{ opened: true }, 500, 'met'],
    [{ opened: true }, 5000, 'met'],
    [undefined, 999, 'wait'],
    [undefined, 1000, 'escalate'],
    [{ opened: false, read: false }, 2000, 'escalate'],
  ] as const)('engagement %j at %d -> %s', (engagement, now, outcome) => {
    expect(watchOutcome(policy, { state: 'delivered', until: 1000 }, engagement, now)).toBe(outcome);
  });
});
