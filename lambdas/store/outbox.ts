import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { now } from '../shared/clock';
import { config } from '../shared/config';
import { deliveryRecipient, fanoutState, type DeliveryRecipient, type FanoutState } from '../shared/jobs';
import { conditional } from './conditional';
import { requestKeys } from './keys';
import { documentOf, recordDocument, ttlFor } from './messages';
import { getItem, parseStored, TABLE } from './table';

/** One flush of a fan-out: its delivery jobs (recipients with their message ids) and the fan-out's state after them. */
export interface Outbox {
  jobs: DeliveryRecipient[][];
  next: FanoutState;
}

const outboxSchema: z.ZodType<Outbox> = z.object({ jobs: z.array(z.array(deliveryRecipient)), next: fanoutState });

/**
 * Writes a fan-out's outbox `emittedBefore` unless it exists: undefined when written, else the
 * outbox stored there (an earlier run of the same invocation wrote it), which the caller sends
 * instead of its own. Compressed: an outbox of 250 recipients is a few KB.
 */
export async function putOutbox(requestId: string, emittedBefore: number, outbox: Outbox): Promise<Outbox | undefined> {
  const key = requestKeys.outbox(requestId, emittedBefore);
  const item = { ...key, _t: 'Outbox', ...recordDocument(JSON.stringify(outbox), 0), ...ttlFor(config.MESSAGE_RETENTION_DAYS, now()) };
  if (await conditional(new PutCommand({ TableName: TABLE, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }))) return undefined;
  const stored = await getItem(key);
  if (!stored) throw new Error(`outbox ${key.pk} / ${key.sk} was refused as existing and is not there`);
  return parseStored(documentOf(stored), outboxSchema, `${key.pk} / ${key.sk}`);
}
