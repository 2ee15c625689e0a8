import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { startTestStack, type TestStack } from '../helpers/stack';

/**
 * quiesce() is what tests assert absence after, so it must not call a stack quiet while a job is
 * waiting, delayed or being worked on. No worker runs here: the test holds the jobs itself.
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({ concurrency: { fanout: 0, delivery: 0 } });
});
afterAll(() => s?.stop());

it('is not quiet while a work queue holds a delayed, a visible or an in-flight message, and is once it is empty', async () => {
  await s.quiesce(5_000);
  const url = s.queues.delivery.url;
  await s.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{}', DelaySeconds: 1 }));
  await expect(s.quiesce(300)).rejects.toThrow(/not quiet.*"delivery":\[0,0,1\]/);

  let received: string | undefined;
  while (!received) {
    const { Messages = [] } = await s.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 2, VisibilityTimeout: 60 }));
    received = Messages[0]?.ReceiptHandle;
  }
  await expect(s.quiesce(300)).rejects.toThrow(/not quiet.*"delivery":\[0,1,0\]/);

  await s.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: received }));
  await s.quiesce(5_000);

  await s.sqs.send(new SendMessageCommand({ QueueUrl: s.queues.fanout.url, MessageBody: '{}' }));
  await expect(s.quiesce(300)).rejects.toThrow(/not quiet.*"fanout":\[1,0,0\]/);
  const { Messages = [] } = await s.sqs.send(new ReceiveMessageCommand({ QueueUrl: s.queues.fanout.url, WaitTimeSeconds: 2 }));
  await s.sqs.send(new DeleteMessageCommand({ QueueUrl: s.queues.fanout.url, ReceiptHandle: Messages[0].ReceiptHandle }));
  await s.quiesce(5_000);
});
