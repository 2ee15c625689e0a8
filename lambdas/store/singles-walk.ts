import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../shared/aws';
import { config } from '../shared/config';
import { wallNow } from '../shared/clock';
import { conditional } from './conditional';
import { GSI1, requestKeys } from './keys';
import { openSingles, unfinishedSingles } from './messages';
import { TABLE } from './table';

/**
 * The sweeper's walk of single sends (docs/decisions.md D12). A single send due at once is stored
 * without an open marker (`createRequest(..., walked)`), with `walk` on its request item. Each sweep
 * walks the requests in gsi1 (hourly buckets, in enqueue order) from where the last walk stopped to
 * SWEEP_GRACE_MS ago, reads the statuses of the walked single sends there, and gives the unfinished
 * ones an open marker due now: from there on the sweeper drives them like any other request. Most
 * single sends are finished by then and cost the walk a share of a Query page and half a read unit,
 * instead of a marker's put and delete (2 WRU).
 *
 * One walk at a time: a walk holds a lease on the walk's item and moves its position on only while
 * it holds it. A walk that stops half-way (a crash, its time budget) leaves the position where its
 * last finished page ended; the next one goes on from there. A request enqueued long before it is
 * stored (a retried Idempotency-Key) is not walked: POST /send gives it a marker.
 */

/** How long a walk holds the walk's item. */
const LEASE_MS = 120_000;
/** Requests read per Query page. */
const PAGE = 200;
/** Hourly buckets one walk looks at, at most (after a long stop, later sweeps go on). */
const MAX_BUCKETS = 48;
const HOUR = 3_600_000;
/** Where the first walk of a table starts: this far before the walk's end (every walked request is newer than the walk itself). */
const FIRST_LOOK_BACK_MS = HOUR;

export interface WalkResult {
  /** Walked single sends looked at. */
  requests: number;
  /** Of those, given an open marker (unfinished). */
  opened: number;
  /** Whether the walk stopped before SWEEP_GRACE_MS ago (its time budget, or MAX_BUCKETS). */
  more: boolean;
}

const timeOfIndexKey = (sk: string): number => Number.parseInt(sk.slice(0, sk.indexOf('#')), 36);

/**
 * Walks the single sends enqueued since the last walk and up to SWEEP_GRACE_MS before `at`; stops by
 * `deadline` (wall clock). A walk that finds none writes nothing, unless its position is more than
 * an hour behind (so an idle table costs a sweep a read or two, and a write an hour).
 */
export async function walkSingles(at: number, deadline: number): Promise<WalkResult> {
  const result: WalkResult = { requests: 0, opened: 0, more: false };
  const item = (await ddb.send(new GetCommand({ TableName: TABLE, Key: requestKeys.singlesWalk, ConsistentRead: true }))).Item;
  const wasLease = typeof item?.lease === 'number' ? item.lease : undefined;
  if (wasLease !== undefined && wasLease > at) return result;
  const to = at - config.SWEEP_GRACE_MS;
  const start = typeof item?.after === 'string' ? item.after : requestKeys.timeFrom(to - FIRST_LOOK_BACK_MS);
  let after = start;
  const lease = at + LEASE_MS;
  let held = false;
  /** Takes the lease, if the walk's item is still as read (no other walk has taken it or moved on since). */
  const hold = async (): Promise<boolean> =>
    (held ||= await conditional(
      new UpdateCommand({
        TableName: TABLE,
        Key: requestKeys.singlesWalk,
        UpdateExpression: 'SET lease = :lease',
        ConditionExpression: item
          ? `${wasLease === undefined ? 'attribute_not_exists(lease)' : 'lease = :was'} AND ${typeof item.after === 'string' ? '#after = :start' : 'attribute_not_exists(#after)'}`
          : 'attribute_not_exists(pk)',
        ExpressionAttributeNames: item ? { '#after': 'after' } : undefined,
        ExpressionAttributeValues: {
          ':lease': lease,
          ...(wasLease === undefined ? {} : { ':was': wasLease }),
          ...(typeof item?.after === 'string' ? { ':start': start } : {}),
        },
      }),
    ));

  const end = requestKeys.timeFrom(to);
  let bucketAt = Math.floor(timeOfIndexKey(after) / HOUR) * HOUR;
  for (let buckets = 0; after < end; bucketAt += HOUR, buckets++) {
    if (buckets === MAX_BUCKETS || wallNow() > deadline) {
      result.more = true;
      break;
    }
    let cursor: Record<string, unknown> | undefined;
    const from = `${after}\u0000`;
    do {
      const out = await ddb.send(
        new QueryCommand({
          TableName: TABLE,
          IndexName: GSI1,
          KeyConditionExpression: 'gsi1pk = :bucket AND gsi1sk BETWEEN :from AND :to',
          FilterExpression: 'walk = :true',
          ProjectionExpression: 'pk, gsi1sk',
          ExpressionAttributeValues: { ':bucket': requestKeys.bucket(bucketAt), ':from': from, ':to': end, ':true': true },
          Limit: PAGE,
          ExclusiveStartKey: cursor,
        }),
      );
      const ids = (out.Items ?? []).map((i) => requestKeys.requestIdOf(String(i.pk)));
      if (ids.length) {
        if (!(await hold())) return result;
        const unfinished = await unfinishedSingles(ids);
        // Due at once: the sweep that walked them hands them to checks right after the walk.
        if (unfinished.length) await openSingles(unfinished, at - 1);
        result.requests += ids.length;
        result.opened += unfinished.length;
      }
      cursor = out.LastEvaluatedKey;
      // Past this page: its last key read, or (the bucket done) the end of the bucket or of the walk.
      after = cursor ? String(cursor.gsi1sk) : minKey(requestKeys.timeFrom(bucketAt + HOUR), end);
      if (held && cursor && !(await save(after, lease))) return result;
    } while (cursor && wallNow() <= deadline);
    if (cursor) {
      result.more = true;
      break;
    }
  }
  // Nothing walked: the position moves on only when it is an hour behind.
  if (!held && (after === start || timeOfIndexKey(after) - timeOfIndexKey(start) < HOUR || !(await hold()))) return result;
  await save(after, lease, true);
  return result;
}

const minKey = (a: string, b: string): string => (a < b ? a : b);

/** Moves the walk's position on, while this walk holds the lease; `release` ends the lease too. */
const save = (after: string, lease: number, release = false): Promise<boolean> =>
  conditional(
    new UpdateCommand({
      TableName: TABLE,
      Key: requestKeys.singlesWalk,
      UpdateExpression: `SET #after = :after${release ? ' REMOVE lease' : ''}`,
      ConditionExpression: 'lease = :lease',
      ExpressionAttributeNames: { '#after': 'after' },
      ExpressionAttributeValues: { ':after': after, ':lease': lease },
    }),
  );
