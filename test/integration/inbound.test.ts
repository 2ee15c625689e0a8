import { ConflictError } from '@trycourier/courier';
import { segmentSignature } from '../../lambdas/domain/inbound';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually, uid } from '../helpers/wait';

/**
 * Inbound events: Courier's `inbound.trackEvent`, and Segment's and RudderStack's webhook
 * destinations (seed 004: a group call makes a tenant membership). Events mapped to a notification
 * (`event_ids`) send it to the user once, however often they are replayed.
 */
const SEGMENT_SECRET = 'segment-shared-secret-for-tests';
const RUDDERSTACK_SECRET = 'rudderstack-shared-secret-for-tests';

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({ env: { SEGMENT_SHARED_SECRET: SEGMENT_SECRET, RUDDERSTACK_SHARED_SECRET: RUDDERSTACK_SECRET } });
});
afterAll(() => s?.stop());

/** A published notification sent to the inbox, mapped to `events`. */
async function mappedNotification(events: string[]): Promise<string> {
  const created = await s.client.notifications.create({
    notification: {
      name: uid('Order'),
      tags: [],
      brand: null,
      subscription: null,
      routing: { method: 'single', channels: ['inbox'] },
      content: { title: 'Order {{order_id}}', body: 'You have {{total_orders}} orders' },
      event_ids: events,
    },
    state: 'PUBLISHED',
  } as never);
  return created.id;
}

/** The user's messages, once `count` of them are delivered, and a moment later (a second one would show). */
async function delivered(userId: string, count: number) {
  const page = await eventually(
    () => s.client.messages.list({ recipient: userId }),
    (p) => p.results.filter((m) => m.status === 'DELIVERED').length >= count,
  );
  await s.quiesce();
  const again = await s.client.messages.list({ recipient: userId });
  expect(again.results.length).toBe(page.results.length);
  return again.results;
}

const segment = (body: unknown, secret = SEGMENT_SECRET) => {
  const text = JSON.stringify(body);
  return s.http('POST', '/inbound/segment', text, { key: null, headers: { 'x-signature': segmentSignature(secret, text), 'user-agent': 'Segment.io/1.0' } });
};
const rudderstack = (body: unknown, password = RUDDERSTACK_SECRET) =>
  s.http('POST', '/inbound/rudderstack', body, {
    key: null,
    headers: { authorization: `Basic ${Buffer.from(`rudder:${password}`).toString('base64')}`, 'user-agent': 'RudderLabs' },
  });

describe('event mappings on notifications', () => {
  it('lists the notification an event is mapped to, follows replace and archive, and refuses an event mapped elsewhere', async () => {
    const event = uid('evt');
    const id = await mappedNotification([event]);
    expect((await s.client.notifications.list({ event_id: event })).results.map((n) => n.id)).toEqual([id]);
    expect((await s.client.notifications.list({ event_id: uid('none') })).results).toEqual([]);
    expect(await s.client.notifications.retrieve(id, { version: 'draft' })).toMatchObject({ event_ids: [event] });

    // Another notification may not take the event (409, not retried, nothing written).
    const other = await s.http('POST', '/notifications', {
      notification: { name: 'Other', tags: [], content: { title: 'x' }, event_ids: [event] },
    });
    expect([other.status, other.json.message]).toEqual([409, expect.stringContaining(`event ${event} is mapped to notification ${id}`)]);
    expect(other.headers.get('x-should-retry')).toBe('false');

    // Replaced without the event: the event is free; archived: its events are free.
    const moved = uid('evt');
    await s.client.notifications.replace(id, {
      notification: { name: 'Order', tags: [], brand: null, subscription: null, routing: null, content: { title: 'x' }, event_ids: [moved] },
    } as never);
    expect((await s.client.notifications.list({ event_id: event })).results).toEqual([]);
    expect((await s.client.notifications.list({ event_id: moved })).results.map((n) => n.id)).toEqual([id]);
    await s.client.notifications.archive(id);
    expect((await s.client.notifications.list({ event_id: moved })).results).toEqual([]);
    const taker = await mappedNotification([moved]);
    expect((await s.client.notifications.list({ event_id: moved })).results.map((n) => n.id)).toEqual([taker]);
  });

  it('sends the mapped notification for a send whose template names the event', async () => {
    const event = uid('evt');
    const id = await mappedNotification([event]);
    const user = uid('u');
    await s.client.send.message({ message: { to: { user_id: user }, template: event, data: { order_id: 7, total_orders: 2 } } });
    const [m] = await delivered(user, 1);
    expect(m.notification).toBe(event);
    expect(JSON.stringify(await s.client.messages.content(m.id))).toContain('Order 7');
    expect(id).toBeTruthy();
  });
});

