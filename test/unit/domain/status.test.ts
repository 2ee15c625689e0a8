import fc from 'fast-check';
import { applyEngagement, isForward, type EngagementEvent, type EngagementKind, type EngagementState } from '../../../lambdas/domain/status';

const ev = (kind: EngagementKind, at: number, extra: Partial<EngagementEvent> = {}): EngagementEvent => ({ kind, at, provider: 'sendgrid', ...extra });
const SENT: EngagementState = { status: 'SENT', sent: 1000 };

describe('applyEngagement', () => {
  it.each<[string, EngagementState, EngagementEvent, Partial<EngagementState>, string]>([
    ['delivered after sent', SENT, ev('DELIVERED', 2000), { status: 'DELIVERED', delivered: 2000 }, 'moved'],
    ['opened after delivered', { ...SENT, status: 'DELIVERED', delivered: 2000 }, ev('OPENED', 3000), { status: 'OPENED', opened: 3000 }, 'moved'],
    ['clicked straight after sent', SENT, ev('CLICKED', 4000), { status: 'CLICKED', clicked: 4000, delivered: undefined }, 'moved'],
    [
      'a late delivered after opened fills the time only',
      { ...SENT, status: 'OPENED', opened: 3000 },
      ev('DELIVERED', 2000),
      { status: 'OPENED', delivered: 2000 },
      'moved',
    ],
    ['a repeated open changes nothing', { ...SENT, status: 'OPENED', opened: 3000 }, ev('OPENED', 5000), { status: 'OPENED', opened: 3000 }, 'unchanged'],
    ['an earlier open replaces the first time', { ...SENT, status: 'OPENED', opened: 3000 }, ev('OPENED', 2500), { opened: 2500 }, 'moved'],
    [
      'a bounce ends it undeliverable with the reason',
      { ...SENT, status: 'DELIVERED', delivered: 2000 },
      ev('UNDELIVERABLE', 2500, { reason: 'BOUNCED', detail: 'Permanent' }),
      { status: 'UNDELIVERABLE', reason: 'BOUNCED', error: 'Permanent', delivered: 2000 },
      'moved',
    ],
    [
      'a complaint after a click',
      { ...SENT, status: 'CLICKED' },
      ev('UNDELIVERABLE', 9000, { reason: 'UNSUBSCRIBED' }),
      { status: 'UNDELIVERABLE', reason: 'UNSUBSCRIBED' },
      'moved',
    ],
    [
      'an open after a bounce fills the time, the status stays',
      { ...SENT, status: 'UNDELIVERABLE', reason: 'BOUNCED' },
      ev('OPENED', 3000),
      { status: 'UNDELIVERABLE', reason: 'BOUNCED', opened: 3000 },
      'moved',
    ],
    [
      'a second bounce keeps the first reason',
      { ...SENT, status: 'UNDELIVERABLE', reason: 'BOUNCED' },
      ev('UNDELIVERABLE', 3000, { reason: 'UNSUBSCRIBED' }),
      { reason: 'BOUNCED' },
      'unchanged',
    ],
    ['not sent yet: early', { status: 'ENQUEUED' }, ev('DELIVERED', 2000), { status: 'ENQUEUED', delivered: undefined }, 'early'],
    ['routing, not sent yet: early', { status: 'ROUTED' }, ev('DELIVERED', 2000), { status: 'ROUTED' }, 'early'],
    ['watched by escalation: times only', { status: 'ROUTED', sent: 1000 }, ev('OPENED', 2000), { status: 'ROUTED', opened: 2000 }, 'moved'],
    [
      'watched by escalation: a bounce leaves it to the routing',
      { status: 'ROUTED', sent: 1000 },
      ev('UNDELIVERABLE', 2000),
      { status: 'ROUTED' },
      'unchanged',
    ],
    ['cancelled: ignored', { status: 'CANCELED' }, ev('DELIVERED', 2000), { status: 'CANCELED' }, 'ignored'],
    ['failed before sending: ignored', { status: 'UNDELIVERABLE', reason: 'PROVIDER_ERROR' }, ev('DELIVERED', 2000), { reason: 'PROVIDER_ERROR' }, 'ignored'],
  ])('%s', (_name, state, event, expected, outcome) => {
    const out = applyEngagement(state, event);
    expect(out.outcome).toBe(outcome);
    expect(out.state).toMatchObject(Object.fromEntries(Object.entries(expected).filter(([, v]) => v !== undefined)));
    for (const [k, v] of Object.entries(expected)) if (v === undefined) expect(out.state[k as keyof EngagementState]).toBeUndefined();
  });
});

const kinds: EngagementKind[] = ['DELIVERED', 'OPENED', 'CLICKED', 'UNDELIVERABLE'];
const eventArb = fc.record({
  kind: fc.constantFrom(...kinds),
  at: fc.integer({ min: 1_000, max: 100_000 }),
  reason: fc.constantFrom('BOUNCED' as const, 'UNSUBSCRIBED' as const),
});
const toEvent = (e: { kind: EngagementKind; at: number; reason: 'BOUNCED' | 'UNSUBSCRIBED' }): EngagementEvent =>
  e.kind === 'UNDELIVERABLE' ? { kind: e.kind, at: e.at, provider: 'ses', reason: e.reason } : { kind: e.kind, at: e.at, provider: 'ses' };

describe('the forward-only rule, over random event orders', () => {
  it('never moves a message backwards, and each step is forward', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 12 }), (events) => {
        let state: EngagementState = SENT;
        for (const e of events) {
          const next = applyEngagement(state, toEvent(e)).state;
          expect(isForward(state.status, next.status)).toBe(true);
          // A time, once known, only moves earlier.
          for (const f of ['delivered', 'opened', 'clicked'] as const) if (state[f] !== undefined) expect(next[f]!).toBeLessThanOrEqual(state[f]!);
          state = next;
        }
      }),
    );
  });

  it('ends in the same status and times whatever order the events arrive in, and a replay changes nothing', () => {
    fc.assert(
      fc.property(
        fc
          .array(eventArb, { minLength: 1, maxLength: 10 })
          .chain((events) => fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length }))),
        ([events, shuffled]) => {
          const run = (list: typeof events) => list.reduce((s, e) => applyEngagement(s, toEvent(e)).state, SENT);
          const a = run(events);
          const b = run(shuffled);
          const { reason: _ra, ...restA } = a;
          const { reason: _rb, ...restB } = b;
          expect(restB).toEqual(restA);
          // The final status is UNDELIVERABLE when any event was one, else the furthest engagement.
          const furthest = events.some((e) => e.kind === 'UNDELIVERABLE')
            ? 'UNDELIVERABLE'
            : (['CLICKED', 'OPENED', 'DELIVERED'] as const).find((k) => events.some((e) => e.kind === k));
          expect(a.status).toBe(furthest);
          for (const [kind, field] of [
            ['DELIVERED', 'delivered'],
            ['OPENED', 'opened'],
            ['CLICKED', 'clicked'],
          ] as const) {
            const times = events.filter((e) => e.kind === kind).map((e) => e.at);
            expect(a[field]).toBe(times.length ? Math.min(...times) : undefined);
          }
          // Every event again, in any order: nothing moves.
          for (const e of shuffled) expect(applyEngagement(b, toEvent(e)).outcome).toBe('unchanged');
        },
      ),
    );
  });
});
