import { randomUUID } from 'node:crypto';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import type { SqsHandler } from '../shared/worker';
import { wallNow } from '../shared/clock';

export interface PollerOptions {
  client: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: SqsHandler;
  functionName: string;
  batchSize: number;
  timeoutSeconds: number;
  /** Concurrent batches in flight, as Lambda scales out its SQS pollers. */
  concurrency: number;
  region?: string;
  waitTimeSeconds?: number;
  onError?: (error: unknown) => void;
  /**
   * Fault injection: hand every batch to two concurrent invocations, as SQS's at-least-once
   * delivery may (a test of exactly-once effects; never used by `npm start`).
   */
  duplicateDeliveries?: boolean;
}

/** The Lambda context a worker sees: name, request id and the time left before its timeout. */
export function lambdaContext(functionName: string, timeoutSeconds: number): Context {
  const deadline = wallNow() + timeoutSeconds * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - wallNow()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The record Lambda's SQS event source builds from a received message. */
export function toRecord(m: Message, queueArn: string, region: string): SQSRecord {
  const a = m.Attributes ?? {};
  return {
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? String(wallNow()),
      SenderId: a.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(wallNow()),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [
        k,
        {
          dataType: v.DataType ?? 'String',
          stringValue: v.StringValue,
          binaryValue: v.BinaryValue ? Buffer.from(v.BinaryValue).toString('base64') : undefined,
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/**
 * Lambda's SQS event source, locally: long-polls the queue, hands batches to the worker handler,
 * deletes the records that succeeded and leaves the reported failures (or the whole batch, if the
 * handler throws) to reappear after the visibility timeout; the queue's redrive policy moves a
 * record to its dead-letter queue after maxReceiveCount receives.
 */
/** What a poller's worker did: Lambda invocations, the records they got, and their total duration. */
export interface WorkerStats {
  invocations: number;
  records: number;
  durationMs: number;
  /** The most invocations in flight at once (never above the event source's maximum concurrency). */
  peakConcurrency: number;
}

export function startPoller(o: PollerOptions): { stop(): Promise<void>; idle(): boolean; stats(): WorkerStats } {
  const region = o.region ?? 'us-east-1';
  const abort = new AbortController();
  let running = true;
  let busy = 0;
  const stats: WorkerStats = { invocations: 0, records: 0, durationMs: 0, peakConcurrency: 0 };

  async function once(): Promise<void> {
    const out = await o.client.send(
      new ReceiveMessageCommand({
        QueueUrl: o.queueUrl,
        MaxNumberOfMessages: o.batchSize,
        WaitTimeSeconds: o.waitTimeSeconds ?? 2,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: abort.signal },
    );
    const messages = out.Messages ?? [];
    if (!messages.length) return;
    busy += 1;
    stats.peakConcurrency = Math.max(stats.peakConcurrency, busy);
    try {
      const event: SQSEvent = { Records: messages.map((m) => toRecord(m, o.queueArn, region)) };
      let failed: Set<string>;
      const t0 = wallNow();
      stats.invocations += 1;
      stats.records += messages.length;
      try {
        const invoke = () => o.handler(structuredClone(event), lambdaContext(o.functionName, o.timeoutSeconds));
        const [result, twin] = await Promise.all([invoke(), o.duplicateDeliveries ? invoke() : undefined]);
        failed = new Set([...(result?.batchItemFailures ?? []), ...(twin?.batchItemFailures ?? [])].map((f) => f.itemIdentifier));
      } catch (e) {
        o.onError?.(e);
        return; // the whole batch becomes visible again, as with a failed Lambda invocation
      } finally {
        stats.durationMs += wallNow() - t0;
      }
      const done = messages.filter((m) => !failed.has(m.MessageId!));
      if (done.length) {
        await o.client.send(
          new DeleteMessageBatchCommand({ QueueUrl: o.queueUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }),
        );
      }
    } finally {
      busy -= 1;
    }
  }

  async function loop(): Promise<void> {
    while (running) {
      try {
        await once();
      } catch (e) {
        if (!running) return;
        o.onError?.(e);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  const loops = Array.from({ length: o.concurrency }, loop);
  return {
    idle: () => busy === 0,
    stats: () => ({ ...stats }),
    async stop() {
      running = false;
      abort.abort();
      await Promise.allSettled(loops);
    },
  };
}
