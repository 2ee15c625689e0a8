import { QUEUES } from '../../lambdas/shared/topology';
import { messagesOf } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/**
 * The deployed event sources cap each worker's concurrency (maxConcurrency, from the topology):
 * one big send cannot take every Lambda in the account. The local pollers honour the same cap, so
 * tests see the limit the deployed stack has, even when asked for more.
 */
let s: TestStack;
beforeAll(async () => {
  // Single sends through the delivery queue (SEND_INLINE_MS 0), not delivered by the send function (D14).
  s = await startTestStack({ concurrency: { fanout: 50, delivery: 50 }, env: { SEND_INLINE_MS: '0' } });
});
afterAll(() => s?.stop());

it('never runs more delivery batches at once than the event source allows', async () => {
  const trace = uid('trace');
  const sends = Array.from({ length: 150 }, () =>
    s.client.send.message({
      message: {
        to: { user_id: uid('c') },
        content: { title: 't', body: 'b' },
        routing: { method: 'single', channels: ['inbox'] },
        metadata: { trace_id: trace },
      } as never,
    }),
  );
  await Promise.all(sends);
  await messagesOf(s, trace, 150, 60_000);
  const stats = s.workerStats();
  expect(stats.delivery.peakConcurrency).toBeGreaterThan(1);
  expect(stats.delivery.peakConcurrency).toBeLessThanOrEqual(QUEUES.delivery.maxConcurrency);
  expect(stats.fanout.peakConcurrency).toBeLessThanOrEqual(QUEUES.fanout.maxConcurrency);
});
