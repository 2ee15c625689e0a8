import { randomUUID } from 'node:crypto';
import type { TestStack } from '../helpers/stack';
import { deliveredMessage, emailUser, historyOf, messagesOf, sweepOnce } from '../helpers/send';
import { eventually, uid } from '../helpers/wait';
import { GRACE, HOUR, nextTransition, nextUtc, now, setClock } from '../helpers/clock';

/**
 * Quiet hours and per-topic throttles (issue 18 items 5 and 4, docs/decisions.md D26), through the
 * SDK and the HTTP API against the local stack, on the controllable clock. The workspace's quiet
 * hours are 22:00-07:00 on email (in DEFAULT_TIMEZONE, UTC here, unless the profile has a zone);
 * per-user quiet hours are on. A held message's queue hops (real SQS delays of up to 15 minutes)
 * are not waited for: once the clock is past the hold, the sweeper re-drives it, the path a hold
 * takes after a restart too.
 */
const tableName = `quiet-${randomUUID().slice(0, 8)}`;
const start = async (): Promise<TestStack> =>
  (require('../helpers/stack') as typeof import('../helpers/stack')).startTestStack({
    tableName,
    queuePrefix: `q-${randomUUID().slice(0, 8)}`,
    scheduleEveryMs: 0,
    env: { QUIET_HOURS: JSON.stringify({ hours: '22:00-07:00', channels: ['email'] }), USER_QUIET_HOURS: 'on', DEFAULT_TIMEZONE: 'UTC' },
  });

let s: TestStack;
beforeAll(async () => {
  s = await start();
});
afterAll(() => s?.stop());

const history = (id: string) => historyOf(s, id);
const aUser = (prefix: string, profile: Record<string, unknown> = {}) => emailUser(s, prefix, profile);
const via = (channel: string, topic?: string) => ({
  content: { title: 'Quiet', body: 'hours' },
  routing: { method: 'single', channels: [channel] },
  ...(topic ? { preferences: { subscription_topic_id: topic } } : {}),
});
const send = async (to: string, channel: string, topic?: string) =>
  (await s.client.send.message({ message: { to: { user_id: to }, ...via(channel, topic) } as never })).requestId;
const status = async (id: string) => (await s.client.messages.retrieve(id)).status;
const delivered = (id: string) => deliveredMessage(s, id);
const sweep = () => sweepOnce(s);
const captured = (id: string) => s.captures().filter((c) => c.messageId === id);

