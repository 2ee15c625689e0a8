import { sendAndWait } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startWebhookServer } from '../helpers/webhook-server';
import { aUser, via, webhookProfile } from '../helpers/builders';

/**
 * Issue 11, item 8, end to end: a stack started as a deployed one is (private egress off, here
 * overriding the local stack's default) refuses a profile's webhook at 127.0.0.1. The message ends
 * UNDELIVERABLE at once (a permanent failure, no retries), its history says only "private address
 * refused", and the webhook server never got a request. A host on EGRESS_ALLOW_HOSTS is reached.
 */
let s: TestStack;
let hook: Awaited<ReturnType<typeof startWebhookServer>>;
beforeAll(async () => {
  hook = await startWebhookServer();
  s = await startTestStack({ env: { ALLOW_PRIVATE_EGRESS: 'false', EGRESS_ALLOW_HOSTS: 'localhost', CACHE_TTL_MS: '0' } });
});
afterAll(async () => {
  await s?.stop();
  await hook?.close();
});

type HistoryEvent = { type: string; error?: string; transient?: boolean; provider?: string };

it('refuses a profile webhook at 127.0.0.1 when ALLOW_PRIVATE_EGRESS is false: UNDELIVERABLE, and the server got no request', async () => {
  const user = await aUser(s, webhookProfile(hook.url), 'ssrf');
  const { messages } = await sendAndWait(s, { to: { user_id: user }, content: { title: 'T', body: 'B' }, routing: via('webhook') }, 1);
  const [m] = messages;
  expect(m.status).toBe('UNDELIVERABLE');
  const history = (await s.client.messages.history(m.id)).results as unknown as HistoryEvent[];
  const errors = history.filter((e) => e.type === 'PROVIDER_ERROR');
  expect(errors).toEqual([expect.objectContaining({ provider: 'webhook', error: 'webhook: private address refused', transient: false })]);
  expect(JSON.stringify(history)).not.toContain('127.0.0.1');
  expect(await hook.calls()).toEqual([]);
});

it('reaches a host on EGRESS_ALLOW_HOSTS', async () => {
  const user = await aUser(s, webhookProfile(hook.url.replace('127.0.0.1', 'localhost')), 'allowed');
  const { messages } = await sendAndWait(s, { to: { user_id: user }, content: { title: 'T', body: 'B' }, routing: via('webhook') }, 1);
  expect(messages[0].status).toBe('DELIVERED');
  expect((await hook.calls()).map((c) => c.messageId)).toEqual([messages[0].id]);
});
