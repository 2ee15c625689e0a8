import { ReceiveMessageCommand, DeleteMessageCommand } from '@aws-sdk/client-sqs';
import { startTestStack, type TestStack } from '../helpers/stack';
import { messagesOf } from '../helpers/send';
import { getRequest } from '../helpers/requests';
import { uid } from '../helpers/wait';
import { aListOf, sendToList } from '../helpers/builders';

/**
 * Issue 13: a fan-out writes each flush's delivery jobs to the request's outbox before it sends
 * them, and a message id names its slot in a job (docs/decisions.md D12). A fan-out invocation that
 * dies half-way runs again from the state saved before it; if the list changed meanwhile, its pages
 * hold other recipients than the first run's, and the replay must still send each recipient once,
 * under the id the first run gave it. The fan-out queue has no poller here: the test hands the
 * send job to the worker itself, and makes the delivery queue refuse the first run's second flush.
 */
let s: TestStack;
let refuseDeliveryBatch = -1;
let deliveryBatches = 0;
beforeAll(async () => {
  s = await startTestStack({ scheduleEveryMs: 0, concurrency: { fanout: 0 } });
  const { sqs } = require('../../lambdas/shared/aws') as typeof import('../../lambdas/shared/aws');
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { QueueUrl?: string };
      if (context.commandName === 'SendMessageBatchCommand' && input.QueueUrl === s.queues.delivery.url && deliveryBatches++ === refuseDeliveryBatch)
        throw new Error('the delivery queue refused the batch (test)');
      return next(args);
    },
    { step: 'initialize', name: 'refuseDelivery' },
  );
});
afterAll(() => s?.stop());

async function takeSendJob(): Promise<{ requestId: string; seq?: number }> {
  for (;;) {
    const out = await s.sqs.send(new ReceiveMessageCommand({ QueueUrl: s.queues.fanout.url, MaxNumberOfMessages: 1, WaitTimeSeconds: 1 }));
    const [m] = out.Messages ?? [];
    if (!m) continue;
    await s.sqs.send(new DeleteMessageCommand({ QueueUrl: s.queues.fanout.url, ReceiptHandle: m.ReceiptHandle }));
    const job = JSON.parse(m.Body ?? '{}') as { type: string; requestId: string; seq?: number };
    if (job.type === 'send') return job;
  }
}

describe('a fan-out replayed after its list changed', () => {
  it('sends every recipient of the first run once, under the id the first run gave it', async () => {
    const { expandSend } = require('../../lambdas/workers/fanout-send') as typeof import('../../lambdas/workers/fanout-send');
    const { lambdaContext } = require('../../lambdas/local/poller') as typeof import('../../lambdas/local/poller');
    const list = uid('outbox.list');
    const user = (i: number) => `${list}-u${String(i).padStart(3, '0')}`;
    const first = Array.from({ length: 300 }, (_, i) => user(i));
    await aListOf(s, list, first);
    const trace = uid('trace');
    await sendToList(s, list, trace);
    const job = { type: 'send' as const, ...(await takeSendJob()) };

    // The first run sends its first flush (users 0-249) and dies sending the second (250-299).
    refuseDeliveryBatch = deliveryBatches + 1;
    await expect(expandSend(job, lambdaContext('Worker-fanout', 60))).rejects.toThrow('refused the batch');
    // Meanwhile five users of the first page leave the list and ten new ones sort among them: the
    // replay's first page ends five users earlier, so without the outbox users 245-249 would be in
    // its second flush again, under new ids.
    for (let i = 0; i < 5; i++) await s.client.lists.subscriptions.unsubscribeUser(user(i), { list_id: list });
    const added = Array.from({ length: 10 }, (_, i) => `${user(10 * i + 10)}b`);
    await aListOf(s, list, added);

    await expandSend(job, lambdaContext('Worker-fanout', 60));
    const messages = await messagesOf(s, trace, first.length);
    const byUser = new Map<string, string[]>();
    for (const m of messages) byUser.set(m.recipient, [...(byUser.get(m.recipient) ?? []), m.id]);
    expect({ users: [...byUser.keys()].sort(), twice: [...byUser.values()].filter((ids) => ids.length > 1) }).toEqual({ users: first, twice: [] });
    expect(messages.map((m) => m.status)).toEqual(first.map(() => 'DELIVERED'));
    // Slot ids, in the order the first run read the list: user 260 is job 0 of the outbox at 250, slot 10.
    expect(byUser.get(user(260))).toEqual([`${job.requestId}.6y.0.a`]);
    expect((await getRequest(job.requestId))!.fanout).toMatchObject({ done: true, emitted: first.length });
  }, 90_000);
});
