import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { ddb } from '../shared/aws';
import { config } from '../shared/config';
import { changed, conditional, conditionalWrite, expectation, expectedOf, newRev, retryOnConflict, withExpectation, type Expected } from './conditional';
import { GSI1, type IndexKey, type Key } from './keys';
import { now as clockNow } from '../shared/clock';
import { packCursor, unpackCursor } from '../shared/cursor';

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

export async function getItem(key: Key, consistent = true): Promise<StoredItem | undefined> {
  const out = await ddb.send(new GetCommand({ TableName: TABLE, Key: key, ConsistentRead: consistent }));
  return out.Item as StoredItem | undefined;
}

/**
 * An item's document, parsed by the schema of what is stored there: a document that does not
 * match is an error naming the item, never a value of the wrong type.
 */
export function parseDoc<T>(item: Pick<StoredItem, 'pk' | 'sk' | 'doc'>, schema: z.ZodType<T>): T {
  return parseStored(item.doc, schema, `${item.pk} / ${item.sk}`);
}

/** Stored JSON text parsed by its schema; `where` names the item in the error when it does not match. */
export function parseStored<T>(text: string, schema: z.ZodType<T>, where: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`stored document ${where} is not JSON`);
  }
  return checkStored(json, schema, where);
}

/** A stored value (an attribute) checked by its schema; `where` names it in the error when it does not match. */
export function checkStored<T>(value: unknown, schema: z.ZodType<T>, where: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`stored document ${where} does not match its schema: ${issue?.message}${issue?.path.length ? ` at ${issue.path.join('.')}` : ''}`);
  }
  return parsed.data;
}

/** Writes an item with a fresh revision; with `expected` only if the stored item is as expected (false if not). */
export async function putItem(item: StoredItem, expected?: Expected): Promise<boolean> {
  return conditional(new PutCommand({ TableName: TABLE, Item: { ...item, rev: newRev() }, ...(expected ? expectation(expected) : {}) }));
}

/** Deletes an item; returns whether it existed. */
export async function deleteItem(key: Key): Promise<boolean> {
  const out = await ddb.send(new DeleteCommand({ TableName: TABLE, Key: key, ReturnValues: 'ALL_OLD' }));
  return out.Attributes !== undefined;
}

/**
 * Opaque page cursors: the LastEvaluatedKey, base64url-encoded. A cursor is only accepted by the
 * query whose partition produced it, so a forged or foreign cursor is a 400, never a wrong page.
 */
const cursorSchema = z.record(z.string(), z.string());

export function encodeCursor(lastKey: Record<string, unknown> | undefined): string | undefined {
  return lastKey ? packCursor(lastKey) : undefined;
}

export function decodeCursor(cursor: string | undefined, partition: Record<string, string>): Record<string, string> | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const ofThisQuery = cursorSchema.refine(
    (key) => typeof key.pk === 'string' && typeof key.sk === 'string' && Object.entries(partition).every(([k, v]) => key[k] === v),
    'a cursor of another query',
  );
  return unpackCursor(cursor, ofThisQuery);
}

export interface PageQuery {
  /** Query the table by `pk`, or gsi1 by `gsi1pk`. */
  index?: typeof GSI1;
  partition: string;
  /** Only sort keys starting with this. */
  prefix?: string;
  /** Only sort keys from the first to the second (inclusive), instead of a prefix. */
  range?: [string, string];
  limit: number;
  cursor?: string;
  consistent?: boolean;
  newestFirst?: boolean;
}

export interface Page {
  items: StoredItem[];
  /** Set only when more items follow. */
  cursor?: string;
}

const keyOf = (item: StoredItem, index?: string): Record<string, unknown> =>
  index ? { pk: item.pk, sk: item.sk, gsi1pk: item.gsi1pk, gsi1sk: item.gsi1sk } : { pk: item.pk, sk: item.sk };

/**
 * One page of a Query. It reads one item past `limit` so that a full page's `cursor` is set exactly
 * when more items follow (a bare LastEvaluatedKey would promise a next page that may be empty). A
 * page DynamoDB ended at 1 MB, short of `limit`, has its LastEvaluatedKey as the cursor.
 */
