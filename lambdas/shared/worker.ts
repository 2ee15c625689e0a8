import middy from '@middy/core';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { ZodType } from 'zod';
import { logger } from './logger';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/**
 * An SQS worker: each record is parsed and validated on its own and handled in parallel with its
 * batch neighbours; failures are reported per record (ReportBatchItemFailures), so one bad record
 * is retried, and finally dead-lettered, alone.
 */
export function sqsWorker<T>(schema: ZodType<T>, handle: (job: T, record: SQSRecord, context: Context) => Promise<void>): SqsHandler {
  const processor = new BatchProcessor(EventType.SQS);
  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(logger))
    .handler(async (event, context) => {
      const recordHandler = async (record: SQSRecord) => {
        // A record that can never be processed fails until SQS moves it to the dead-letter queue.
        let body: unknown;
        try {
          body = JSON.parse(record.body);
        } catch {
          logger.error('record body is not JSON', { messageId: record.messageId });
          throw new Error(`record ${record.messageId} is not JSON`);
        }
        const job = schema.safeParse(body);
        if (!job.success) {
          logger.error('record is not a valid job', { messageId: record.messageId, issues: job.error.issues.slice(0, 3) });
          throw new Error(`record ${record.messageId} is not a valid job`);
        }
        try {
          await handle(job.data, record, context);
        } catch (e) {
          logger.warn('record failed; SQS will redeliver it', { messageId: record.messageId, error: e as Error });
          throw e;
        }
      };
      return processPartialResponse(event, recordHandler, processor, { context, throwOnFullBatchFailure: false });
    }) as unknown as SqsHandler;
}