describe('inbound.trackEvent (POST /inbound/courier)', () => {
  it('sends a mapped event to its user once, answers a repeated messageId with 409, and records an unmapped one', async () => {
    const event = uid('New Order Placed');
    const id = await mappedNotification([event]);
    const user = uid('u');
    const messageId = uid('4c62c457');
    const track = { event, messageId, properties: { order_id: 123, total_orders: 5 }, type: 'track' as const, userId: user };
    expect(await s.client.inbound.trackEvent(track)).toEqual({ messageId });

    const replay = await s.client.inbound.trackEvent(track).catch((e: unknown) => e);
    expect(replay).toBeInstanceOf(ConflictError);
    const raw = await s.http('POST', '/inbound/courier', track);
    expect([raw.status, raw.headers.get('x-should-retry'), raw.json.type]).toEqual([409, 'false', 'invalid_request_error']);

    const [m] = await delivered(user, 1);
    expect(m.notification).toBe(id);
    expect(JSON.stringify(await s.client.messages.content(m.id))).toContain('Order 123');
    expect((await s.http('GET', `/inbound/events/${messageId}`)).json).toMatchObject({ status: 'SENT', notification: id, requestId: m.id });

    const unmapped = { event: uid('Nobody Listens'), messageId: uid('m'), properties: { a: 1 }, type: 'track' as const, userId: user };
    const res = await s.http('POST', '/inbound/courier', unmapped);
    expect([res.status, res.json]).toEqual([202, { messageId: unmapped.messageId }]);
    expect((await s.http('GET', `/inbound/events/${unmapped.messageId}`)).json).toMatchObject({
      source: 'courier',
      status: 'UNMAPPED',
      event: unmapped.event,
      userId: user,
      properties: { a: 1 },
    });
    expect((await s.client.messages.list({ recipient: user })).results).toHaveLength(1);
  });

  it('refuses a body without messageId or with another type, naming the field', async () => {
    const bad = await s.http('POST', '/inbound/courier', { type: 'track', event: 'x', properties: {} });
    expect([bad.status, bad.json.message]).toEqual([400, expect.stringContaining('body.messageId')]);
    const identify = await s.http('POST', '/inbound/courier', { type: 'identify', event: 'x', messageId: 'm', properties: {} });
    expect([identify.status, identify.json.message]).toEqual([400, expect.stringContaining('body.type')]);
  });
});

describe('Segment webhook destination (POST /inbound/segment)', () => {
  it('merges identify traits, makes a membership from group, sends a mapped track, once each, in a batch too', async () => {
    const user = uid('019mr8mf4r');
    const group = uid('0e8c78ea9d97a7b8185e8632');
    const event = uid('Item Purchased');
    const id = await mappedNotification([event]);
    // As Segment's Webhooks destination documents them (one event a request)...
    const identify = {
      version: 1,
      type: 'identify',
      userId: user,
      messageId: uid('m'),
      traits: { email: 'achilles@segment.com', name: 'Achilles', subscriptionPlan: 'Premium', friendCount: 29 },
      timestamp: '2012-12-02T00:30:08.276Z',
    };
    expect(await segment(identify)).toMatchObject({ status: 200, json: { received: 1, applied: 1, duplicates: 0, ignored: 0 } });
    expect((await s.client.profiles.retrieve(user)).profile).toMatchObject({ email: 'achilles@segment.com', friendCount: 29 });

    // ...and several in a batch (Webhooks (Actions) with batching: a JSON array), a replayed identify among them.
    const groupCall = {
      version: 1,
      type: 'group',
      userId: user,
      groupId: group,
      messageId: uid('m'),
      traits: { name: 'Initech', industry: 'Technology', employees: 329, plan: 'enterprise', 'total billed': 830 },
      timestamp: '2012-12-02T00:30:08.276Z',
    };
    const track = {
      version: 1,
      type: 'track',
      userId: user,
      event,
      messageId: uid('m'),
      properties: { order_id: 'seg-1', total_orders: 3 },
      timestamp: '2012-12-02T00:30:08.276Z',
    };
    const page = { version: 1, type: 'page', userId: user, messageId: uid('m'), properties: { path: '/pricing', title: 'Segment Pricing' } };
    const batch = await segment([identify, groupCall, track, page]);
    expect([batch.status, batch.json]).toEqual([200, { received: 4, applied: 2, duplicates: 1, ignored: 1 }]);

    const memberships = await s.client.users.tenants.list(user);
    expect(memberships.items?.map((m) => m.tenant_id)).toEqual([group]);
    expect(await s.client.tenants.retrieve(group)).toMatchObject({ id: group, name: 'Initech', properties: { industry: 'Technology' } });
    const [m] = await delivered(user, 1);
    expect(m.notification).toBe(id);

    // The whole batch again: nothing applied twice.
    expect((await segment({ batch: [identify, groupCall, track, page] })).json).toEqual({ received: 4, applied: 0, duplicates: 3, ignored: 1 });
    await delivered(user, 1);
  });

  it('refuses a wrong or missing signature with 401 and changes nothing', async () => {
    const user = uid('u');
    const identify = { type: 'identify', userId: user, messageId: uid('m'), traits: { email: 'x@y.test' } };
    const wrong = await segment(identify, 'not-the-shared-secret');
    expect([wrong.status, wrong.json.type]).toEqual([401, 'authentication_error']);
    const missing = await s.http('POST', '/inbound/segment', identify, { key: null });
    expect(missing.status).toBe(401);
    const apiKey = await s.http('POST', '/inbound/segment', identify);
    expect(apiKey.status).toBe(401);
    expect((await s.http('GET', `/profiles/${user}`)).status).toBe(404);
    expect((await s.http('GET', `/inbound/events/${identify.messageId}?source=segment`)).status).toBe(404);
  });

  it('refuses a batch with a bad event whole, naming it', async () => {
    const user = uid('u');
    const good = { type: 'identify', userId: user, messageId: uid('m'), traits: { a: 1 } };
    const res = await segment({ batch: [good, { type: 'group', userId: user, messageId: uid('m') }] });
    expect([res.status, res.json.message]).toEqual([400, expect.stringContaining('body.batch.1.groupId')]);
    expect((await s.http('GET', `/profiles/${user}`)).status).toBe(404);
  });
});