export async function queryPage(q: PageQuery): Promise<Page> {
  const pkName = q.index ? 'gsi1pk' : 'pk';
  const skName = q.index ? 'gsi1sk' : 'sk';
  const input: QueryCommandInput = {
    TableName: TABLE,
    IndexName: q.index,
    KeyConditionExpression: q.range ? '#pk = :pk AND #sk BETWEEN :lo AND :hi' : q.prefix ? '#pk = :pk AND begins_with(#sk, :prefix)' : '#pk = :pk',
    ExpressionAttributeNames: { '#pk': pkName, ...(q.prefix || q.range ? { '#sk': skName } : {}) },
    ExpressionAttributeValues: {
      ':pk': q.partition,
      ...(q.range ? { ':lo': q.range[0], ':hi': q.range[1] } : q.prefix ? { ':prefix': q.prefix } : {}),
    },
    Limit: q.limit + 1,
    ExclusiveStartKey: decodeCursor(q.cursor, { [pkName]: q.partition }),
    ConsistentRead: q.index ? undefined : q.consistent,
    ScanIndexForward: !q.newestFirst,
  };
  const out = await ddb.send(new QueryCommand(input));
  const items = (out.Items ?? []) as StoredItem[];
  if (items.length > q.limit) {
    const page = items.slice(0, q.limit);
    return { items: page, cursor: encodeCursor(keyOf(page[page.length - 1], q.index)) };
  }
  // Fewer items than asked for and a LastEvaluatedKey: DynamoDB stopped at 1 MB, and more may follow.
  return { items, cursor: out.LastEvaluatedKey ? encodeCursor(out.LastEvaluatedKey) : undefined };
}

/** Every item of a partition (or prefix), page by page, without holding more than a page. */
export async function* queryAll(q: Omit<PageQuery, 'cursor' | 'limit'> & { pageSize?: number }): AsyncGenerator<StoredItem[]> {
  let cursor: string | undefined;
  do {
    const page = await queryPage({ ...q, limit: q.pageSize ?? 100, cursor });
    if (page.items.length) yield page.items;
    cursor = page.cursor;
  } while (cursor);
}

/**
 * Writes `doc` (JSON text) and attributes in one UpdateItem, with a fresh revision and keeping the
 * first `created` time, and returns the stored item; with `expected`, only if the stored item is as
 * expected (undefined when it is not).
 */
export async function upsertItem(
  key: Key,
  fields: { doc: string; _t: string } & Partial<IndexKey> & Record<string, unknown>,
  expected?: Expected,
): Promise<StoredItem | undefined> {
  const now = clockNow();
  const names: Record<string, string> = { '#created': 'created' };
  const values: Record<string, unknown> = { ':now': now };
  const sets = ['#created = if_not_exists(#created, :now)'];
  for (const [i, [name, value]] of Object.entries({ ...fields, updated: now, rev: newRev() }).entries()) {
    names[`#a${i}`] = name;
    values[`:v${i}`] = value;
    sets.push(`#a${i} = :v${i}`);
  }
  const out = await conditionalWrite(
    new UpdateCommand({
      TableName: TABLE,
      Key: key,
      UpdateExpression: `SET ${sets.join(', ')}`,
      ...(expected ? withExpectation(expected, names, values) : { ExpressionAttributeNames: names, ExpressionAttributeValues: values }),
      ReturnValues: 'ALL_NEW',
    }),
  );
  return out?.Attributes as StoredItem | undefined;
}

