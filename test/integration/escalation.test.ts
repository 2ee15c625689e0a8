import { aUser, via } from '../helpers/builders';
import { sendAndWait } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startWebhookServer } from '../helpers/webhook-server';
import { eventually } from '../helpers/wait';

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s?.stop());

/** The SMS the local capture received for a message. */
const smsOf = (messageId: string) => s.captures().filter((c) => c.messageId === messageId && c.channel === 'sms');
const historyOf = async (messageId: string) => (await s.client.messages.history(messageId)).results as unknown as Record<string, unknown>[];

async function userToken(userId: string): Promise<string> {
  const res = await s.http('POST', '/auth/issue-token', { scope: `user_id:${userId} inbox:read:messages inbox:write:events`, expires_in: '1h' });
  return res.json.token as string;
}

/** Sends to a user who has an inbox and a phone, inbox first, and returns the message id once it reached the inbox. */
async function sendInboxFirst(timeout: Record<string, unknown>): Promise<{ userId: string; messageId: string }> {
  const userId = await aUser(s, { phone_number: '+15550002222' }, 'esc');
  const { requestId } = await s.client.send.message({
    message: { to: { user_id: userId }, content: { title: 'Alert', body: 'Disk full' }, routing: via('inbox', 'sms'), timeout } as never,
  });
  await eventually(
    () => historyOf(requestId),
    (h) => h.some((e) => e.type === 'DELIVERED' && e.channel === 'inbox'),
  );
  return { userId, messageId: requestId };
}