describe('quiet hours', () => {
  // First: the walk of single sends starts an hour before its first sweep, and this night is months away.
  it("read a user's own hours in their zone, across a DST change", async () => {
    // The next night New York springs forward: 23:00 EST the evening before is 04:00 UTC; 07:00 EDT is 11:00 UTC (not 12:00).
    const transition = nextTransition('America/New_York', now() + HOUR);
    const evening = transition - 3 * HOUR; // 04:00 UTC: 23:00 EST
    expect(new Date(evening).toISOString().slice(11, 16)).toBe('04:00');
    setClock(evening);
    const user = await aUser('ny', { timezone: 'America/New_York' });
    const put = await s.http('PUT', `/users/${user}/quiet-hours`, { hours: '22:00-07:00', channels: ['email', 'sms'] });
    expect(put.status).toBe(200);
    expect((await s.http('GET', `/users/${user}/quiet-hours`)).json).toEqual({ source: 'user', hours: '22:00-07:00', channels: ['email', 'sms'] });
    expect((await s.http('PUT', `/users/${user}/quiet-hours`, { hours: 'PH off' })).json.message).toMatch(/body\.hours.*PH/);
    expect((await s.http('PUT', `/users/${user}/quiet-hours`, { hours: '22:00-07:00', channels: ['fax'] })).status).toBe(400);

    const until = evening + 7 * HOUR; // 11:00 UTC: 07:00 EDT
    const id = await send(user, 'email');
    setClock(evening + GRACE + 60_000);
    await sweep();
    expect((await history(id)).find((e) => e.type === 'DELAYED')).toMatchObject({
      reason: 'QUIET_HOURS',
      until,
      timezone: 'America/New_York',
      quiet_hours: 'user',
    });
    expect((await s.http('GET', `/users/${user}/preferences/t/explain`)).json.quiet_hours).toMatchObject({
      source: 'user',
      timezone: 'America/New_York',
      held_until: { email: new Date(until).toISOString(), sms: new Date(until).toISOString() },
    });
    // 06:30 EDT (10:30 UTC; it would be 05:30 without the change): still held.
    setClock(until - 30 * 60_000);
    await sweep();
    expect(await status(id)).toBe('DELAYED');
    setClock(until + GRACE + 60_000);
    await sweep();
    expect((await delivered(id)).sent).toBeGreaterThanOrEqual(until);

    // Deleted, the workspace's hours apply again (read in the profile's zone).
    expect((await s.http('DELETE', `/users/${user}/quiet-hours`)).status).toBe(204);
    expect((await s.http('GET', `/users/${user}/quiet-hours`)).json).toEqual({ source: 'workspace', hours: '22:00-07:00', channels: ['email'] });
  });

  it('hold an email across midnight until 07:00, let other channels through, and record the hold and the release', async () => {
    const t0 = nextUtc(23, 0);
    setClock(t0);
    const morning = t0 + 8 * HOUR;
    const user = await aUser('night');
    const held = await send(user, 'email');
    const inbox = await send(user, 'inbox');

    expect(await s.client.messages.retrieve(held)).toMatchObject({ status: 'DELAYED', reason: 'QUIET_HOURS' });
    expect((await history(held)).find((e) => e.type === 'DELAYED')).toMatchObject({
      reason: 'QUIET_HOURS',
      until: morning,
      channel: 'email',
      timezone: 'UTC',
      quiet_hours: 'workspace',
    });
    await delivered(inbox);
    // The sweeper (every minute when deployed) walks the single sends a grace period old: the held one gets an open marker.
    setClock(t0 + GRACE + 60_000);
    await sweep();
    expect(await status(held)).toBe('DELAYED');

    const explain = await s.http('GET', `/users/${user}/preferences/${uid('topic')}/explain`);
    expect(explain.json.quiet_hours).toMatchObject({
      source: 'workspace',
      hours: '22:00-07:00',
      timezone: 'UTC',
      held_until: { email: new Date(morning).toISOString() },
    });

    // After midnight, a minute before the end: still held.
    setClock(morning - 60_000);
    await sweep();
    expect(await status(held)).toBe('DELAYED');
    expect(captured(held)).toEqual([]);

    setClock(morning + GRACE + 60_000);
    await sweep();
    const m = await delivered(held);
    expect(m.sent).toBeGreaterThanOrEqual(morning);
    expect(m.reason ?? null).toBeNull();
    expect(captured(held)).toHaveLength(1);
    const types = (await history(held)).map((e) => `${e.type}${e.reason ? `:${e.reason}` : ''}`);
    expect(types).toEqual(expect.arrayContaining(['DELAYED:QUIET_HOURS', 'RELEASED:QUIET_HOURS']));
    expect(types.indexOf('RELEASED:QUIET_HOURS')).toBeGreaterThan(types.indexOf('DELAYED:QUIET_HOURS'));

    const explained = await s.http('GET', `/users/${user}/preferences/${uid('topic')}/explain`);
    expect(explained.json.quiet_hours.held_until).toEqual({ email: null });
  });

  it('let a REQUIRED topic through at once', async () => {
    setClock(nextUtc(23, 30));
    const topic = uid('required');
    expect((await s.http('PUT', `/preferences/topics/${topic}`, { name: 'Security', default_status: 'REQUIRED' })).status).toBe(200);
    const user = await aUser('required');
    const explain = await s.http('GET', `/users/${user}/preferences/${topic}/explain`);
    expect(explain.json.quiet_hours).toMatchObject({ required: true, held_until: { email: null } });
    const id = await send(user, 'email', topic);
    await delivered(id);
    expect((await history(id)).map((e) => e.type)).not.toContain('DELAYED');
  });

  it('keep a held message across a restart of the stack, and deliver it once when the hours end', async () => {
    const t0 = nextUtc(22, 30, now() + HOUR);
    setClock(t0);
    const morning = nextUtc(7, 0, t0);
    const user = await aUser('restart');
    const id = await send(user, 'email');
    expect(await status(id)).toBe('DELAYED');
    setClock(t0 + GRACE + 60_000);
    await sweep();

    // Restart: the hold's queue hop is lost with the old queues; the clock module starts again from real time.
    await s.stop();
    jest.resetModules();
    s = await start();
    setClock(morning - 60_000);
    await sweep();
    expect(await status(id)).toBe('DELAYED');
    setClock(morning + GRACE + 60_000);
    await sweep();
    await delivered(id);
    await sweep();
    expect(captured(id)).toHaveLength(1);
  });
});

