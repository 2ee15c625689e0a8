import { z } from 'zod';
import { logger } from '../shared/logger';
import { sqsWorker } from '../shared/worker';

/** Placeholder until the send pipeline lands: validates and logs delivery jobs. */
const job = z.object({ type: z.string() }).loose();

export const handler = sqsWorker(job, async (j, record) => {
  logger.info('delivery job received', { type: j.type, messageId: record.messageId });
});
