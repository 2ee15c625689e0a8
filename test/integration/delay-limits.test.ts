import { sendAndWait } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/**
 * Delays (issue 11, item 11): a delay beyond MAX_DELAY_DAYS (default 30) is refused naming its
 * field, and a delayed message whose expiry comes first ends UNDELIVERABLE at its expiry instead of
 * hopping through the queue until it is due.
 */

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({ scheduleEveryMs: 0 });
});
afterAll(() => s?.stop());

const viaInbox = { content: { title: 'hi', body: 'later' }, routing: { method: 'single', channels: ['inbox'] } };
const DAY = 86_400_000;

describe('delay limits', () => {
  it.each([
    ['delay.until 400 days ahead', { until: new Date(Date.now() + 400 * DAY).toISOString() }, 'body.message.delay.until'],
    ['delay.until 31 days ahead', { until: new Date(Date.now() + 31 * DAY).toISOString() }, 'body.message.delay.until'],
    ['delay.duration of 31 days', { duration: 31 * DAY }, 'body.message.delay.duration'],
    ['delay.duration of 10^15 ms', { duration: 1e15 }, 'body.message.delay.duration'],
  ])('refuses %s with 400 naming the field', async (_name, delay, field) => {
    const res = await s.http('POST', '/send', { message: { ...viaInbox, to: { user_id: uid('u') }, delay } });
    expect(res.status).toBe(400);
    expect(res.json.message).toContain(`${field}:`);
    expect(res.json.message).toMatch(/30 days/);
  });

  it('accepts a delay within the limit', async () => {
    const res = await s.http('POST', '/send', {
      message: { ...viaInbox, to: { user_id: uid('u') }, delay: { until: new Date(Date.now() + 29 * DAY).toISOString() } },
    });
    expect(res.status).toBe(202);
    expect((await s.http('POST', `/messages/${res.json.requestId}/cancel`)).status).toBe(200);
  });
});

describe('expiry while delayed', () => {
  it('ends a delayed single send UNDELIVERABLE when it expires before it is due', async () => {
    const message = { ...viaInbox, to: { user_id: uid('single') }, delay: { duration: 3600_000 }, expiry: { expires_in: 1500 } };
    const { messages } = await sendAndWait(s, message, 1, 20_000);
    expect(messages[0]).toMatchObject({ status: 'UNDELIVERABLE', reason: 'FAILED', error: 'expired before delivery' });
  });

  it('ends every recipient of a delayed fan-out UNDELIVERABLE when it expires before it is due', async () => {
    const to = [{ user_id: uid('fan1') }, { user_id: uid('fan2') }];
    const { messages } = await sendAndWait(
      s,
      { ...viaInbox, to, delay: { until: new Date(Date.now() + 3 * 3600_000).toISOString() }, expiry: { expires_at: Date.now() + 1500 } },
      2,
      20_000,
    );
    expect(messages.map((m) => [m.recipient, m.status, m.error]).sort()).toEqual(to.map((t) => [t.user_id, 'UNDELIVERABLE', 'expired before delivery']).sort());
  });
});
