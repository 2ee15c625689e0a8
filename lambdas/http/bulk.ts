import { z } from 'zod';
import { bulkMessageId, bulkMessageSchema, bulkRecipient, bulkSendMessage, bulkUserSchema, MAX_USERS_PER_CALL, type BulkUserStatus } from '../domain/bulk';
import { newRequestId, requestIdFor } from '../domain/send';
import { apiHandler } from '../shared/api';
import { ConflictError, NotFoundError } from '../shared/errors';
import { idempotentOperation, markSideEffect } from '../shared/idempotency';
import { enqueueFanout } from '../shared/jobs';
import { logger } from '../shared/logger';
import { noContent, ok, route } from '../shared/router';
import { appendUsers, createJob, getJob, listJobUsers, startJob, unstartJob, type BulkJob, type ChangeResult } from '../store/bulk';
import { createRequest } from '../store/messages';
import { CLASSIC_PAGE_SIZE, classicPage, cursorQuery } from './paging';
import { now } from '../shared/clock';

async function mustGet(jobId: string): Promise<BulkJob> {
  const job = await getJob(jobId);
  if (!job) throw new NotFoundError(`Bulk job ${jobId} not found`);
  return job;
}

/** 404 for an unknown job, 409 (not retryable) for a job that is no longer CREATED. */
function refuse(jobId: string, result: ChangeResult, what: string): void {
  if (result === 'missing') throw new NotFoundError(`Bulk job ${jobId} not found`);
  if (result === 'not-created') throw new ConflictError(`Bulk job ${jobId} has already been run; ${what}`);
}

export const routes = [
  route({
    method: 'POST',
    path: '/bulk',
    body: z.strictObject({ message: bulkMessageSchema }),
    handler: async ({ body }) => {
      const jobId = newRequestId(now());
      await createJob(jobId, body.message);
      return ok({ jobId });
    },
  }),
  route({
    method: 'POST',
    path: '/bulk/:job_id',
    body: z.strictObject({ users: z.array(bulkUserSchema).min(1, 'must hold at least one user').max(MAX_USERS_PER_CALL) }),
    handler: async ({ params, body }) => {
      refuse(params.job_id, await appendUsers(params.job_id, body.users), 'users can only be added to a job that has not run');
      return noContent();
    },
  }),
  route({
    method: 'POST',
    path: '/bulk/:job_id/run',
    handler: async ({ params, event }) => {
      const job = await mustGet(params.job_id);
      // Named after the Idempotency-Key's operation when there is one: a retry finds its own run.
      const op = idempotentOperation(event);
      const requestId = op ? requestIdFor(op.created, op.scope) : newRequestId(now());
      markSideEffect(event);
      const started = await startJob(job.jobId, requestId);
      const rerun = started === 'not-created' && job.requestId === requestId;
      if (!rerun) refuse(job.jobId, started, 'a job runs once');
      try {
        await createRequest({ requestId, message: bulkSendMessage(job.definition), enqueued: op?.created ?? now(), single: false, bulkJobId: job.jobId });
      } catch (e) {
        // Nothing is stored: back to CREATED, so running the job again is possible.
        if (!rerun) {
          await unstartJob(job.jobId, requestId).catch((undo: unknown) =>
            // Left PROCESSING with no request: said where an operator looks, as the run's own error goes back to the caller.
            logger.error('a failed bulk run could not be set back to CREATED; the job stays PROCESSING', { jobId: job.jobId, requestId, error: undo as Error }),
          );
        }
        throw e;
      }
      try {
        await enqueueFanout([{ type: 'send', requestId }]);
      } catch (e) {
        // The run's request is stored with its open marker: the sweeper starts it. A 500 here would
        // only invite a second run.
        logger.warn('could not enqueue a stored bulk run; the sweeper will drive it', { requestId, error: e as Error });
      }
      return noContent();
    },
  }),
  route({
    method: 'GET',
    path: '/bulk/:job_id',
    handler: async ({ params }) => {
      const job = await mustGet(params.job_id);
      return ok({ job: { definition: job.definition, enqueued: job.enqueued, failures: job.failures, received: job.received, status: job.status } });
    },
  }),
  route({
    method: 'GET',
    path: '/bulk/:job_id/users',
    query: cursorQuery,
    handler: async ({ params, query }) => {
      const job = await mustGet(params.job_id);
      const page = await listJobUsers(job.jobId, CLASSIC_PAGE_SIZE, query.cursor);
      const items = page.items.map((user) => {
        if (!job.requestId) return { ...user, status: 'PENDING' as BulkUserStatus };
        // A run's message ids are deterministic: no per-user write is needed to report them.
        const r = bulkRecipient(user);
        return r
          ? { ...user, status: 'ENQUEUED' as BulkUserStatus, messageId: bulkMessageId(job.requestId, r) }
          : { ...user, status: 'ERROR' as BulkUserStatus };
      });
      return ok(classicPage('items', items, page.cursor));
    },
  }),
];

export const handler = apiHandler(routes);
