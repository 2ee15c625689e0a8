import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { now as clockNow } from '../shared/clock';
import { conditional } from './conditional';
import type { Key } from './keys';
import { TABLE } from './table';

/** How long a chain's claim item is kept: far longer than any chain runs. */
const CHAIN_CLAIM_TTL_S = 7 * 86_400;

/**
 * Claims step `step` of a job chain (a job that does one page and enqueues its successor) for the
 * queue message `by`, on the chain's item `key` (of type `type`): true when no later step was
 * claimed and this step is unclaimed, or claimed by this same message (SQS delivering it again
 * after a failure). Without it a duplicate delivery of one job would run the rest of the chain
 * twice, and each duplicate after it would double it again. One conditional UpdateItem (1 WRU).
 */
export function claimChainStep(key: Key, type: string, step: number, by: string): Promise<boolean> {
  return conditional(
    new UpdateCommand({
      TableName: TABLE,
      Key: key,
      UpdateExpression: 'SET #t = :t, #step = :step, #by = :by, #ttl = :ttl',
      ConditionExpression: 'attribute_not_exists(#step) OR #step < :step OR (#step = :step AND #by = :by)',
      ExpressionAttributeNames: { '#t': '_t', '#step': 'step', '#by': 'by', '#ttl': 'ttl' },
      ExpressionAttributeValues: { ':t': type, ':step': step, ':by': by, ':ttl': Math.ceil(clockNow() / 1000) + CHAIN_CLAIM_TTL_S },
    }),
  );
}

/**
 * Whether the job carried by queue message `messageId` may do its step: it claims it when the job
 * names its chain (`chain`, `step`: see shared/jobs.ts chainFields); a job without them (enqueued
 * before they existed) or run with no message id is not claimed.
 */
export function mayRunStep(job: { chain?: string; step?: number }, key: (chain: string) => Key, type: string, messageId: string | undefined): Promise<boolean> {
  if (job.chain === undefined || messageId === undefined) return Promise.resolve(true);
  return claimChainStep(key(job.chain), type, job.step ?? 0, messageId);
}
