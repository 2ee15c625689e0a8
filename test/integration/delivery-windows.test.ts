import { BadRequestError } from '@trycourier/courier';
import { deliveredMessage, messagesOf, sweepOnce } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually, uid } from '../helpers/wait';
import { DAY, GRACE, HOUR, nextTransition, now, setClock, zoneOffset } from '../helpers/clock';

/**
 * Delivery windows (issue 15 item 7), through the SDK against the local stack: `delay.until` in
 * the opening hours format waits until the window opens in `delay.timezone`, else in each
 * recipient's profile `timezone`, else UTC; DST-correct; a past `until` sends now; the rest of the
 * opening hours grammar is a 400 naming the token. The stack's clock is moved forward instead of
 * waiting; the delay's queue hops (real SQS delays of up to 15 minutes) are not waited for either:
 * once the clock is past the opening, the sweeper finds the waiting message due and re-drives it,
 * the path a delay takes after a restart (its hops lost).
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({ scheduleEveryMs: 0 });
});
afterAll(() => s?.stop());

/** The next `weekday` (0 = Sunday) at `hour`:00 UTC, at least `after`. */
function nextUtc(weekday: number, hour: number, after = now()): number {
  const day = Math.floor(after / DAY) * DAY;
  for (let k = 0; ; k++) {
    const t = day + k * DAY + hour * HOUR;
    if (new Date(t).getUTCDay() === weekday && t >= after) return t;
  }
}

interface HistoryEvent {
  type: string;
  until?: number;
  timezone?: string;
  error?: string;
}
const history = async (id: string) => (await s.client.messages.history(id)).results as unknown as HistoryEvent[];
const capturedFor = (id: string) => s.captures().filter((c) => c.messageId === id);
const aUser = async (prefix: string, profile: Record<string, unknown> = {}) => {
  const id = uid(prefix);
  await s.client.profiles.replace(id, { profile: { email: `${id}@example.test`, ...profile } });
  return id;
};
const viaEmail = { content: { title: 'Window', body: 'opened' }, routing: { method: 'single', channels: ['email'] } };
const send = async (message: Record<string, unknown>) => (await s.client.send.message({ message: { ...viaEmail, ...message } as never })).requestId;
const delivered = (id: string) => deliveredMessage(s, id);
const sweep = () => sweepOnce(s);

describe('a window that is closed', () => {
  it('keeps the message DELAYED until the window opens, delivers it then, and lets it be cancelled while it waits', async () => {
    // Saturday 12:00 UTC is Saturday 21:00 in Tokyo (no DST): Mo-Fr 09:00-17:00 opens Monday 09:00 JST, Monday 00:00 UTC.
    const saturday = nextUtc(6, 12, now() + HOUR);
    const opens = saturday + 36 * HOUR;
    setClock(saturday);
    const delay = { until: 'Mo-Fr 09:00-17:00', timezone: 'Asia/Tokyo' };
    const id = await send({ to: { user_id: await aUser('closed') }, delay });
    const cancelled = await send({ to: { user_id: await aUser('cancel') }, delay });

    expect((await s.client.messages.retrieve(id)).status).toBe('DELAYED');
    expect((await history(id)).find((e) => e.type === 'DELAYED')?.until).toBe(opens);
    expect((await s.client.messages.cancel(cancelled)).status).toBe('CANCELED');

    // A minute before it opens: still waiting, nothing sent.
    setClock(opens - 60_000);
    await sweep();
    expect((await s.client.messages.retrieve(id)).status).toBe('DELAYED');
    expect(capturedFor(id)).toEqual([]);

    setClock(opens + GRACE + 60_000);
    await sweep();
    const m = await delivered(id);
    expect(m.sent).toBeGreaterThanOrEqual(opens);
    expect(capturedFor(id).map((c) => ('subject' in c ? c.subject : c.channel))).toEqual(['Window']);
    expect((await s.client.messages.retrieve(cancelled)).status).toBe('CANCELED');
    expect(capturedFor(cancelled)).toEqual([]);
  });

  it('sends at once when the window is open now', async () => {
    const id = await send({ to: { user_id: await aUser('open') }, delay: { until: '24/7', timezone: 'Europe/Berlin' } });
    await delivered(id);
    expect((await history(id)).map((e) => e.type)).not.toContain('DELAYED');
    expect(capturedFor(id)).toHaveLength(1);
  });
});