describe('RudderStack webhook destination (POST /inbound/rudderstack)', () => {
  it('applies identify (traits in context.traits), group and track as RudderStack sends them, once', async () => {
    const user = uid('my-user-id');
    const group = uid('group-id');
    const event = uid('Product Reviewed');
    await mappedNotification([event]);
    const context = {
      app: { build: '1.0.0', name: 'RudderLabs JavaScript SDK', namespace: 'com.rudderlabs.javascript', version: '1.1.1-rc.2' },
      traits: { name: 'User name', email: 'user@domain.com', plan: 'Enterprise', company: { id: 'company-A' } },
      library: { name: 'RudderLabs JavaScript SDK', version: '1.1.1-rc.2' },
      locale: 'en-US',
    };
    const identify = {
      channel: 'web',
      context,
      type: 'identify',
      messageId: uid('508d5e8c'),
      originalTimestamp: '2020-04-22T08:06:20.337Z',
      anonymousId: '21b43de4-3b9b-423f-b51f-794eae31fc03',
      userId: user,
      integrations: { All: true },
      sentAt: '2020-04-22T08:06:20.337Z',
    };
    const groupCall = { ...identify, type: 'group', messageId: uid('m'), groupId: group, traits: { name: 'Company A', plan: 'Enterprise' } };
    const track = { ...identify, type: 'track', messageId: uid('m'), event, properties: { order_id: 'rs-9', total_orders: 1 } };
    const screen = { ...identify, type: 'screen', messageId: uid('m'), name: 'Main' };

    expect((await rudderstack(identify)).json).toEqual({ received: 1, applied: 1, duplicates: 0, ignored: 0 });
    expect((await s.client.profiles.retrieve(user)).profile).toMatchObject({ email: 'user@domain.com', plan: 'Enterprise' });
    expect((await rudderstack([groupCall, track, screen])).json).toEqual({ received: 3, applied: 2, duplicates: 0, ignored: 1 });
    expect((await rudderstack({ batch: [track, groupCall] })).json).toEqual({ received: 2, applied: 0, duplicates: 2, ignored: 0 });
    expect((await s.client.users.tenants.list(user)).items?.map((m) => m.tenant_id)).toEqual([group]);
    const [m] = await delivered(user, 1);
    expect(JSON.stringify(await s.client.messages.content(m.id))).toContain('Order rs-9');
  });

  it('refuses a wrong password, and an anonymous group, with nothing changed', async () => {
    const user = uid('u');
    const identify = { type: 'identify', userId: user, messageId: uid('m'), context: { traits: { email: 'x@y.test' } } };
    const wrong = await rudderstack(identify, 'not-the-shared-secret');
    expect([wrong.status, wrong.json.type]).toEqual([401, 'authentication_error']);
    expect((await s.http('GET', `/profiles/${user}`)).status).toBe(404);

    const group = uid('g');
    const anonymous = { type: 'group', anonymousId: 'anon-1', groupId: group, messageId: uid('m'), traits: { name: 'G' } };
    expect((await rudderstack(anonymous)).json).toEqual({ received: 1, applied: 1, duplicates: 0, ignored: 0 });
    expect((await s.http('GET', `/inbound/events/${anonymous.messageId}?source=rudderstack`)).json).toMatchObject({ status: 'NO_USER' });
    expect((await s.http('GET', `/tenants/${group}`)).status).toBe(404);
  });
});
