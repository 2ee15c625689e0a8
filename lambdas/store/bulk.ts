import { TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { bulkJobStatus, bulkMessageSchema, bulkUserSchema, type BulkJobStatus, type BulkMessage, type BulkUser } from '../domain/bulk';
import { newRequestId } from '../domain/send';
import { bulkKeys } from './keys';
import { conditional, retryOnConflict } from './conditional';
import { checkStored, getItem, parseDoc, putItem, queryPage, TABLE, type StoredItem } from './table';
import { now as clockNow } from '../shared/clock';

export interface BulkJob {
  jobId: string;
  definition: BulkMessage;
  status: BulkJobStatus;
  received: number;
  enqueued: number;
  failures: number;
  /** The send request of the run (set when the job starts PROCESSING). */
  requestId?: string;
  created: number;
}

/** Users written per transaction, with the job's counter update (DynamoDB allows 100 items). */
const USERS_PER_TRANSACTION = 99;

/** What a job item stores in its document: the definition POST /bulk validated, and when. */
const jobDocSchema = z.object({ definition: bulkMessageSchema.loose(), created: z.number() });

const toJob = (jobId: string, item: StoredItem): BulkJob => {
  const doc = parseDoc(item, jobDocSchema);
  return {
    jobId,
    definition: doc.definition,
    created: doc.created,
    status: checkStored(item.status, bulkJobStatus, `the status of ${item.pk} / ${item.sk}`),
    received: Number(item.received ?? 0),
    enqueued: Number(item.enqueued ?? 0),
    failures: Number(item.failures ?? 0),
    ...(typeof item.requestId === 'string' ? { requestId: item.requestId } : {}),
  };
};

export async function createJob(jobId: string, definition: BulkMessage): Promise<void> {
  const created = clockNow();
  const ok = await putItem(
    { ...bulkKeys.job(jobId), _t: 'BulkJob', doc: JSON.stringify({ definition, created }), status: 'CREATED', received: 0, enqueued: 0, failures: 0 },
    'absent',
  );
  if (!ok) throw new Error(`bulk job ${jobId} already exists`);
}

export async function getJob(jobId: string): Promise<BulkJob | undefined> {
  const item = await getItem(bulkKeys.job(jobId));
  return item ? toJob(jobId, item) : undefined;
}

export type ChangeResult = 'ok' | 'missing' | 'not-created';

/** Why a conditional change of a job failed: it does not exist, or it is no longer CREATED. */
const whyRefused = async (jobId: string): Promise<ChangeResult> => ((await getItem(bulkKeys.job(jobId))) ? 'not-created' : 'missing');

/** Waits between runs of an append that conflicted with another on the job's counter: 20 ms doubling up to 1 s, jittered. */
const appendBackoff = (attempt: number): number => Math.min(1000, 20 * 2 ** attempt) * (0.5 + Math.random());

/**
 * Appends users to a CREATED job, in insertion order. Each transaction writes up to 99 users and
 * ADDs their count to `received`, conditional on the job still being CREATED: once a run has
 * flipped the job to PROCESSING no further user can land in it, so the run's fan-out sees exactly
 * the users `received` counts. (A call of more than 99 users that races a run keeps the groups
 * written before the run and is refused for the rest.)
 */
export async function appendUsers(jobId: string, users: BulkUser[]): Promise<ChangeResult> {
  const chunkId = newRequestId(clockNow());
  for (let i = 0; i < users.length; i += USERS_PER_TRANSACTION) {
    const group = users.slice(i, i + USERS_PER_TRANSACTION);
    const input = {
      TransactItems: [
        {
          Update: {
            TableName: TABLE,
            Key: bulkKeys.job(jobId),
            UpdateExpression: 'ADD #received :n',
            ConditionExpression: '#status = :created',
            ExpressionAttributeNames: { '#received': 'received', '#status': 'status' },
            ExpressionAttributeValues: { ':n': group.length, ':created': 'CREATED' },
          },
        },
        ...group.map((user, j) => ({
          Put: { TableName: TABLE, Item: { ...bulkKeys.user(jobId, chunkId, i + j), _t: 'BulkUser', doc: JSON.stringify(user) } },
        })),
      ],
    };
    // Concurrent appends to one job conflict on its counter: retried with backoff. A failed condition: the job is no longer CREATED.
    const written = await retryOnConflict(() => conditional(new TransactWriteCommand(input)), { attempts: 9, backoffMs: appendBackoff });
    if (!written) return whyRefused(jobId);
  }
  return 'ok';
}

async function conditionalUpdate(
  jobId: string,
  input: { update: string; condition: string; names: Record<string, string>; values: Record<string, unknown> },
): Promise<ChangeResult> {
  const written = await conditional(
    new UpdateCommand({
      TableName: TABLE,
      Key: bulkKeys.job(jobId),
      UpdateExpression: input.update,
      ConditionExpression: input.condition,
      ExpressionAttributeNames: input.names,
      ExpressionAttributeValues: input.values,
    }),
  );
  return written ? 'ok' : whyRefused(jobId);
}

/** CREATED -> PROCESSING, linking the run's request; refused unless the job is CREATED. */
export const startJob = (jobId: string, requestId: string): Promise<ChangeResult> =>
  conditionalUpdate(jobId, {
    update: 'SET #status = :processing, #requestId = :requestId, #started = :now',
    condition: '#status = :created',
    names: { '#status': 'status', '#requestId': 'requestId', '#started': 'started' },
    values: { ':processing': 'PROCESSING', ':created': 'CREATED', ':requestId': requestId, ':now': clockNow() },
  });

/** Undoes startJob when the run could not be enqueued, so the caller may run the job again. */
export const unstartJob = (jobId: string, requestId: string): Promise<ChangeResult> =>
  conditionalUpdate(jobId, {
    update: 'SET #status = :created REMOVE #requestId, #started',
    condition: '#status = :processing AND #requestId = :requestId',
    names: { '#status': 'status', '#requestId': 'requestId', '#started': 'started' },
    values: { ':processing': 'PROCESSING', ':created': 'CREATED', ':requestId': requestId },
  });

/**
 * PROCESSING -> COMPLETED with the run's counters. Conditional on the run's request, so a replayed
 * last page of the fan-out writes the same values or nothing.
 */
export const completeJob = (jobId: string, requestId: string, counts: { enqueued: number; failures: number }): Promise<ChangeResult> =>
  conditionalUpdate(jobId, {
    update: 'SET #status = :completed, #enqueued = :enqueued, #failures = :failures, #completedAt = :now',
    condition: '#requestId = :requestId',
    names: { '#status': 'status', '#requestId': 'requestId', '#enqueued': 'enqueued', '#failures': 'failures', '#completedAt': 'completedAt' },
    values: { ':completed': 'COMPLETED', ':requestId': requestId, ':enqueued': counts.enqueued, ':failures': counts.failures, ':now': clockNow() },
  });

/** One page of a job's users, in insertion order. */
export async function listJobUsers(jobId: string, limit: number, cursor?: string): Promise<{ items: BulkUser[]; cursor?: string }> {
  const page = await queryPage({ partition: bulkKeys.job(jobId).pk, prefix: bulkKeys.usersPrefix, limit, cursor, consistent: true });
  return { items: page.items.map((i) => parseDoc(i, bulkUserSchema.loose())), cursor: page.cursor };
}
