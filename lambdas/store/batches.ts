import { DeleteCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { ddb } from '../shared/aws';
import { ConflictError } from '../shared/errors';
import { advanceUpdate, type Advance, type Run } from './automations';
import { conditional } from './conditional';
import { runKeys } from './keys';
import { getItem, parseStored, queryAll, queryPage, TABLE } from './table';

/**
 * Batches of a batch step (issue 18 item 3, docs/decisions.md D27). A batch key has at most one
 * open batch: its head item names the run that opened it (the owner), counts its events and keeps
 * when the first and the last came. Each event is an item in the owner's events partition, written
 * in the same transaction as the count and as the move of the event's run, so an event is counted
 * once and kept once whatever is redelivered, and the owner reads exactly the events it counted.
 *
 * Why transactions: a run's job may be delivered twice; the count, the event and the run's move past
 * the step must happen together or not at all (a crash between a count and the run's move would
 * count the event again on redelivery). Two runs opening the same key at the same millisecond race
 * on the head's `attribute_not_exists`: one opens, the other joins (Novu #2569 is this race).
 */

export interface BatchHead {
  owner: string;
  openedAt: number;
  lastAt: number;
  count: number;
  /** A scheduled batch's close, fixed when it opens. */
  releaseAt?: number;
}

const toHead = (item: Record<string, unknown>): BatchHead => ({
  owner: String(item.owner),
  openedAt: Number(item.openedAt),
  lastAt: Number(item.lastAt),
  count: Number(item.count),
  releaseAt: typeof item.releaseAt === 'number' ? item.releaseAt : undefined,
});

export async function getBatchHead(batchKey: string): Promise<BatchHead | undefined> {
  const item = await getItem(runKeys.batchHead(batchKey));
  return item ? toHead(item) : undefined;
}

/** An event of a batch: the data (and profile) of the run that brought it. */
const batchEvent = z.object({ data: z.record(z.string(), z.unknown()), profile: z.record(z.string(), z.unknown()).optional() });
export type BatchEvent = z.infer<typeof batchEvent>;

/** How long events and heads outlive their batch's close, for the run view and for a late redelivery (then DynamoDB's TTL removes them). */
const KEEP_S = 7 * 86_400;

/** What a transaction's refusal says: which of its writes' conditions failed (their indexes), or contention. */
type Outcome = 'ok' | 'contention' | number[];

async function transact(items: object[]): Promise<Outcome> {
  try {
    await ddb.send(new TransactWriteCommand({ TransactItems: items as never }));
    return 'ok';
  } catch (e) {
    const err = e as { name?: string; CancellationReasons?: { Code?: string }[] };
    if (err.name === 'TransactionConflictException') return 'contention';
    if (err.name !== 'TransactionCanceledException') throw e;
    const codes = (err.CancellationReasons ?? []).map((r) => r.Code ?? 'None');
    const failed = codes.flatMap((c, i) => (c === 'ConditionalCheckFailed' ? [i] : []));
    if (failed.length) return failed;
    if (codes.includes('TransactionConflict')) return 'contention';
    throw e;
  }
}

const eventPut = (owner: string, at: number, run: Run, keepUntil: number) => ({
  Put: {
    TableName: TABLE,
    Item: {
      ...runKeys.batchEvent(owner, at, run.runId),
      _t: 'BatchEvent',
      runId: run.runId,
      doc: JSON.stringify({ data: run.doc.context.data ?? {}, ...(run.doc.context.profile ? { profile: run.doc.context.profile } : {}) }),
      ttl: Math.ceil(keepUntil / 1000) + KEEP_S,
    },
  },
});

/** What an open or a join did: done; the head was not as read (read it again); the run had moved on; contention (try again). */
export type BatchWrite = 'done' | 'head-changed' | 'run-moved' | 'contention';

const interpret = (o: Outcome, runIndex: number): BatchWrite =>
  o === 'ok' ? 'done' : o === 'contention' ? 'contention' : o.includes(runIndex) ? 'run-moved' : 'head-changed';

/**
 * Opens the batch of `batchKey` with `run` as its owner: the head (only if there is none), the run's
 * first event, and the run marked as waiting for it (only if it still stands at its step and opened
 * nothing there yet). `releaseAt`: a scheduled batch's close; `expiresAt`: the latest the batch can close.
 */
export async function openBatch(batchKey: string, run: Run, at: number, releaseAt: number | undefined, expiresAt: number): Promise<BatchWrite> {
  return interpret(
    await transact([
      {
        Put: {
          TableName: TABLE,
          Item: {
            ...runKeys.batchHead(batchKey),
            _t: 'BatchHead',
            owner: run.runId,
            openedAt: at,
            lastAt: at,
            count: 1,
            ...(releaseAt !== undefined ? { releaseAt } : {}),
            ttl: Math.ceil(expiresAt / 1000) + KEEP_S,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      eventPut(run.runId, at, run, expiresAt),
      {
        Update: {
          TableName: TABLE,
          Key: runKeys.run(run.runId),
          UpdateExpression: 'SET #batchKey = :key, #updated = :now',
          ConditionExpression: '#cursor = :at AND #status = :running AND attribute_not_exists(#batchKey)',
          ExpressionAttributeNames: { '#batchKey': 'batchKey', '#cursor': 'cursor', '#status': 'status', '#updated': 'updated' },
          ExpressionAttributeValues: { ':key': batchKey, ':at': run.cursor, ':running': 'running', ':now': at },
        },
      },
    ]),
    2,
  );
}

/**
 * Adds `run`'s event to the open batch `head` of `batchKey` and moves the run past its step as
 * `advance` says (it ends there: its event is the owner's now). Only while the head is the one read
 * (the same owner, and under `maxItems` when set) and the run stands at its step.
 */
export async function joinBatch(batchKey: string, head: BatchHead, run: Run, at: number, advance: Advance, maxItems?: number): Promise<BatchWrite> {
  return interpret(
    await transact([
      {
        Update: {
          TableName: TABLE,
          Key: runKeys.batchHead(batchKey),
          UpdateExpression: 'SET #lastAt = :at ADD #count :one',
          ConditionExpression: `#owner = :owner${maxItems !== undefined ? ' AND #count < :max' : ''}`,
          ExpressionAttributeNames: { '#lastAt': 'lastAt', '#count': 'count', '#owner': 'owner' },
          ExpressionAttributeValues: { ':at': at, ':one': 1, ':owner': head.owner, ...(maxItems !== undefined ? { ':max': maxItems } : {}) },
        },
      },
      eventPut(head.owner, at, run, at),
      { Update: advanceUpdate(run, advance) },
    ]),
    2,
  );
}

/**
 * Closes the batch the owner `run` opened: the head goes (only if its count is still `count`: an
 * event that joined since is read first) and the run moves past its step with the batch in its data.
 */
export async function closeBatch(batchKey: string, run: Run, count: number, advance: Advance): Promise<BatchWrite> {
  return interpret(
    await transact([
      {
        Delete: {
          TableName: TABLE,
          Key: runKeys.batchHead(batchKey),
          ConditionExpression: '#owner = :owner AND #count = :count',
          ExpressionAttributeNames: { '#owner': 'owner', '#count': 'count' },
          ExpressionAttributeValues: { ':owner': run.runId, ':count': count },
        },
      },
      { Update: advanceUpdate(run, advance) },
    ]),
    1,
  );
}

/**
 * The events a batch keeps, read consistently from the owner's events partition in arrival order:
 * the first or the last `count` (one Query page), or all of them for `highest` / `lowest`.
 */
export async function batchEvents(owner: string, retain: { type: string; count: number }): Promise<BatchEvent[]> {
  const partition = runKeys.batchEvents(owner);
  const parse = (i: Record<string, unknown>) => parseStored(String(i.doc), batchEvent, `${String(i.pk)} / ${String(i.sk)}`);
  if (retain.type === 'first' || retain.type === 'last') {
    const page = await queryPage({ partition, limit: retain.count, newestFirst: retain.type === 'last', consistent: true });
    const events = page.items.map(parse);
    return retain.type === 'last' ? events.reverse() : events;
  }
  const all: BatchEvent[] = [];
  for await (const items of queryAll({ partition, consistent: true, pageSize: 1000 })) all.push(...items.map(parse));
  return all;
}

/** Removes the head of a batch whose owner was canceled (only if that run still owns it): the next event opens a new batch. */
export async function dropBatch(batchKey: string, owner: string): Promise<void> {
  await conditional(
    new DeleteCommand({
      TableName: TABLE,
      Key: runKeys.batchHead(batchKey),
      ConditionExpression: '#owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':owner': owner },
    }),
  );
}

/** A contention that kept on: the job fails and SQS delivers it again. */
export const batchBusy = (batchKey: string): ConflictError => new ConflictError(`batch ${batchKey} kept changing; the step is tried again`, true);
