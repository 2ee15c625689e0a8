import { randomUUID } from 'node:crypto';
import { startTestStack, type TestStack } from '../helpers/stack';
import { emailUser, historyOf, idle as idleIn, messagesOf, type Msg, sweepOnce, TERMINAL } from '../helpers/send';
import { eventually, uid } from '../helpers/wait';
import { GRACE, HOUR, nextUtc, setClock } from '../helpers/clock';

/**
 * Quiet hours and topic throttles (issue 18 items 4 and 5, docs/decisions.md D26) on a list send's
 * fan-out, where one request makes a message per subscriber: each subscriber's message is held, or
 * let through, or throttled on its own, by that subscriber's zone, hours and counter. The
 * workspace's quiet hours are 22:00-07:00 on email, read in the profile's `timezone`, else
 * DEFAULT_TIMEZONE (UTC); per-user hours are on. Every SQS record is delivered twice, at once
 * (`duplicateDeliveries`), so a hold, a release and a throttle's pass are each shown to happen once.
 * A hold's queue hops (real SQS delays of up to 15 minutes) are not waited for: once the clock is
 * past the hold, the sweeper's check of the request re-drives the held messages.
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({
    queuePrefix: `q-${randomUUID().slice(0, 8)}`,
    duplicateDeliveries: true,
    scheduleEveryMs: 0,
    env: { QUIET_HOURS: JSON.stringify({ hours: '22:00-07:00', channels: ['email'] }), USER_QUIET_HOURS: 'on', DEFAULT_TIMEZONE: 'UTC' },
  });
});
afterAll(() => s?.stop());

const history = (id: string) => historyOf(s, id);
const aUser = (prefix: string, profile: Record<string, unknown> = {}) => emailUser(s, prefix, profile);
const aList = async (users: string[]) => {
  const list = uid('fanout.list');
  await s.client.lists.subscriptions.add(list, { recipients: users.map((recipientId) => ({ recipientId })) });
  return list;
};
/** Fan-out queue messages handled so far. */
const fanoutRecords = () => s.workerStats().fanout.records;
/**
 * An audience of `users`, by a `cohort` their profiles share, once its membership is materialised
 * and its backfill has ended: a scan of the 16 profile shards and a prune, one job each (here each
 * delivered twice). A duplicate of one of its jobs must not enqueue the rest of the chain twice.
 */
async function anAudience(users: string[]): Promise<string> {
  const audience = uid('cohort');
  for (const u of users) await s.client.profiles.create(u, { profile: { cohort: audience } });
  await idle();
  const before = fanoutRecords();
  await s.client.audiences.update(audience, { name: audience, filter: { filters: [{ operator: 'EQ', path: 'cohort', value: audience }] } });
  await eventually(
    async () => (await s.client.audiences.listMembers(audience)).items.map((m) => m.member_id).sort(),
    (m) => m.join() === [...users].sort().join(),
  );
  await idle();
  expect(fanoutRecords() - before).toBeLessThanOrEqual(2 * 17 + 2);
  return audience;
}
/** Sends to a list (or `{ audience_id }`) on `channel` (under `topic`, when given); its trace id. */
async function sendToList(list: string | { audience_id: string }, channel: string, topic?: string): Promise<string> {
  const trace = uid('trace');
  await s.client.send.message({
    message: {
      to: typeof list === 'string' ? { list_id: list } : list,
      content: { title: 'Fan-out', body: 'to each subscriber' },
      routing: { method: 'single', channels: [channel] },
      metadata: { trace_id: trace },
      ...(topic ? { preferences: { subscription_topic_id: topic } } : {}),
    } as never,
  });
  return trace;
}
/** The messages of a trace by recipient, once `count` exist and each is terminal or held. */
async function byRecipient(trace: string, count: number): Promise<Record<string, Msg>> {
  const all = await eventually(
    async () => ((await s.client.messages.list({ traceId: trace })).results ?? []) as unknown as Msg[],
    (ms) => ms.length >= count && ms.every((m) => TERMINAL.includes(m.status) || m.status === 'DELAYED'),
    30_000,
  );
  return Object.fromEntries(all.map((m) => [m.recipient, m]));
}
const mails = (messageId: string) => s.captures().filter((c) => c.via === 'smtp' && c.messageId === messageId).length;
const statusOf = async (id: string) => (await s.client.messages.retrieve(id)).status;
const sweep = () => sweepOnce(s);
const idle = () => idleIn(s);