describe('the time zone of a window', () => {
  it("waits for each recipient's own window: delay.timezone, else the profile's timezone, else UTC", async () => {
    // 00:30 UTC: 09:30 in Tokyo (open), the evening before in New York, 00:30 in UTC (closed).
    const t0 = nextUtc(3, 0, now() + HOUR) + 30 * 60_000;
    setClock(t0);
    const tokyo = await aUser('tokyo', { timezone: 'Asia/Tokyo' });
    const newYork = await aUser('ny', { timezone: 'America/New_York' });
    const unknownZone = await aUser('mars', { timezone: 'Mars/Olympus_Mons' });
    const noZone = await aUser('utc');
    const trace = uid('trace');
    const fanout = await send({
      to: [tokyo, newYork, unknownZone, noZone].map((user_id) => ({ user_id })),
      delay: { until: '09:00-10:00' },
      metadata: { trace_id: trace },
    });
    // delay.timezone beats the profile's: the New York user's window is read in Tokyo, open now.
    const overridden = await send({ to: { user_id: newYork }, delay: { until: '09:00-10:00', timezone: 'Asia/Tokyo' } });

    const nineUtc = Math.floor(t0 / DAY) * DAY + 9 * HOUR;
    const nineNewYork = Math.floor(t0 / DAY) * DAY + 9 * HOUR - zoneOffset('America/New_York', t0);
    const byUser = async () => {
      const list = await eventually(
        async () => ((await s.client.messages.list({ traceId: trace })).results ?? []) as unknown as { id: string; recipient: string; status: string }[],
        (all) => all.length === 4 && all.every((m) => m.status === 'SENT' || m.status === 'DELAYED'),
      );
      return Object.fromEntries(list.map((m) => [m.recipient, m]));
    };
    let messages = await byUser();
    expect(Object.fromEntries(Object.entries(messages).map(([u, m]) => [u, m.status]))).toEqual({
      [tokyo]: 'SENT',
      [newYork]: 'DELAYED',
      [unknownZone]: 'DELAYED',
      [noZone]: 'DELAYED',
    });
    await delivered(overridden);
    expect(capturedFor(overridden)).toHaveLength(1);
    expect(capturedFor(messages[tokyo].id)).toHaveLength(1);

    const delayedUntil = async (id: string) => (await history(id)).find((e) => e.type === 'DELAYED');
    expect(await delayedUntil(messages[newYork].id)).toMatchObject({ until: nineNewYork, timezone: 'America/New_York' });
    expect(await delayedUntil(messages[noZone].id)).toMatchObject({ until: nineUtc, timezone: 'UTC' });
    expect(await delayedUntil(messages[unknownZone].id)).toMatchObject({ until: nineUtc, timezone: 'UTC' });
    expect((await history(messages[unknownZone].id)).find((e) => e.type === 'TIMEZONE_FALLBACK')?.error).toMatch(
      /"Mars\/Olympus_Mons" is not a known IANA time zone: the window is read in UTC/,
    );

    // While every unfinished message waits for its window, the sweeper looks at the request again
    // only a grace period after the first window opens, not every grace period.
    setClock(t0 + GRACE + 60_000);
    await sweep();
    const markersDue = async (at: number) => {
      const { openRequestsDue } = require('../../lambdas/store/messages') as typeof import('../../lambdas/store/messages');
      const { OPEN_SHARDS } = require('../../lambdas/store/keys') as typeof import('../../lambdas/store/keys');
      const due = await Promise.all(Array.from({ length: OPEN_SHARDS }, (_, shard) => openRequestsDue(shard, at, 100)));
      return due.flat().filter((m) => m.requestId === fanout).length;
    };
    await eventually(
      () => markersDue(nineUtc),
      (n) => n === 0,
    );
    expect(await markersDue(nineUtc + GRACE + 1000)).toBe(1);
    expect((await byUser())[newYork].status).toBe('DELAYED');

    // Past 09:00 UTC: the UTC recipients are delivered; New York's window has not opened yet.
    setClock(nineUtc + GRACE + 60_000);
    await sweep();
    await delivered(messages[noZone].id);
    await delivered(messages[unknownZone].id);
    messages = await byUser();
    expect(messages[newYork].status).toBe('DELAYED');
    expect(capturedFor(messages[newYork].id)).toEqual([]);

    setClock(nineNewYork + GRACE + 60_000);
    await sweep();
    const m = await delivered(messages[newYork].id);
    expect(m.sent).toBeGreaterThanOrEqual(nineNewYork);
    expect(capturedFor(messages[newYork].id)).toHaveLength(1);
    expect((await messagesOf(s, trace, 4)).map((x) => x.status)).toEqual(['SENT', 'SENT', 'SENT', 'SENT']);
  });
});

