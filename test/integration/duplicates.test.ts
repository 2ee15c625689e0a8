import { startTestStack, type TestStack } from '../helpers/stack';
import { messagesOf } from '../helpers/send';
import { uid } from '../helpers/wait';
import { startWebhookServer } from '../helpers/webhook-server';
import { aList, someUsers, via, webhookProfile } from '../helpers/builders';

/**
 * SQS delivers at least once. Here every batch of every queue (fan-out and delivery) is handed to
 * two concurrent invocations, and still no provider is called twice for one message.
 */
let s: TestStack;
let hook: Awaited<ReturnType<typeof startWebhookServer>>;
beforeAll(async () => {
  hook = await startWebhookServer();
  s = await startTestStack({ duplicateDeliveries: true });
});
afterAll(async () => {
  await s?.stop();
  await hook?.close();
});

it('calls the provider exactly once per message when every SQS record is delivered twice', async () => {
  const users = await someUsers(s, 60, () => webhookProfile(hook.url), 'dup');
  const list = await aList(s, users.slice(0, 50), 'dup.list');
  const routing = via('webhook');
  const traces = [uid('t'), uid('t'), uid('t')];
  await s.client.send.message({ message: { to: { list_id: list }, content: { body: 'list' }, routing, metadata: { trace_id: traces[0] } } as never });
  await s.client.send.message({
    message: { to: users.slice(40).map((user_id) => ({ user_id })), content: { body: 'array' }, routing, metadata: { trace_id: traces[1] } } as never,
  });
  await s.client.send.message({ message: { to: { user_id: users[0] }, content: { body: 'single' }, routing, metadata: { trace_id: traces[2] } } as never });

  await Promise.all([messagesOf(s, traces[0], 50), messagesOf(s, traces[1], 20), messagesOf(s, traces[2], 1)]);
  // Every twin invocation has finished: no late second call can come after the count below.
  await s.quiesce();
  const messages = [...(await messagesOf(s, traces[0], 50)), ...(await messagesOf(s, traces[1], 20)), ...(await messagesOf(s, traces[2], 1))];
  const calls = await hook.calls();
  expect(messages).toHaveLength(71);
  expect(messages.every((m) => m.status === 'DELIVERED')).toBe(true);
  const perMessage = new Map<string, number>();
  for (const c of calls) perMessage.set(c.messageId, (perMessage.get(c.messageId) ?? 0) + 1);
  expect(perMessage.size).toBe(71);
  expect([...perMessage.values()].filter((n) => n !== 1)).toEqual([]);
  process.stdout.write(
    `fault suite: every record twice: ${JSON.stringify({ messages: messages.length, providerCalls: calls.length, invocations: s.workerStats() })}\n`,
  );
});
