import { ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { startTestStack, type TestStack } from '../helpers/stack';
import { messagesOf } from '../helpers/send';
import { getRequest } from '../helpers/requests';
import { eventually, uid } from '../helpers/wait';
import { aListOf, sendToList } from '../helpers/builders';

/**
 * Issue 11, item 4: exactly one fan-out chain advances a request. Under a queue backlog the
 * sweeper sees a fan-out without progress and starts another chain; the first chain's job, when
 * it finally runs (here: at the same time as the new one), must stop without emitting anything.
 * The fan-out queue has no poller in this file: the test plays the backlog by receiving the jobs
 * itself and handing them to the fan-out worker, as Lambda's event source would.
 */
let s: TestStack;
const deliveries: { requestId: string; users: string[] }[] = [];
beforeAll(async () => {
  s = await startTestStack({ scheduleEveryMs: 0, concurrency: { fanout: 0 } });
  const { sqs } = require('../../lambdas/shared/aws') as typeof import('../../lambdas/shared/aws');
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { QueueUrl?: string; Entries?: { MessageBody?: string }[] };
      if (context.commandName === 'SendMessageBatchCommand' && input.QueueUrl === s.queues.delivery.url) {
        for (const e of input.Entries ?? []) {
          const job = JSON.parse(e.MessageBody ?? '{}') as { requestId: string; recipients: { userId?: string }[] };
          deliveries.push({ requestId: job.requestId, users: job.recipients.map((r) => r.userId ?? '') });
        }
      }
      return next(args);
    },
    { step: 'initialize', name: 'deliveryJobs' },
  );
});
afterAll(() => s?.stop());

/** Every job now on the fan-out queue (received, so invisible to anyone else for a minute). */
async function takeFanoutJobs(): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const out = await s.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: s.queues.fanout.url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 60,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (!out.Messages?.length) return all;
    all.push(...out.Messages);
  }
}

/** One invocation of the fan-out worker with these messages as its batch, as the event source makes it. */
async function invokeFanout(messages: Message[]): Promise<void> {
  const { handler } = require('../../lambdas/workers/fanout') as typeof import('../../lambdas/workers/fanout');
  const { asFunction } = require('../../lambdas/local/aws-calls') as typeof import('../../lambdas/local/aws-calls');
  const { lambdaContext, toRecord } = require('../../lambdas/local/poller') as typeof import('../../lambdas/local/poller');
  const event: SQSEvent = { Records: messages.map((m) => toRecord(m, s.queues.fanout.arn, 'us-east-1')) };
  const out = await asFunction('Worker-fanout', handler)(event, lambdaContext('Worker-fanout', 60));
  expect(out.batchItemFailures).toEqual([]);
}

const typeOf = (m: Message) => (JSON.parse(m.Body ?? '{}') as { type: string }).type;

describe('a fan-out the sweeper restarts under a backlog', () => {
  it('is advanced by one chain only: the backlogged job stops without emitting', async () => {
    const list = uid('lease.list');
    const users = Array.from({ length: 60 }, (_, i) => `${list}-u${i}`);
    await aListOf(s, list, users);
    const trace = uid('trace');
    const requestId = await sendToList(s, list, trace);
    // The send's job waits in the backlog; long past the grace period the sweeper checks the request.
    const [backlogged] = await takeFanoutJobs();
    expect(typeOf(backlogged)).toBe('send');
    const { advanceClock } = require('../../lambdas/shared/clock') as typeof import('../../lambdas/shared/clock');
    advanceClock(10 * 60_000);
    await s.runScheduled();
    const checks = await takeFanoutJobs();
    expect(checks.map(typeOf)).toEqual(['check-request']);
    await invokeFanout(checks);
    const restarted = await takeFanoutJobs();
    expect(restarted.map(typeOf)).toEqual(['send']);

    // Both chains' jobs run at once, as two workers would take them.
    await invokeFanout([backlogged, ...restarted]);
    await eventually(takeFanoutJobs, (jobs) => jobs.length === 0);

    const mine = deliveries.filter((d) => d.requestId === requestId).flatMap((d) => d.users);
    expect(mine.sort()).toEqual([...users].sort());
    expect((await getRequest(requestId))!.fanout).toMatchObject({ done: true, emitted: users.length });
    const messages = await messagesOf(s, trace, users.length);
    expect(messages.map((m) => m.status)).toEqual(users.map(() => 'DELIVERED'));
  }, 60_000);
});
