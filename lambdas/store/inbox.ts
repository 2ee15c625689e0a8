import { z } from 'zod';
import type { OutputBlock } from '../domain/render';
import { keys } from './keys';
import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../shared/aws';
import { now } from '../shared/clock';
import { config } from '../shared/config';
import { changed, conditional, retryOnConflict } from './conditional';
import { decodeCursor, encodeCursor, parseDoc, queryPage, TABLE, type StoredItem } from './table';

const outputBlock: z.ZodType<OutputBlock> = z.looseObject({
  type: z.enum(['text', 'quote', 'action', 'image', 'divider']),
  text: z.string(),
  href: z.string().optional(),
  src: z.string().optional(),
});

/** What the inbox shows of a message: its rendered inbox content. */
const inboxContent = z.object({ title: z.string().optional(), body: z.string().optional(), blocks: z.array(outputBlock).optional() });
export type InboxContent = z.infer<typeof inboxContent>;
/** What an inbox message item stores in `doc` (putInboxMessage; flags are attributes); keys beyond these are kept as stored. */
export const inboxContentSchema: z.ZodType<InboxContent> = inboxContent.loose();

export interface InboxMessage extends InboxContent {
  messageId: string;
  /** The tenant context the message was sent in, if any. */
  tenantId?: string;
  /** Epoch ms when the message reached the inbox. */
  created: number;
  read: boolean;
  archived: boolean;
}

/*
 * Unread counters. Polling the unread count must not read the inbox: every user has one counter
 * item (keys.inboxUnread) that each state change updates in the same transaction as the message
 * item, conditional on the item's state before the change, so concurrent changes and redelivered
 * writes never count twice. The item holds one number per (expiry day, tenant): with
 * INBOX_RETENTION_DAYS, messages expire (DynamoDB TTL) at the start of a UTC day, and the counts of
 * days gone by are simply no longer added up (TTL deletes items without telling anyone). Without
 * the setting, everything is in the `-` bucket.
 */
const DAY_MS = 86_400_000;

/** The expiry of a message that arrives at `created`: the UTC day number it expires at the start of, or '-' (never). */
const bucketFor = (created: number): string =>
  config.INBOX_RETENTION_DAYS === undefined ? '-' : String(Math.floor(created / DAY_MS) + config.INBOX_RETENTION_DAYS + 1);
const expired = (bucket: string, at: number): boolean => bucket !== '-' && Number(bucket) * DAY_MS <= at;
/** A counter attribute: `n|<bucket>|<tenant id, '' for none>`. */
const counterName = (bucket: string, tenantId: string | undefined): string => `n|${bucket}|${tenantId ?? ''}`;
const parseCounter = (name: string): { bucket: string; tenantId: string } | undefined => {
  const m = /^n\|([^|]+)\|(.*)$/s.exec(name);
  return m ? { bucket: m[1], tenantId: m[2] } : undefined;
};

/** The counter a message counts in (unread and not archived), from its stored item. */
const counterOf = (item: StoredItem): string =>
  counterName(typeof item.bucket === 'string' ? item.bucket : '-', typeof item.tenantId === 'string' ? item.tenantId : undefined);
const isUnread = (f: { read: boolean; archived: boolean }): boolean => !f.read && !f.archived;

const counterUpdate = (userId: string, deltas: Map<string, number>) => {
  const entries = [...deltas].filter(([, d]) => d !== 0);
  return {
    Update: {
      TableName: TABLE,
      Key: keys.inboxUnread(userId),
      UpdateExpression: `ADD ${entries.map((_, i) => `#c${i} :d${i}`).join(', ')}`,
      ExpressionAttributeNames: Object.fromEntries(entries.map(([name], i) => [`#c${i}`, name])),
      ExpressionAttributeValues: Object.fromEntries(entries.map(([, d], i) => [`:d${i}`, d])),
    },
  };
};