describe('message.timeout.escalation and criteria', () => {
  it('viewed: an inbox message nobody opens escalates to the next channel once the time is up', async () => {
    const { messageId } = await sendInboxFirst({ escalation: 1500, criteria: 'viewed' });
    expect((await s.client.messages.retrieve(messageId)).status).toBe('ROUTED');
    expect(smsOf(messageId)).toEqual([]);

    await eventually(
      async () => smsOf(messageId),
      (sms) => sms.length === 1,
      20_000,
    );
    expect(smsOf(messageId)[0]).toMatchObject({ address: '+15550002222', content: { channel: 'sms', body: 'Disk full' } });
    const done = await eventually(
      () => s.client.messages.retrieve(messageId),
      (m) => m.status === 'DELIVERED' || m.status === 'SENT',
    );
    expect(done.status).toBe('DELIVERED');
    const history = await historyOf(messageId);
    expect(history.find((e) => e.type === 'ESCALATION_WATCH')).toMatchObject({ channel: 'inbox', criteria: 'viewed' });
    expect(history.find((e) => e.type === 'ESCALATED')).toMatchObject({ channel: 'inbox', criteria: 'viewed', after_ms: 1500 });
  });

  it('viewed: an inbox message the user opens in time does not escalate, and the message ends DELIVERED', async () => {
    const { userId, messageId } = await sendInboxFirst({ escalation: 1500, criteria: 'viewed' });
    const opened = await s.http('POST', `/inbox/messages/${messageId}/opened`, undefined, { key: await userToken(userId) });
    expect(opened.status).toBe(204);

    const done = await eventually(
      () => s.client.messages.retrieve(messageId),
      (m) => m.status === 'DELIVERED',
      20_000,
    );
    expect(done.status).toBe('DELIVERED');
    expect(smsOf(messageId)).toEqual([]);
    expect((await historyOf(messageId)).some((e) => e.type === 'ESCALATED')).toBe(false);
  });

  it('engaged: opening is not enough, reading is', async () => {
    const notRead = await sendInboxFirst({ escalation: 1500, criteria: 'engaged' });
    await s.http('POST', `/inbox/messages/${notRead.messageId}/opened`, undefined, { key: await userToken(notRead.userId) });
    const read = await sendInboxFirst({ escalation: 1500, criteria: 'engaged' });
    expect((await s.http('POST', `/inbox/messages/${read.messageId}/read`, undefined, { key: await userToken(read.userId) })).status).toBe(204);

    await eventually(
      async () => smsOf(notRead.messageId),
      (sms) => sms.length === 1,
      20_000,
    );
    await eventually(
      () => s.client.messages.retrieve(read.messageId),
      (m) => m.status === 'DELIVERED',
      20_000,
    );
    expect(smsOf(read.messageId)).toEqual([]);
  });

  it('delivered: an SMS only reported sent escalates to the inbox; a confirmed inbox delivery never escalates', async () => {
    const userId = await aUser(s, { phone_number: '+15550003333' }, 'esc');
    const { messages } = await sendAndWait(
      s,
      { to: { user_id: userId }, content: { body: 'Pay now' }, routing: via('sms', 'inbox'), timeout: { escalation: 1000 } },
      1,
      20_000,
    );
    const [m] = messages;
    expect(m.status).toBe('DELIVERED');
    expect(smsOf(m.id)).toHaveLength(1);
    const history = await historyOf(m.id);
    expect(history.find((e) => e.type === 'ESCALATED')).toMatchObject({ channel: 'sms', criteria: 'delivered' });
    expect(history.some((e) => e.type === 'DELIVERED' && e.channel === 'inbox')).toBe(true);

    // Inbox first: delivered on the spot, which meets `delivered`: no watch, no SMS.
    const first = await sendAndWait(s, { to: { user_id: userId }, content: { body: 'Hi' }, routing: via('inbox', 'sms'), timeout: { escalation: 1000 } }, 1);
    expect(first.messages[0].status).toBe('DELIVERED');
    expect(smsOf(first.messages[0].id)).toEqual([]);
    expect((await historyOf(first.messages[0].id)).some((e) => e.type === 'ESCALATION_WATCH')).toBe(false);
  });

  it('no-escalation, and a last channel with nothing to escalate to, end at once', async () => {
    const userId = await aUser(s, { phone_number: '+15550004444' }, 'esc');
    for (const [routing, timeout] of [
      [via('sms', 'inbox'), { escalation: 60_000, criteria: 'no-escalation' }],
      [via('sms'), { escalation: 60_000, criteria: 'viewed' }],
    ] as const) {
      const { messages } = await sendAndWait(s, { to: { user_id: userId }, content: { body: 'x' }, routing, timeout }, 1, 10_000);
      expect(messages[0].status).toBe('SENT');
      expect((await historyOf(messages[0].id)).some((e) => e.type === 'ESCALATION_WATCH')).toBe(false);
    }
  });

  it('refuses criteria without an escalation time, timeout.channel keys that are not channels, and unknown channel or provider settings, naming the field', async () => {
    for (const [timeout, field] of [
      [{ criteria: 'viewed' }, 'body.message.timeout.criteria'],
      [{ channel: { fax: 1000 } }, 'body.message.timeout.channel'],
    ] as const) {
      const res = await s.http('POST', '/send', { message: { to: { user_id: 'u' }, content: { body: 'x' }, timeout } });
      expect({ status: res.status, message: res.json.message }).toEqual({ status: 400, message: expect.stringContaining(field) });
    }
    // A channel's or provider's settings are Courier's keys only: another is refused, not dropped.
    for (const [extra, field] of [
      [{ channels: { email: { timeout: { channel: 5 } } } }, 'body.message.channels.email'],
      [{ providers: { smtp: { timeout: 5 } } }, 'body.message.providers.smtp'],
    ] as const) {
      const res = await s.http('POST', '/send', { message: { to: { user_id: 'u' }, content: { body: 'x' }, ...extra } });
      expect({ status: res.status, message: res.json.message }).toEqual({ status: 400, message: expect.stringContaining(field) });
    }
  });
});

describe('channel timeouts', () => {
  it('a channel failing transiently past its timeout gives way to the next channel', async () => {
    const hook = await startWebhookServer({ failFirst: 100, failStatus: 503 });
    try {
      const userId = await aUser(s, { webhook: { url: hook.url }, phone_number: '+15550005555' }, 'chto');
      const { messages } = await sendAndWait(
        s,
        { to: { user_id: userId }, content: { body: 'Failing over' }, routing: via('webhook', 'sms'), channels: { webhook: { timeouts: { channel: 1500 } } } },
        1,
        30_000,
      );
      const [m] = messages;
      expect(m.status).toBe('SENT');
      expect(smsOf(m.id)).toHaveLength(1);
      const calls = await hook.callsFor(m.id);
      expect(calls.length).toBeGreaterThanOrEqual(1);
      const history = await historyOf(m.id);
      expect(history.find((e) => e.type === 'UNDELIVERABLE' && e.channel === 'webhook')).toBeDefined();
      expect(JSON.stringify(history)).toContain('channel timeout: webhook not delivered within 1500 ms');
    } finally {
      await hook.close();
    }
  });
});
