import { createHmac } from 'node:crypto';
import {
  afterFailure,
  audienceCalculatedData,
  audienceUpdatedData,
  delivered,
  eventBody,
  eventId,
  membershipChange,
  membershipData,
  messageVersion,
  retryDelaySeconds,
  signatureHeader,
  subscribed,
  unannouncedCreation,
} from '../../../lambdas/domain/webhooks';

/** Courier's documented receiver (https://www.courier.com/docs/platform/workspaces/outbound-webhooks), with the body parsed as a JSON server would. */
function courierVerifies(header: string, rawBody: string, secret: string): boolean {
  const body = JSON.parse(rawBody) as unknown;
  const signatureParts = header.split(',');
  const timestamp = signatureParts[0].split('=')[1];
  const signature = signatureParts[1].split('=')[1];
  const payload = `${timestamp}.${JSON.stringify(body)}`;
  const hash = createHmac('sha256', secret).update(payload).digest('hex');
  return hash === signature;
}

describe('signatureHeader', () => {
  const body = eventBody({ id: 'evt_1', type: 'message:updated', version: 3, data: { id: '1-abc', status: 'SENT', recipient: 'ü@example.com', reason: null } });
  it('is t=<ms>,signature=<hex> over "<t>.<body>"', () => {
    const h = signatureHeader('whsec_k', 1631816343012, body);
    expect(h).toMatch(/^t=1631816343012,signature=[0-9a-f]{64}$/);
    expect(h.split('signature=')[1]).toBe(createHmac('sha256', 'whsec_k').update(`1631816343012.${body}`).digest('hex'));
  });
  it.each([
    ['the same secret and body', 'whsec_k', body, true],
    ['another secret', 'whsec_other', body, false],
    ['an altered body', 'whsec_k', body.replace('SENT', 'DELIVERED'), false],
  ])("passes Courier's verification code with %s: %s", (_, secret, received, ok) => {
    expect(courierVerifies(signatureHeader('whsec_k', 1700000000000, body), received, secret)).toBe(ok);
  });
});

describe('messageVersion', () => {
  it.each([
    [[], 0],
    [[{ type: 'ENQUEUED' }], 1],
    [[{ type: 'ENQUEUED' }, { type: 'ROUTED' }, { type: 'SENT' }], 3],
    // A compacted history (store/messages.ts) keeps counting what it dropped.
    [[{ type: 'ENQUEUED' }, { type: 'HISTORY_TRUNCATED', dropped: 20 }, { type: 'SENT' }], 23],
    [[{ type: 'HISTORY_TRUNCATED', dropped: 'x' }], 1],
  ])('%j is version %i', (history, want) => expect(messageVersion(history)).toBe(want));
});

describe('eventId', () => {
  it('is stable for a change and differs between changes', () => {
    expect(eventId('message:updated', 'm1', 2)).toBe(eventId('message:updated', 'm1', 2));
    expect(eventId('message:updated', 'm1', 2)).toMatch(/^evt_[0-9a-f]{32}$/);
    expect(new Set([eventId('message:updated', 'm1', 2), eventId('message:updated', 'm1', 3), eventId('message:updated', 'm2', 2)]).size).toBe(3);
    expect(eventId('audiences:user:matched', 'a1\nu1', 'r1/p1/-')).not.toBe(eventId('audiences:user:unmatched', 'a1\nu1', 'r1/p1/-'));
  });
});

describe('unannouncedCreation', () => {
  it.each([
    ['ENQUEUED, its first event only', { status: 'ENQUEUED', history: [{ type: 'ENQUEUED' }] }, true],
    ['ENQUEUED after a timezone fallback note', { status: 'ENQUEUED', history: [{ type: 'ENQUEUED' }, { type: 'TIMEZONE_FALLBACK' }] }, false],
    ['a single send stored DELAYED (the send announces it)', { status: 'DELAYED', history: [{ type: 'DELAYED' }] }, false],
    ['ROUTED', { status: 'ROUTED', history: [{ type: 'ENQUEUED' }, { type: 'ROUTED' }] }, false],
    ['CANCELED before any worker', { status: 'CANCELED', history: [{ type: 'ENQUEUED' }, { type: 'CANCELED' }] }, false],
  ])('%s: %s', (_, m, want) => expect(unannouncedCreation(m)).toBe(want));
});

