import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { ddb } from '../shared/aws';
import { config } from '../shared/config';
import { ValidationError } from '../shared/errors';
import { GSI1, type Key } from './keys';

export const TABLE = config.TABLE_NAME;

/**
 * Free-form documents (profiles, data, properties ...) are stored as JSON text in `doc`, not as
 * DynamoDB maps: JSON types survive exactly, and nesting depth, empty keys or numbers beyond
 * DynamoDB's range can never turn a valid request into a failed write.
 */
export interface StoredItem extends Key {
  doc: string;
  rev?: string;
  [attribute: string]: unknown;
}

export const isConditionFailure = (e: unknown): boolean =>
  e instanceof ConditionalCheckFailedException || (e as { name?: string })?.name === 'ConditionalCheckFailedException';

export async function getItem(key: Key, consistent = true): Promise<StoredItem | undefined> {
  const out = await ddb.send(new GetCommand({ TableName: TABLE, Key: key, ConsistentRead: consistent }));
  return out.Item as StoredItem | undefined;
}

export async function getDoc<T>(key: Key, consistent = true): Promise<T | undefined> {
  const item = await getItem(key, consistent);
  return item ? (JSON.parse(item.doc) as T) : undefined;
}

/** Writes an item; with `expectRev` the write only succeeds if nobody changed it since (optimistic). */
export async function putItem(item: StoredItem, expect?: { rev: string | undefined }): Promise<boolean> {
  try {
    await ddb.send(
      new PutCommand({
        TableName: TABLE,
        Item: item,
        ...(expect
          ? expect.rev === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: '#rev = :rev', ExpressionAttributeNames: { '#rev': 'rev' }, ExpressionAttributeValues: { ':rev': expect.rev } }
          : {}),
      }),
    );
    return true;
  } catch (e) {
    if (expect && isConditionFailure(e)) return false;
    throw e;
  }
}

/** Deletes an item; returns whether it existed. */
export async function deleteItem(key: Key): Promise<boolean> {
  const out = await ddb.send(new DeleteCommand({ TableName: TABLE, Key: key, ReturnValues: 'ALL_OLD' }));
  return out.Attributes !== undefined;
}

export const newRev = (): string => crypto.randomUUID();

/**
 * Opaque page cursors: the LastEvaluatedKey, base64url-encoded. A cursor is only accepted by the
 * query whose partition produced it, so a forged or foreign cursor is a 400, never a wrong page.
 */
const cursorSchema = z.record(z.string(), z.string());

export function encodeCursor(lastKey: Record<string, unknown> | undefined): string | undefined {
  return lastKey ? Buffer.from(JSON.stringify(lastKey)).toString('base64url') : undefined;
}

export function decodeCursor(cursor: string | undefined, partition: Record<string, string>): Record<string, string> | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new ValidationError('Invalid request: query.cursor is not a valid cursor');
  }
  const key = cursorSchema.safeParse(parsed);
  const samePartition = key.success && Object.entries(partition).every(([k, v]) => key.data[k] === v);
  if (!key.success || !samePartition || typeof key.data.pk !== 'string' || typeof key.data.sk !== 'string') {
    throw new ValidationError('Invalid request: query.cursor is not a valid cursor');
  }
  return key.data;
}

export interface PageQuery {
  /** Query the table by `pk`, or gsi1 by `gsi1pk`. */
  index?: typeof GSI1;
  partition: string;
  /** Only sort keys starting with this. */
  prefix?: string;
  limit: number;
  cursor?: string;
  consistent?: boolean;
  newestFirst?: boolean;
}

export interface Page {
  items: StoredItem[];
  cursor?: string;
}

/**
 * One page of a Query. DynamoDB may return fewer than `limit` items with a LastEvaluatedKey; the
 * caller's envelope then says `more` and the next call continues from the cursor.
 */
export async function queryPage(q: PageQuery): Promise<Page> {
  const pkName = q.index ? 'gsi1pk' : 'pk';
  const skName = q.index ? 'gsi1sk' : 'sk';
  const input: QueryCommandInput = {
    TableName: TABLE,
    IndexName: q.index,
    KeyConditionExpression: q.prefix ? '#pk = :pk AND begins_with(#sk, :prefix)' : '#pk = :pk',
    ExpressionAttributeNames: { '#pk': pkName, ...(q.prefix ? { '#sk': skName } : {}) },
    ExpressionAttributeValues: { ':pk': q.partition, ...(q.prefix ? { ':prefix': q.prefix } : {}) },
    Limit: q.limit,
    ExclusiveStartKey: decodeCursor(q.cursor, { [pkName]: q.partition }),
    ConsistentRead: q.index ? undefined : q.consistent,
    ScanIndexForward: !q.newestFirst,
  };
  const out = await ddb.send(new QueryCommand(input));
  return { items: (out.Items ?? []) as StoredItem[], cursor: encodeCursor(out.LastEvaluatedKey) };
}
