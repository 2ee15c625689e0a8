import { randomUUID } from 'node:crypto';
import type { TestStack } from '../helpers/stack';
import { messagesOf, sendAndWait } from '../helpers/send';
import { eventually, uid } from '../helpers/wait';
import { startWebhookServer } from '../helpers/webhook-server';
import { aList, aUser, someUsers, via, webhookProfile } from '../helpers/builders';

/**
 * Durability (issue 5): the queues of the local emulator live in memory, so a restart loses every
 * queued job. Delays past SQS's 15 minutes, a send interrupted mid-way and cancellations must
 * survive it through the table and the sweeper, and deliver once. The clock is moved forward
 * instead of waiting 20 minutes.
 */
const tableName = `durable-${randomUUID().slice(0, 8)}`;
const start = async (): Promise<TestStack> =>
  (require('../helpers/stack') as typeof import('../helpers/stack')).startTestStack({
    tableName,
    queuePrefix: `q-${randomUUID().slice(0, 8)}`,
    scheduleEveryMs: 0,
  });

let s: TestStack;
let hook: Awaited<ReturnType<typeof startWebhookServer>>;
beforeAll(async () => {
  hook = await startWebhookServer();
  s = await start();
});
afterAll(async () => {
  await s?.stop();
  await hook?.close();
});

const viaWebhook = { content: { body: 'hi' }, routing: via('webhook') };

describe('across a restart of the local stack', () => {
  it('delivers a 20-minute delay once, never a cancelled one, and completes an interrupted send once', async () => {
    const users = await someUsers(s, 40, () => webhookProfile(hook.url), 'd');
    const list = await aList(s, users, 'durable.list');
    const delay = { duration: 20 * 60_000 };

    const delayed = await s.client.send.message({ message: { ...viaWebhook, to: { user_id: users[0] }, delay } as never });
    const cancelled = await s.client.send.message({ message: { ...viaWebhook, to: { user_id: users[1] }, delay } as never });
    const delayedFanout = uid('trace');
    await s.client.send.message({
      message: { ...viaWebhook, to: [{ user_id: users[2] }, { user_id: users[3] }], delay, metadata: { trace_id: delayedFanout } } as never,
    });
    expect((await s.client.messages.retrieve(delayed.requestId)).status).toBe('DELAYED');
    expect((await s.client.messages.cancel(cancelled.requestId)).status).toBe('CANCELED');
    const interrupted = uid('trace');
    await s.client.send.message({ message: { ...viaWebhook, to: { list_id: list }, metadata: { trace_id: interrupted } } as never });

    // Restart: every queued job (the delay hops, the list's fan-out) is lost with the old queues.
    await s.stop();
    jest.resetModules();
    s = await start();
    (require('../../lambdas/shared/clock') as typeof import('../../lambdas/shared/clock')).advanceClock(27 * 60_000);

    // The sweeper finds the open requests past due and re-drives them.
    await s.runScheduled();
    const all = await messagesOf(s, interrupted, 40, 60_000);
    expect(all.every((m) => m.status === 'DELIVERED')).toBe(true);
    await messagesOf(s, delayedFanout, 2, 60_000);
    await eventually(
      () => s.client.messages.retrieve(delayed.requestId),
      (m) => m.status === 'DELIVERED',
      60_000,
    );
    expect((await s.client.messages.retrieve(cancelled.requestId)).status).toBe('CANCELED');

    const calls = await hook.calls();
    const byMessage = new Map<string, number>();
    for (const c of calls) byMessage.set(c.messageId, (byMessage.get(c.messageId) ?? 0) + 1);
    expect(byMessage.get(cancelled.requestId)).toBeUndefined();
    expect(byMessage.get(delayed.requestId)).toBe(1);
    expect([...byMessage.values()].every((n) => n === 1)).toBe(true);
    expect(byMessage.size).toBe(40 + 1 + 2);

    // Once everything is terminal, a later sweep (one grace period on) closes every open request.
    await eventually(
      async () => {
        (require('../../lambdas/shared/clock') as typeof import('../../lambdas/shared/clock')).advanceClock(6 * 60_000);
        await s.runScheduled();
        await s.quiesce();
        const { openRequestsDue } = require('../../lambdas/store/messages') as typeof import('../../lambdas/store/messages');
        const { now } = require('../../lambdas/shared/clock') as typeof import('../../lambdas/shared/clock');
        const { OPEN_SHARDS } = require('../../lambdas/store/keys') as typeof import('../../lambdas/store/keys');
        return (await Promise.all(Array.from({ length: OPEN_SHARDS }, (_, shard) => openRequestsDue(shard, now() + 3600_000, 100)))).flat().length;
      },
      (open) => open === 0,
      60_000,
    );
  });
});

describe('expiry and cancellation', () => {
  it('drops a message not delivered before it expires', async () => {
    const u = await aUser(s, webhookProfile(hook.url), 'late');
    const { messages } = await sendAndWait(s, { ...viaWebhook, to: { user_id: u }, delay: { duration: 1500 }, expiry: { expires_in: 500 } }, 1, 30_000);
    expect(messages[0]).toMatchObject({ status: 'UNDELIVERABLE', reason: 'FAILED', error: 'expired before delivery' });
    expect(await hook.callsFor(messages[0].id)).toEqual([]);
  });

  it('answers 409 (x-should-retry: false) to a cancel of a message already sent, and 404 to an unknown one', async () => {
    const u = await aUser(s, webhookProfile(hook.url), 'sent');
    const { messages } = await sendAndWait(s, { ...viaWebhook, to: { user_id: u } }, 1);
    const res = await s.http('POST', `/messages/${messages[0].id}/cancel`);
    expect([res.status, res.headers.get('x-should-retry'), res.json.status]).toEqual([409, 'false', 'DELIVERED']);
    expect((await s.http('POST', '/messages/0000000000000000000000/cancel')).status).toBe(404);
  });
});
