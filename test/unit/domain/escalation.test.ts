import { criteriaMet, escalationPolicy, providerEngagement, watchOutcome, type Engagement, type EscalationPolicy } from '../../../lambdas/domain/escalation';

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

describe('providerEngagement (provider events, D19)', () => {
  const ev = (type: string, provider = 'sendgrid') => ({ ts: 1, type, provider, received: 2 });
  it.each<[string, { type: string; provider?: string; received?: number }[], string | undefined, { delivered: boolean; engagement: Engagement }]>([
    ['no events', [], 'sendgrid', { delivered: false, engagement: { opened: false, clicked: false } }],
    ['delivered and opened', [ev('DELIVERED'), ev('OPENED')], 'sendgrid', { delivered: true, engagement: { opened: true, clicked: false } }],
    ['a click', [ev('CLICKED')], 'sendgrid', { delivered: false, engagement: { opened: false, clicked: true } }],
    [
      'another provider’s events do not count',
      [ev('DELIVERED', 'ses'), ev('CLICKED', 'ses')],
      'sendgrid',
      { delivered: false, engagement: { opened: false, clicked: false } },
    ],
    [
      'the send’s own history is not an event',
      [{ type: 'DELIVERED', provider: 'sendgrid' }],
      'sendgrid',
      { delivered: false, engagement: { opened: false, clicked: false } },
    ],
    ['no provider', [ev('DELIVERED')], undefined, { delivered: false, engagement: { opened: false, clicked: false } }],
  ])('%s', (_n, history, provider, expected) => expect(providerEngagement(history, provider)).toEqual(expected));

  it.each<[string, string | undefined, { delivered: boolean; engagement: Engagement }]>([
    ['our tracking’s open and click count for an email target (D22)', 'courier', { delivered: false, engagement: { opened: true, clicked: true } }],
    ['they do not count otherwise', undefined, { delivered: false, engagement: { opened: false, clicked: false } }],
  ])('%s', (_n, tracking, expected) => {
    expect(providerEngagement([ev('OPENED', 'courier'), ev('CLICKED', 'courier'), ev('DELIVERED', 'ses')], 'sendgrid', tracking)).toEqual(expected);
  });

  it('meets the criteria through a watch: an open is viewed, a click engaged, a delivery delivered', () => {
    const watched = (criteria: EscalationPolicy['criteria'], events: ReturnType<typeof ev>[]) => {
      const { delivered, engagement } = providerEngagement(events, 'sendgrid');
      return watchOutcome({ afterMs: 1000, criteria }, { state: delivered ? 'delivered' : 'sent', until: 10 }, engagement, 10);
    };
    expect(watched('delivered', [ev('DELIVERED')])).toBe('met');
    expect(watched('viewed', [ev('DELIVERED')])).toBe('escalate');
    expect(watched('viewed', [ev('OPENED')])).toBe('met');
    expect(watched('engaged', [ev('OPENED')])).toBe('escalate');
    expect(watched('engaged', [ev('CLICKED')])).toBe('met');
  });
});