describe('a list send under quiet hours', () => {
  it('holds each subscriber inside their own quiet hours until they end in their zone, and delivers the others at once', async () => {
    // 23:00 UTC: 23:00 for a profile without a zone (UTC by default) and 04:30 in Kolkata are quiet;
    // 08:00 in Tokyo and 18:00 in Bogota are not; a UTC user whose own hours are off is not held.
    // (Zones without DST, so the ends below hold on any date.)
    const t0 = nextUtc(23, 0);
    setClock(t0);
    const utc = await aUser('utc');
    const kolkata = await aUser('kolkata', { timezone: 'Asia/Kolkata' });
    const tokyo = await aUser('tokyo', { timezone: 'Asia/Tokyo' });
    const bogota = await aUser('bogota', { timezone: 'America/Bogota' });
    const awake = await aUser('awake');
    expect((await s.http('PUT', `/users/${awake}/quiet-hours`, { hours: 'off' })).status).toBe(200);
    const list = await aList([utc, kolkata, tokyo, bogota, awake]);
    const kolkataEnd = t0 + 2.5 * HOUR; // 07:00 IST is 01:30 UTC
    const utcEnd = t0 + 8 * HOUR; // 07:00 UTC

    const trace = await sendToList(list, 'email');
    const first = await byRecipient(trace, 5);
    expect(Object.fromEntries(Object.entries(first).map(([r, m]) => [r, [m.status, m.reason ?? null]]))).toEqual({
      [utc]: ['DELAYED', 'QUIET_HOURS'],
      [kolkata]: ['DELAYED', 'QUIET_HOURS'],
      [tokyo]: ['SENT', null],
      [bogota]: ['SENT', null],
      [awake]: ['SENT', null],
    });
    for (const [user, until, timezone] of [
      [utc, utcEnd, 'UTC'],
      [kolkata, kolkataEnd, 'Asia/Kolkata'],
    ] as const) {
      const held = (await history(first[user].id)).filter((e) => e.type === 'DELAYED');
      expect(held).toEqual([expect.objectContaining({ reason: 'QUIET_HOURS', until, timezone, quiet_hours: 'workspace' })]);
    }
    await eventually(
      async () => [tokyo, bogota, awake].map((u) => mails(first[u].id)),
      (n) => n.every((x) => x === 1),
    );
    expect([utc, kolkata].map((u) => mails(first[u].id))).toEqual([0, 0]);

    // The sweeper (every minute when deployed) checks the request: the held ones are waiting, not stuck.
    setClock(t0 + GRACE + 60_000);
    await sweep();
    expect([await statusOf(first[utc].id), await statusOf(first[kolkata].id)]).toEqual(['DELAYED', 'DELAYED']);

    // Kolkata's hours end first; UTC's still hold.
    setClock(kolkataEnd + GRACE + 60_000);
    await sweep();
    const released = await eventually(
      () => s.client.messages.retrieve(first[kolkata].id),
      (m) => m.status === 'SENT',
      30_000,
    );
    expect(released.sent).toBeGreaterThanOrEqual(kolkataEnd);
    expect(await statusOf(first[utc].id)).toBe('DELAYED');

    setClock(utcEnd - 60_000);
    await sweep();
    expect(await statusOf(first[utc].id)).toBe('DELAYED');
    setClock(utcEnd + GRACE + 60_000);
    await sweep();
    const last = await eventually(
      () => s.client.messages.retrieve(first[utc].id),
      (m) => m.status === 'SENT',
      30_000,
    );
    expect(last.sent).toBeGreaterThanOrEqual(utcEnd);
    expect(last.reason ?? null).toBeNull();

    // Once each: one message per subscriber, one mail each, one hold and one release each.
    await sweep();
    await idle();
    const after = await messagesOf(s, trace, 5);
    expect(after).toHaveLength(5);
    expect(after.every((m) => m.status === 'SENT')).toBe(true);
    expect(after.map((m) => mails(m.id))).toEqual([1, 1, 1, 1, 1]);
    for (const user of [utc, kolkata]) {
      const types = (await history(first[user].id)).map((e) => `${e.type}${e.reason ? `:${e.reason}` : ''}`);
      expect(types.filter((t) => t === 'DELAYED:QUIET_HOURS')).toHaveLength(1);
      expect(types.filter((t) => t === 'RELEASED:QUIET_HOURS')).toHaveLength(1);
      expect(types.indexOf('RELEASED:QUIET_HOURS')).toBeGreaterThan(types.indexOf('DELAYED:QUIET_HOURS'));
    }
  });
});