describe('a topic throttle', () => {
  it('lets exactly N of 20 concurrent sends through, ends the rest THROTTLED, and opens again in the next window', async () => {
    // Well inside a UTC hour, so the 20 sends share one window.
    setClock(nextUtc(12, 10));
    const topic = uid('throttled');
    const put = await s.http('PUT', `/preferences/topics/${topic}`, { name: 'Digest', throttle: { limit: 5, period: '1 hour' } });
    expect(put.status).toBe(200);
    expect(put.json.throttle).toEqual({ limit: 5, period: '1 hour' });
    expect((await s.http('PUT', `/preferences/topics/${topic}`, { name: 'x', throttle: { limit: 0, period: '1 hour' } })).status).toBe(400);
    expect((await s.http('PUT', `/preferences/topics/${topic}`, { name: 'x', throttle: { limit: 5, period: 'soon' } })).json.message).toMatch(
      /throttle\.period/,
    );

    const user = await aUser('throttle');
    const trace = uid('trace');
    await Promise.all(
      Array.from({ length: 20 }, () =>
        s.client.send.message({ message: { to: { user_id: user }, ...via('inbox', topic), metadata: { trace_id: trace } } as never }),
      ),
    );
    const all = await messagesOf(s, trace, 20);
    expect(all.filter((m) => m.status === 'DELIVERED')).toHaveLength(5);
    const throttled = all.filter((m) => m.status === 'THROTTLED');
    expect(throttled).toHaveLength(15);
    expect(throttled.every((m) => m.reason === 'THROTTLED')).toBe(true);
    expect((await history(throttled[0].id)).find((e) => e.type === 'THROTTLED')).toMatchObject({ reason: 'THROTTLED' });
    // Letting a message through again (a redelivered job, a re-drive) does not count it twice; a new one is still refused.
    const { passThrottle } = require('../../lambdas/store/throttles') as typeof import('../../lambdas/store/throttles');
    const window = { topicId: topic, userId: user, windowStart: nextUtc(12, 0, now() - HOUR), windowEnd: nextUtc(13, 0, now() - HOUR), limit: 5 };
    const passed = all.find((m) => m.status === 'DELIVERED')!.id;
    expect(await passThrottle({ ...window, messageId: passed })).toBe(true);
    expect(await passThrottle({ ...window, messageId: throttled[0].id })).toBe(false);
    // Another user has a counter of their own.
    await delivered(await send(await aUser('other'), 'inbox', topic));

    // Still the same window: the sixth is throttled; the next hour lets five more through.
    const sixth = await send(user, 'inbox', topic);
    await eventually(
      () => status(sixth),
      (st) => st === 'THROTTLED',
    );
    setClock(nextUtc(13, 0));
    await delivered(await send(user, 'inbox', topic));
    // Without the throttle, nothing is counted.
    expect((await s.http('PUT', `/preferences/topics/${topic}`, { name: 'Digest', throttle: null })).json.throttle).toBeUndefined();
    await delivered(await send(user, 'inbox', topic));
  });
});
