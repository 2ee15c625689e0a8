import { z } from 'zod';
import { logger } from '../shared/logger';
import { sqsWorker } from '../shared/worker';

/** Placeholder until the send pipeline lands: validates and logs fan-out jobs. */
const job = z.object({ type: z.string() }).loose();

export const handler = sqsWorker(job, async (j, record) => {
  logger.info('fan-out job received', { type: j.type, messageId: record.messageId });
});