describe('across a DST change', () => {
  it('opens at the wall time of the day it opens, not at the offset the send was made under (Europe/Berlin)', async () => {
    const change = nextTransition('Europe/Berlin', now() + 2 * DAY);
    const before = zoneOffset('Europe/Berlin', change - HOUR);
    const after = zoneOffset('Europe/Berlin', change + HOUR);
    expect(after).not.toBe(before);
    // The day before the change (a Saturday: EU clocks change on Sundays at 01:00 UTC); the window opens Sunday 09:00 local.
    setClock(change - DAY);
    const sunday = Math.floor(change / DAY) * DAY;
    const opens = sunday + 9 * HOUR - after;
    const id = await send({ to: { user_id: await aUser('dst') }, delay: { until: 'Su 09:00-17:00', timezone: 'Europe/Berlin' } });
    expect((await history(id)).find((e) => e.type === 'DELAYED')?.until).toBe(opens);

    // Delivered once the clock passes the opening, within the hour the send's own offset would have been wrong by.
    setClock(opens + GRACE + 60_000);
    await sweep();
    const m = await delivered(id);
    expect(m.sent).toBeGreaterThanOrEqual(opens);
    expect(m.sent).toBeLessThan(opens + HOUR);
    expect(capturedFor(id)).toHaveLength(1);
  });
});

describe('an until in the past', () => {
  it.each([
    ['an ISO time', (t: number) => ({ until: new Date(t - HOUR).toISOString() })],
    ['a wall time in delay.timezone', (t: number) => ({ until: new Date(t - HOUR + 9 * HOUR).toISOString().slice(0, 19), timezone: 'Asia/Tokyo' })],
  ])('sends now: %s', async (_name, delay) => {
    const id = await send({ to: { user_id: await aUser('past') }, delay: delay(now()) });
    await delivered(id);
    expect((await history(id)).map((e) => e.type)).not.toContain('DELAYED');
    expect(capturedFor(id)).toHaveLength(1);
  });
});

describe('refused', () => {
  it.each([
    [{ until: 'PH off' }, 'body.message.delay.until: "PH off" is not supported: "PH" (public holidays)'],
    [{ until: 'Mo-Fr 09:00-17:00; Jan-Mar off' }, 'body.message.delay.until: "Jan-Mar off" is not supported: "Jan" (months)'],
    [{ until: 'sunrise-sunset' }, 'body.message.delay.until: "sunrise-sunset" is not supported'],
    [{ until: 'off' }, 'body.message.delay.until: "off" is never open'],
    [{ until: 'Mo-Fr 09:00-17:00', timezone: 'Mars/Olympus_Mons' }, 'body.message.delay.timezone: is not a known IANA time zone'],
  ])('%j with a 400 naming the field', async (delay, text) => {
    const user = await aUser('refused');
    const err = await s.client.send.message({ message: { ...viaEmail, to: { user_id: user }, delay } as never }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).status).toBe(400);
    expect((err as BadRequestError).error).toMatchObject({ type: 'invalid_request_error', message: expect.stringContaining(text) });
    expect((await s.client.messages.list({ recipient: user })).results).toEqual([]);
  });
});
