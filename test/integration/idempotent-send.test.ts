import { startFaultProxy } from '../helpers/fault-proxy';
import { messagesOf } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually, uid } from '../helpers/wait';

/**
 * An Idempotency-Key must make a send happen once even when the first attempt failed after its
 * request was stored: the functions' SQS calls go through a proxy that fails on demand (as a
 * transient SQS error does), and the sweeper runs with a short grace, as it would after 5 minutes.
 */
let s: TestStack;
let proxy: Awaited<ReturnType<typeof startFaultProxy>>;
const SEND_BATCH = 'AmazonSQS.SendMessageBatch';

beforeAll(async () => {
  proxy = await startFaultProxy(process.env.TEST_SQS_ENDPOINT!);
  s = await startTestStack({ env: { SQS_ENDPOINT: proxy.url, SWEEP_GRACE_MS: '500' }, scheduleEveryMs: 0 });
});
afterAll(async () => {
  await s?.stop();
  await proxy?.close();
});

/** Runs the sweeper until `trace` has `count` terminal messages. */
const sweepUntil = (trace: string, count: number) =>
  eventually(
    async () => {
      await s.runScheduled();
      return messagesOf(s, trace, 0, 1000).catch(() => []);
    },
    (m) => m.length >= count,
    30_000,
  );

describe('POST /send with an Idempotency-Key when the enqueue fails', () => {
  it.each([
    [
      'a single recipient',
      (trace: string) => ({
        to: { user_id: uid('once') },
        content: { title: 't', body: 'b' },
        routing: { method: 'single', channels: ['inbox'] },
        metadata: { trace_id: trace },
      }),
    ],
    [
      'a list of two',
      (trace: string) => ({
        to: [{ user_id: uid('a') }, { user_id: uid('b') }],
        content: { title: 't', body: 'b' },
        routing: { method: 'single', channels: ['inbox'] },
        metadata: { trace_id: trace },
      }),
    ],
  ])('%s: the retry answers the same request, and it is delivered once', async (_name, message) => {
    const trace = uid('trace');
    const key = uid('key');
    const body = { message: message(trace) };
    // Every attempt of the SDK's own retries fails: the enqueue throws.
    proxy.fail(SEND_BATCH, 3);
    const first = await s.http('POST', '/send', body, { headers: { 'Idempotency-Key': key } });
    const retry = await s.http('POST', '/send', body, { headers: { 'Idempotency-Key': key } });
    expect([first.status, retry.status]).toEqual([202, 202]);
    expect(retry.json.requestId).toBe(first.json.requestId);
    const count = Array.isArray(body.message.to) ? body.message.to.length : 1;
    const messages = await sweepUntil(trace, count);
    await s.runScheduled();
    const all = await messagesOf(s, trace, count);
    expect({ messages: all.length, requests: new Set(all.map((m) => m.id.split('.')[0])).size, statuses: [...new Set(all.map((m) => m.status))] }).toEqual({
      messages: count,
      requests: 1,
      statuses: ['DELIVERED'],
    });
    expect(messages.length).toBe(count);
  });
});