describe('membershipChange', () => {
  it.each([
    [false, true, 'audiences:user:matched'],
    [true, false, 'audiences:user:unmatched'],
    // Re-admitted under a new generation: still matching, nothing to tell.
    [true, true, undefined],
    [false, false, undefined],
  ])('was a member %s, is %s: %s', (was, is, want) => expect(membershipChange(was, is)).toBe(want));
});

describe("audience events' data (Courier's fields)", () => {
  it('audiences:updated', () => {
    expect(audienceUpdatedData({ id: 'a1', version: 4, operator: 'OR', filter: { filters: [{ operator: 'EQ', path: 'x', value: '1' }] } })).toEqual({
      id: 'a1',
      audience_id: 'a1',
      audience_version: 4,
      filter: { filters: [{ operator: 'EQ', path: 'x', value: '1' }] },
      operator: 'OR',
    });
    expect(audienceUpdatedData({ id: 'a1', version: 1 })).toMatchObject({ filter: null, operator: 'AND' });
  });
  it('audiences:user:matched and unmatched', () => {
    const c = { type: 'audiences:user:matched' as const, audienceId: 'a1', userId: 'u1', audienceVersion: 2, reason: 'filter matched', basis: 'r/p/-', at: 5 };
    expect(membershipData(c)).toEqual({ id: 'a1', audience_id: 'a1', audience_version: 2, reason: 'filter matched', user_id: 'u1' });
  });
  it.each([
    [
      { total: 10, matched: 3 },
      { user_count: 3, total_users: 10, total_users_filtered: 7 },
    ],
    [
      { total: 0, matched: 0 },
      { user_count: 0, total_users: 0, total_users_filtered: 0 },
    ],
  ])('audiences:calculated of %j', (counted, want) => {
    const data = audienceCalculatedData('a1', counted);
    expect(data).toEqual({ id: 'a1', audience_id: 'a1', ...want });
    // Courier's emitter sends it only once every user is counted one way or the other.
    expect(data.total_users).toBe(data.user_count + data.total_users_filtered);
  });
});

describe('retryDelaySeconds', () => {
  it.each([
    [1, 10, 10],
    [2, 10, 20],
    [4, 10, 80],
    [8, 10, 900],
    [3, 0, 0],
    [1, 1, 1],
  ])('retry %i with base %i s waits %i s', (attempt, base, want) => expect(retryDelaySeconds(attempt, base)).toBe(want));
});

describe('afterFailure', () => {
  it.each([
    [0, 3, 1, false],
    [1, 3, 2, false],
    [2, 3, 3, true],
    [7, 3, 8, true],
    [99, 0, 100, false],
  ])('%i failures, disabled after %i: %i, disable %s', (failures, after, want, disable) =>
    expect(afterFailure(failures, after)).toEqual({ failures: want, disable }),
  );
});

describe('subscribed and delivered', () => {
  const endpoints = [
    { id: 'a', enabled: true, events: ['message:updated'] },
    { id: 'b', enabled: false, events: ['message:updated'] },
    { id: 'c', enabled: true, events: ['audiences:updated'] },
  ];
  it('picks enabled endpoints subscribed to the type', () => expect(subscribed(endpoints, 'message:updated').map((e) => e.id)).toEqual(['a']));
  it.each([
    [200, true],
    [204, true],
    [301, false],
    [429, false],
    [500, false],
    [undefined, false],
  ])('an answer %s is delivered: %s', (status, want) => expect(delivered(status)).toBe(want));
});