/**
 * One transaction, retried (with backoff) while it conflicts with another on the same counter.
 * Returns false when a condition failed (the caller re-reads), true when it was written.
 */
const transact = (items: Record<string, unknown>[]): Promise<boolean> =>
  retryOnConflict(() => conditional(new TransactWriteCommand({ TransactItems: items as never })), { attempts: TRANSACT_ATTEMPTS });

/** Runs of one counter transaction that conflicts with others before its contention is the caller's. */
const TRANSACT_ATTEMPTS = 11;

/**
 * Adds a message to a user's inbox unless it is already there, and counts it unread, in one
 * transaction. The item's write is conditional on its key, which is the message id, so a delivery
 * retried after a crash or a duplicate queue record never shows (or counts) the message twice.
 * Returns whether this call created it.
 */
export function putInboxMessage(userId: string, message: InboxContent & { messageId: string; tenantId?: string }): Promise<boolean> {
  const { messageId, tenantId, title, body, blocks } = message;
  const created = now();
  const bucket = bucketFor(created);
  return transact([
    {
      Put: {
        TableName: TABLE,
        Item: {
          // No index entry for the tenant: a GSI write would double the cost of every inbox delivery;
          // a per-tenant listing filters the user's own partition instead.
          ...keys.inboxMessage(userId, messageId),
          _t: 'INBOX',
          messageId,
          tenantId,
          created,
          // Flags as attributes, not in `doc`: marking read or archived is then a small update.
          read: false,
          archived: false,
          bucket,
          ...(bucket === '-' ? {} : { ttl: (Number(bucket) * DAY_MS) / 1000 }),
          doc: JSON.stringify({ title, body, blocks }),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    counterUpdate(userId, new Map([[counterName(bucket, tenantId), 1]])),
  ]);
}

const toMessage = (item: StoredItem): InboxMessage => ({
  ...parseDoc(item, inboxContentSchema),
  messageId: String(item.messageId),
  ...(typeof item.tenantId === 'string' ? { tenantId: item.tenantId } : {}),
  created: Number(item.created),
  read: item.read === true,
  archived: item.archived === true,
});

/** Past its expiry, a message is gone for the user, whether or not TTL has deleted it yet. */
const isExpired = (item: StoredItem, at = now()): boolean => typeof item.ttl === 'number' && item.ttl * 1000 <= at;

export interface InboxFilter {
  /** Only messages sent in this tenant's context. */
  tenantId?: string;
  /** Only archived (true) or only not archived (false) messages; both when undefined. */
  archived?: boolean;
  /** Only read (true) or only unread (false) messages; both when undefined. */
  read?: boolean;
}

const matches = (m: InboxMessage, f: InboxFilter): boolean =>
  (f.tenantId === undefined || m.tenantId === f.tenantId) &&
  (f.archived === undefined || m.archived === f.archived) &&
  (f.read === undefined || m.read === f.read);

/** Pages of the user's inbox one call reads at most: a filtered listing of a large inbox answers short, with a cursor. */
export const MAX_INBOX_PAGES = 10;

/**
 * A page of a user's inbox, newest first, with the messages that pass `filter` (tenant, archived,
 * read) and have not expired: a filter on the user's own partition, reading at most
 * MAX_INBOX_PAGES pages per call, so a filtered page may be short; the cursor continues.
 */
export async function listInbox(userId: string, opts: InboxFilter & { limit: number; cursor?: string }): Promise<{ items: InboxMessage[]; cursor?: string }> {
  const items: InboxMessage[] = [];
  const at = now();
  let cursor = opts.cursor;
  for (let pages = 0; pages < MAX_INBOX_PAGES; pages++) {
    const page = await queryPage({ partition: keys.inbox(userId), prefix: keys.inboxPrefix, limit: opts.limit - items.length, cursor, newestFirst: true });
    items.push(
      ...page.items
        .filter((i) => !isExpired(i, at))
        .map(toMessage)
        .filter((m) => matches(m, opts)),
    );
    cursor = page.cursor;
    if (!cursor || items.length >= opts.limit) break;
  }
  return { items, cursor };
}

/**
 * Unread, not archived messages of a user (in one tenant's context when given): one read of the
 * user's counter item, whatever the size of the inbox. Counts of expired days are left out (and
 * removed, in the background of this call, so the item stays small).
 */
export async function countUnread(userId: string, tenantId: string | undefined): Promise<number> {
  const out = await ddb.send(new GetCommand({ TableName: TABLE, Key: keys.inboxUnread(userId), ConsistentRead: true }));
  const at = now();
  let count = 0;
  const stale: string[] = [];
  for (const [name, value] of Object.entries(out.Item ?? {})) {
    const c = parseCounter(name);
    if (!c) continue;
    if (expired(c.bucket, at)) stale.push(name);
    else if (tenantId === undefined || c.tenantId === tenantId) count += Number(value);
  }
  if (stale.length) await dropCounters(userId, stale);
  return Math.max(0, count);
}

/** Removes the counters of expired days (nothing counts them again; a late change to one is dropped next time). */
async function dropCounters(userId: string, names: string[]): Promise<void> {
  await ddb.send(
    new UpdateCommand({
      TableName: TABLE,
      Key: keys.inboxUnread(userId),
      UpdateExpression: `REMOVE ${names.map((_, i) => `#c${i}`).join(', ')}`,
      ExpressionAttributeNames: Object.fromEntries(names.map((n, i) => [`#c${i}`, n])),
    }),
  );
}

type Flags = { read?: boolean; archived?: boolean };

/** The change of one item from the state it was read in: conditional on that state, so a concurrent change makes it fail (re-read). */
function flagChange(userId: string, item: StoredItem, flags: Flags) {
  const before = { read: item.read === true, archived: item.archived === true };
  const sets = Object.entries(flags).filter(([, v]) => v !== undefined) as [keyof Flags, boolean][];
  const after = { ...before, ...Object.fromEntries(sets) };
  return {
    before,
    after,
    update: {
      Update: {
        TableName: TABLE,
        Key: keys.inboxMessage(userId, String(item.messageId)),
        UpdateExpression: `SET ${sets.map(([k]) => `#${k} = :${k}`).join(', ')}`,
        ConditionExpression: 'attribute_exists(pk) AND #wasRead = :wasRead AND #wasArchived = :wasArchived',
        ExpressionAttributeNames: { ...Object.fromEntries(sets.map(([k]) => [`#${k}`, k])), '#wasRead': 'read', '#wasArchived': 'archived' },
        ExpressionAttributeValues: { ...Object.fromEntries(sets.map(([k, v]) => [`:${k}`, v])), ':wasRead': before.read, ':wasArchived': before.archived },
      },
    },
  };
}

/**
 * Sets `read` and/or `archived` on one message of a user's inbox. With `tenantId`, only a message
 * of that tenant's context. A change that makes the message unread or no longer unread updates the
 * counter in the same transaction, conditional on the state read; a lost race re-reads. Returns
 * false when there is no such message.
 */
export async function setInboxFlags(userId: string, messageId: string, flags: Flags, tenantId?: string): Promise<boolean> {
  return (await changeFlags(userId, messageId, flags, tenantId)) !== 'missing';
}

async function changeFlags(userId: string, messageId: string, flags: Flags, tenantId: string | undefined): Promise<'changed' | 'unchanged' | 'missing'> {
  return retryOnConflict(
    async () => {
      const item = (await ddb.send(new GetCommand({ TableName: TABLE, Key: keys.inboxMessage(userId, messageId), ConsistentRead: true }))).Item as
        StoredItem | undefined;
      if (!item || isExpired(item) || (tenantId !== undefined && item.tenantId !== tenantId)) return 'missing';
      const change = flagChange(userId, item, flags);
      if (change.before.read === change.after.read && change.before.archived === change.after.archived) return 'unchanged';
      const delta = Number(isUnread(change.after)) - Number(isUnread(change.before));
      const written =
        delta === 0
          ? await conditional(new UpdateCommand(change.update.Update))
          : await transact([change.update, counterUpdate(userId, new Map([[counterOf(item), delta]]))]);
      if (!written) throw changed(`Inbox message ${messageId}`);
      return 'changed';
    },
    { attempts: 20 },
  );
}

/** Unread messages one read-all call marks at most, and items it reads at most (MAX_INBOX_PAGES pages of a hundred). */
export const MARK_ALL_CAP = 500;
const MARK_PAGE = 100;
/** Messages marked per transaction, with their counters (DynamoDB allows 100 actions). */
const MARK_GROUP = 25;

/**
 * Marks the unread, not archived messages of a user read (in one tenant's context when given),
 * newest first: at most MARK_ALL_CAP marked and MAX_INBOX_PAGES pages read per call. Each group of
 * messages is marked with the counter in one transaction, conditional on each still being unread
 * (one that changed meanwhile is marked on its own). Nothing is read when the counter says there
 * is nothing unread. `more` (with a `cursor` to continue from) when unread messages may remain.
 */
export async function markAllRead(userId: string, tenantId: string | undefined, cursor?: string): Promise<{ marked: number; more: boolean; cursor?: string }> {
  let start = decodeCursor(cursor, { pk: keys.inbox(userId) });
  if ((await countUnread(userId, tenantId)) === 0) return { marked: 0, more: false };
  const at = now();
  let marked = 0;
  for (let pages = 0; pages < MAX_INBOX_PAGES && marked < MARK_ALL_CAP; pages++) {
    const out = await ddb.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        FilterExpression: `#read = :false AND #archived = :false${tenantId === undefined ? '' : ' AND tenantId = :tenant'}`,
        ExpressionAttributeNames: { '#read': 'read', '#archived': 'archived' },
        ExpressionAttributeValues: {
          ':pk': keys.inbox(userId),
          ':prefix': keys.inboxPrefix,
          ':false': false,
          ...(tenantId === undefined ? {} : { ':tenant': tenantId }),
        },
        ScanIndexForward: false,
        Limit: MARK_PAGE,
        ExclusiveStartKey: start,
      }),
    );
    let unread = ((out.Items ?? []) as StoredItem[]).filter((i) => !isExpired(i, at));
    let last = out.LastEvaluatedKey as Record<string, string> | undefined;
    if (marked + unread.length > MARK_ALL_CAP) {
      // Stop at the cap: continue after the last message marked, not after the page.
      unread = unread.slice(0, MARK_ALL_CAP - marked);
      const tail = unread[unread.length - 1];
      last = { pk: tail.pk, sk: tail.sk };
    }
    for (let i = 0; i < unread.length; i += MARK_GROUP) marked += await markGroup(userId, unread.slice(i, i + MARK_GROUP), tenantId);
    start = last;
    if (!start) break;
  }
  // Stopped before the end: more only if the counter still says so.
  const next = start && (await countUnread(userId, tenantId)) > 0 ? encodeCursor(start) : undefined;
  return { marked, more: next !== undefined, ...(next ? { cursor: next } : {}) };
}

/** Marks a group read with its counters in one transaction; if any of them changed meanwhile, each on its own. */
async function markGroup(userId: string, items: StoredItem[], tenantId: string | undefined): Promise<number> {
  const deltas = new Map<string, number>();
  for (const item of items) deltas.set(counterOf(item), (deltas.get(counterOf(item)) ?? 0) - 1);
  if (await transact([...items.map((item) => flagChange(userId, item, { read: true }).update), counterUpdate(userId, deltas)])) return items.length;
  let marked = 0;
  for (const item of items) if ((await changeFlags(userId, String(item.messageId), { read: true }, tenantId)) === 'changed') marked += 1;
  return marked;
}