/** Sets attribute `name` to true on an existing item where it is not true yet; false when the item is absent or it was already true. */
export function setFlag(key: Key, name: string): Promise<boolean> {
  return conditional(
    new UpdateCommand({
      TableName: TABLE,
      Key: key,
      UpdateExpression: 'SET #flag = :true',
      ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(#flag) OR #flag <> :true)',
      ExpressionAttributeNames: { '#flag': name },
      ExpressionAttributeValues: { ':true': true },
    }),
  );
}

/**
 * BatchGetItem in rounds of 100 keys, retrying unprocessed keys; results in no particular order.
 * `attributes`: read only these (and always pk, sk).
 */
export async function batchGet(keys: Key[], opts: { consistent?: boolean; attributes?: string[] } = {}): Promise<StoredItem[]> {
  const projection = opts.attributes && {
    ProjectionExpression: ['pk', 'sk', ...opts.attributes.map((_, i) => `#p${i}`)].join(', '),
    ExpressionAttributeNames: Object.fromEntries(opts.attributes.map((name, i) => [`#p${i}`, name])),
  };
  const out: StoredItem[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    let pending: Record<string, unknown>[] | undefined = keys.slice(i, i + 100).map((k) => ({ pk: k.pk, sk: k.sk }));
    for (let attempt = 0; pending?.length; attempt++) {
      const res = await ddb.send(new BatchGetCommand({ RequestItems: { [TABLE]: { Keys: pending, ConsistentRead: opts.consistent, ...projection } } }));
      out.push(...((res.Responses?.[TABLE] ?? []) as StoredItem[]));
      pending = res.UnprocessedKeys?.[TABLE]?.Keys as Record<string, unknown>[] | undefined;
      if (pending?.length) await backoff(attempt);
    }
  }
  return out;
}

export type WriteRequest = { put: Record<string, unknown> } | { delete: Key };

/** BatchWriteItem in rounds of 25, retrying unprocessed items with backoff. */
export async function batchWrite(requests: WriteRequest[]): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    let pending = requests.slice(i, i + 25).map((r) => ('put' in r ? { PutRequest: { Item: r.put } } : { DeleteRequest: { Key: r.delete } }));
    for (let attempt = 0; pending.length; attempt++) {
      const res = await ddb.send(new BatchWriteCommand({ RequestItems: { [TABLE]: pending } }));
      pending = (res.UnprocessedItems?.[TABLE] ?? []) as typeof pending;
      if (pending.length) await backoff(attempt);
    }
  }
}

const backoff = (attempt: number) => new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt) * Math.random()));

/** Read-modify-write rounds of one item's document before its contention is the caller's (a 409 to retry). */
export const UPDATE_ATTEMPTS = 10;

type DocFields<T> = (next: T) => { _t: string } & Partial<IndexKey> & Record<string, unknown>;

/**
 * Read-modify-write of one item's document under optimistic concurrency: the write is conditional
 * on the revision read, and a lost race re-reads and re-applies `change`, so concurrent updates
 * never drop each other's changes. `change` receives undefined when the item does not exist, and
 * may answer undefined to write nothing (the result is then undefined). Still losing after
 * UPDATE_ATTEMPTS is a retryable ConflictError.
 */
export function updateDoc<T>(key: Key, schema: z.ZodType<T>, change: (current: T | undefined) => T, fields: DocFields<T>): Promise<T>;
export function updateDoc<T>(key: Key, schema: z.ZodType<T>, change: (current: T | undefined) => T | undefined, fields: DocFields<T>): Promise<T | undefined>;
export async function updateDoc<T>(
  key: Key,
  schema: z.ZodType<T>,
  change: (current: T | undefined) => T | undefined,
  fields: DocFields<T>,
): Promise<T | undefined> {
  return retryOnConflict(
    async () => {
      const item = await getItem(key);
      const next = change(item ? parseDoc(item, schema) : undefined);
      if (next === undefined) return undefined;
      const written = await upsertItem(key, { ...fields(next), doc: JSON.stringify(next) }, expectedOf(item));
      if (!written) throw changed(key.pk);
      return next;
    },
    { attempts: UPDATE_ATTEMPTS },
  );
}

/** updateDoc for an item that must exist: undefined, and nothing written, when it does not (the caller decides on a 404). */
export const updateExistingDoc = <T>(key: Key, schema: z.ZodType<T>, change: (current: T) => T, fields: DocFields<T>): Promise<T | undefined> =>
  updateDoc(key, schema, (current) => (current === undefined ? undefined : change(current)), fields);
