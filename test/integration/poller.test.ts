import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import { startPoller } from '../../lambdas/local/poller';
import type { QueueUrls } from '../../lambdas/local/resources';
import { ensureQueues } from '../../lambdas/local/resources';
import { QUEUES } from '../../lambdas/shared/topology';
import { sqsWorker } from '../../lambdas/shared/worker';

const sqs = new SQSClient({ endpoint: process.env.TEST_SQS_ENDPOINT, region: 'us-east-1', useQueueUrlAsEndpoint: false });
afterAll(() => sqs.destroy());

const until = async (cond: () => boolean | Promise<boolean>, ms = 20_000) => {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
};

const depth = async (url: string) => {
  const out = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
};

/** A poller on `q` as the stack starts one for a worker (batches of 10, 5 s timeout, 1 s long polls). */
const pollerOn = (q: QueueUrls, handler: Parameters<typeof startPoller>[0]['handler'], o: Pick<Parameters<typeof startPoller>[0], 'concurrency' | 'onError'>) =>
  startPoller({ client: sqs, queueUrl: q.url, queueArn: q.arn, handler, functionName: 'test', batchSize: 10, timeoutSeconds: 5, waitTimeSeconds: 1, ...o });

describe('local SQS event source (poller)', () => {
  it('delivers batches, deletes successes, redelivers reported failures, and dead-letters a poison record after maxReceiveCount', async () => {
    const queues = await ensureQueues(sqs, `poll-${randomUUID().slice(0, 8)}`, { visibilityTimeoutSeconds: { fanout: 1, delivery: 1 } });
    // The fan-out queue: its poison record is dead-lettered after 5 receives a second apart (the
    // delivery queue's would take 8).
    const q = queues.fanout;
    const seen = new Map<string, number>();
    const batches: number[] = [];
    const worker = sqsWorker(z.object({ n: z.number() }), async (job) => {
      seen.set(String(job.n), (seen.get(String(job.n)) ?? 0) + 1);
      if (job.n === 3 && (seen.get('3') ?? 0) < 2) throw new Error('transient failure on the first try');
    });
    const handler = async (event: SQSEvent, ctx: Parameters<typeof worker>[1]) => {
      batches.push(event.Records.length);
      expect(event.Records[0]).toMatchObject({ eventSource: 'aws:sqs', eventSourceARN: q.arn, attributes: { ApproximateReceiveCount: expect.any(String) } });
      expect(ctx.getRemainingTimeInMillis()).toBeGreaterThan(0);
      return worker(event, ctx);
    };
    const bodies = [...Array.from({ length: 9 }, (_, n) => JSON.stringify({ n })), 'not json at all'];
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: q.url, Entries: bodies.map((b, i) => ({ Id: String(i), MessageBody: b })) }));

    const poller = pollerOn(q, handler, { concurrency: 2 });
    try {
      await until(async () => (await depth(q.dlqUrl)) === 1 && (await depth(q.url)) === 0);
    } finally {
      await poller.stop();
    }

    expect(Math.max(...batches)).toBeGreaterThan(1);
    expect([...seen.keys()].sort()).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8']);
    expect(seen.get('3')).toBe(2);
    for (const n of ['0', '1', '2', '4', '5', '6', '7', '8']) expect(seen.get(n)).toBe(1);
    const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: q.dlqUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'] }));
    expect(dead.Messages?.map((m) => m.Body)).toEqual(['not json at all']);
    expect(Number(dead.Messages?.[0].Attributes?.ApproximateReceiveCount)).toBeGreaterThanOrEqual(QUEUES.fanout.maxReceiveCount);
  });

  it('leaves the whole batch for redelivery when the handler throws', async () => {
    const queues = await ensureQueues(sqs, `poll-${randomUUID().slice(0, 8)}`, { visibilityTimeoutSeconds: { fanout: 1, delivery: 1 } });
    const q = queues.fanout;
    let calls = 0;
    const received: string[] = [];
    const handler = async (event: SQSEvent) => {
      calls += 1;
      if (calls === 1) throw new Error('crash before anything');
      received.push(...event.Records.map((r) => r.body));
      return { batchItemFailures: [] };
    };
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: q.url,
        Entries: [
          { Id: 'a', MessageBody: 'a' },
          { Id: 'b', MessageBody: 'b' },
        ],
      }),
    );
    const errors: unknown[] = [];
    const poller = pollerOn(q, handler, { concurrency: 1, onError: (e) => errors.push(e) });
    try {
      await until(async () => received.length >= 2 && (await depth(q.url)) === 0);
    } finally {
      await poller.stop();
    }
    expect(received.sort()).toEqual(['a', 'b']);
    expect(errors).toHaveLength(1);
  });
});