describe('a list send under a topic throttle', () => {
  it('lets each subscriber have exactly N of the topic per window, throttling the rest per recipient', async () => {
    // Well inside a UTC hour, so the sends share one window.
    setClock(nextUtc(12, 10));
    const topic = uid('throttled');
    expect((await s.http('PUT', `/preferences/topics/${topic}`, { name: 'News', throttle: { limit: 2, period: '1 hour' } })).status).toBe(200);
    // Subscribers in different zones (a throttle's window is the UTC hour for each of them); one already had a message of the topic.
    const users = [await aUser('thr'), await aUser('thr', { timezone: 'Asia/Tokyo' }), await aUser('thr', { timezone: 'America/Bogota' })];
    const [busy] = users;
    const list = await aList(users);
    const single = await s.client.send.message({
      message: {
        to: { user_id: busy },
        content: { title: 't', body: 'b' },
        routing: { method: 'single', channels: ['inbox'] },
        preferences: { subscription_topic_id: topic },
      } as never,
    });
    await eventually(
      () => statusOf(single.requestId),
      (st) => st === 'DELIVERED',
    );

    const sends: Record<string, Msg>[] = [];
    for (let i = 0; i < 3; i++) sends.push(await byRecipient(await sendToList(list, 'inbox', topic), 3));
    const statuses = (u: string) => sends.map((by) => by[u].status);
    expect(statuses(busy)).toEqual(['DELIVERED', 'THROTTLED', 'THROTTLED']);
    for (const u of users.slice(1)) expect(statuses(u)).toEqual(['DELIVERED', 'DELIVERED', 'THROTTLED']);
    const throttled = sends[2][users[1]];
    expect(throttled.reason).toBe('THROTTLED');
    expect((await history(throttled.id)).find((e) => e.type === 'THROTTLED')).toMatchObject({ reason: 'THROTTLED' });

    // Three more sends at once, in the next window, two to the list and one to an audience of the same users: two each pass, whichever they are.
    const audience = { audience_id: await anAudience(users) };
    setClock(nextUtc(13, 10));
    const traces = await Promise.all([list, audience, list].map((to) => sendToList(to, 'inbox', topic)));
    const burst = await Promise.all(traces.map((t) => byRecipient(t, 3)));
    for (const u of users) expect(burst.map((by) => by[u].status).sort()).toEqual(['DELIVERED', 'DELIVERED', 'THROTTLED']);
  });

  it('counts a message held for quiet hours in the window it is delivered in (a list send, then an audience send)', async () => {
    // 23:30 UTC: a UTC user's email is held until 07:00; a Tokyo user's (08:30) goes at once, then its second is throttled. Limit 1 an hour.
    const t0 = nextUtc(23, 30);
    setClock(t0);
    const topic = uid('held-throttle');
    expect((await s.http('PUT', `/preferences/topics/${topic}`, { name: 'Night', throttle: { limit: 1, period: '1 hour' } })).status).toBe(200);
    const sleeper = await aUser('sleeper');
    const tokyo = await aUser('tokyo', { timezone: 'Asia/Tokyo' });
    const list = await aList([sleeper, tokyo]);
    const audience = { audience_id: await anAudience([sleeper, tokyo]) };
    const one = await byRecipient(await sendToList(list, 'email', topic), 2);
    const two = await byRecipient(await sendToList(audience, 'email', topic), 2);
    expect([one[tokyo].status, two[tokyo].status]).toEqual(['SENT', 'THROTTLED']);
    expect([one[sleeper].status, two[sleeper].status]).toEqual(['DELAYED', 'DELAYED']);

    const morning = nextUtc(7, 0, t0);
    setClock(t0 + GRACE + 60_000);
    await sweep();
    setClock(morning + GRACE + 60_000);
    await sweep();
    // Both released in the same window: one passes, the other is throttled there.
    const released = await eventually(
      async () => [await statusOf(one[sleeper].id), await statusOf(two[sleeper].id)],
      (st) => st.every((x) => x !== 'DELAYED'),
      30_000,
    );
    expect(released.sort()).toEqual(['SENT', 'THROTTLED']);
  });
});
