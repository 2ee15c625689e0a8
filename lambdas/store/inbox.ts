import { z } from 'zod';
import type { OutputBlock } from '../domain/render';
import { keys } from './keys';
import { GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { messageIdTime } from '../domain/send';
import { ddb } from '../shared/aws';
import { now } from '../shared/clock';
import { config } from '../shared/config';
import { changed, conditional, conditionalWrite, retryOnConflict } from './conditional';
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

/** The type of an inbox item; the partition also holds recipient index entries of other messages (requestKeys.recipientEntry). */
const INBOX = 'INBOX';
const isInboxItem = (item: StoredItem): boolean => item._t === INBOX;

export interface InboxMessage extends InboxContent {
  messageId: string;
  /** The tenant context the message was sent in, if any. */
  tenantId?: string;
  /** Epoch ms when the message reached the inbox. */
  created: number;
  read: boolean;
  archived: boolean;
  /** The user has seen the message (the `opened` event), whether or not they read it. */
  opened: boolean;
}

/*
 * Unread counters. Polling the unread count must not read the whole inbox: every user has one
 * counter item (keys.inboxUnread) holding one number per (expiry day, tenant): with
 * INBOX_RETENTION_DAYS, messages expire (DynamoDB TTL) at the start of a UTC day, and the counts of
 * days gone by are simply no longer added up (TTL deletes items without telling anyone). Without
 * the setting, everything is in the `-` bucket.
 *
 * A new message is counted lazily (docs/decisions.md D13): its insert is one conditional put, not a
 * transaction with the counter (4 WRU), and it carries `lz`. The counter's `folded` says up to which
 * id time lazily counted messages are in its numbers; the count adds the unread `lz` messages from
 * there on (the last hours of the inbox, one Query), and now and then folds the older ones into
 * the numbers. That is exact because a lazy insert lands soon after its id was made: a message
 * arriving at `a` is inserted lazily only if its id was made after `a - LATE_MS`, and its write
 * lands before `a + LANDING_MS`, so nothing lazily inserted can land behind a fold that stops
 * LATE_MS + LANDING_MS before its own start. A message arriving later than that (a delay, a
 * backlog, a retry) is counted at its insert, in one transaction with the counter, as are all
 * messages written before lazy counting existed.
 *
 * State changes of a message stay transactional with the counter, conditional on the message's
 * state before the change, so concurrent changes and redelivered writes never count twice. A change
 * of a lazily counted message not yet folded moves no number, but bumps the counter's `gen` on the
 * condition that `folded` is still what was read: a fold is conditional on `folded` and `gen` as it
 * read them, so a fold and a change never both count the same message.
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

/** A message arriving this long (or more) after its id was made is counted at its insert. */
export const LATE_MS = 60 * 60_000;
/**
 * A write lands within this long of the clock reading before it: the delivery worker that writes
 * inbox messages stops after 60 seconds (lib/stack.ts, shared/topology.ts); the rest is margin.
 */
export const LANDING_MS = 5 * 60_000;
/** The counter folds when it is this far behind what it may fold: at most one fold write an hour per user who polls. */
export const FOLD_EVERY_MS = 60 * 60_000;
/**
 * No message whose id was made before this was counted lazily (lazy counting was released on that
 * day): where a counter has no `folded` yet, the count reads the inbox from here.
 */
export const LAZY_SINCE = Date.UTC(2026, 10, 29) - LATE_MS;

/** A user's counter item as read: the numbers, how far lazily counted messages are folded in, and the change generation. */
interface Counter {
  counts: Map<string, number>;
  folded?: number;
  gen?: number;
}

/** The id time from which lazily counted messages are not in the counter's numbers yet. */
const foldedTo = (c: Counter): number => c.folded ?? LAZY_SINCE;

async function readCounter(userId: string): Promise<Counter> {
  const item = (await ddb.send(new GetCommand({ TableName: TABLE, Key: keys.inboxUnread(userId), ConsistentRead: true }))).Item ?? {};
  const counts = new Map<string, number>();
  for (const [name, value] of Object.entries(item)) if (parseCounter(name)) counts.set(name, Number(value));
  return { counts, ...(typeof item.folded === 'number' ? { folded: item.folded } : {}), ...(typeof item.gen === 'number' ? { gen: item.gen } : {}) };
}

/** The condition that the counter's `folded` (and, for a fold, `gen`) are still as read. */
function asRead(c: Counter, withGen: boolean): { condition: string; values: Record<string, number> } {
  const parts = [c.folded === undefined ? 'attribute_not_exists(#folded)' : '#folded = :wasFolded'];
  if (withGen) parts.push(c.gen === undefined ? 'attribute_not_exists(#gen)' : '#gen = :wasGen');
  return {
    condition: parts.join(' AND '),
    values: { ...(c.folded === undefined ? {} : { ':wasFolded': c.folded }), ...(withGen && c.gen !== undefined ? { ':wasGen': c.gen } : {}) },
  };
}

/** The `ADD` clauses of counter deltas (none for a zero), with their attribute names and values. */
function addCounters(deltas: Map<string, number>): { clauses: string[]; names: Record<string, string>; values: Record<string, number> } {
  const entries = [...deltas].filter(([, d]) => d !== 0);
  return {
    clauses: entries.map((_, i) => `#c${i} :d${i}`),
    names: Object.fromEntries(entries.map(([name], i) => [`#c${i}`, name])),
    values: Object.fromEntries(entries.map(([, d], i) => [`:d${i}`, d])),
  };
}

/**
 * The counter's part of a change: ADD the deltas. With `guard` (the counter as read), a change that
 * touches a lazily counted message not yet folded: `gen` is bumped too, conditional on `folded`
 * being as read.
 */
const counterUpdate = (userId: string, deltas: Map<string, number>, guard?: Counter) => {
  const add = addCounters(deltas);
  const check = guard && asRead(guard, false);
  return {
    Update: {
      TableName: TABLE,
      Key: keys.inboxUnread(userId),
      UpdateExpression: `ADD ${[...add.clauses, ...(guard ? ['#gen :one'] : [])].join(', ')}`,
      ...(check ? { ConditionExpression: check.condition } : {}),
      ExpressionAttributeNames: { ...add.names, ...(guard ? { '#gen': 'gen', '#folded': 'folded' } : {}) },
      ExpressionAttributeValues: { ...add.values, ...(check ? { ':one': 1, ...check.values } : {}) },
    },
  };
};

/** Whether a message is counted lazily and not folded into the counter's numbers yet. */
const unfoldedItem = (item: StoredItem, c: Counter): boolean => item.lz === true && (messageIdTime(String(item.messageId)) ?? 0) >= foldedTo(c);

/**
 * One transaction, retried (with backoff) while it conflicts with another on the same counter.
 * Returns false when a condition failed (the caller re-reads), true when it was written.
 */
const transact = (items: Record<string, unknown>[]): Promise<boolean> =>
  retryOnConflict(() => conditional(new TransactWriteCommand({ TransactItems: items as never })), { attempts: TRANSACT_ATTEMPTS });

/** Runs of one counter transaction that conflicts with others before its contention is the caller's. */
const TRANSACT_ATTEMPTS = 11;

/**
 * Adds a message to a user's inbox unless it is already there, and counts it unread: lazily when
 * its id was made less than LATE_MS ago (one conditional put), else in one transaction with the
 * counter. The item's write is conditional on its key, which is the message id, so a delivery
 * retried after a crash or a duplicate queue record never shows (or counts) the message twice.
 * Returns whether this call created it.
 */
export function putInboxMessage(userId: string, message: InboxContent & { messageId: string; tenantId?: string }): Promise<boolean> {
  const { messageId, tenantId, title, body, blocks } = message;
  const created = now();
  const bucket = bucketFor(created);
  const item = {
    // No index entry for the tenant: a GSI write would double the cost of every inbox delivery;
    // a per-tenant listing filters the user's own partition instead.
    ...keys.inboxMessage(userId, messageId),
    _t: INBOX,
    messageId,
    tenantId,
    created,
    // Flags as attributes, not in `doc`: marking read or archived is then a small update.
    read: false,
    archived: false,
    bucket,
    ...(bucket === '-' ? {} : { ttl: (Number(bucket) * DAY_MS) / 1000 }),
    doc: JSON.stringify({ title, body, blocks }),
  };
  // The key may hold the message's recipient index entry, which the inbox item replaces (it is the entry from now on).
  const free = {
    ConditionExpression: 'attribute_not_exists(pk) OR #t <> :inbox',
    ExpressionAttributeNames: { '#t': '_t' },
    ExpressionAttributeValues: { ':inbox': INBOX },
  };
  const made = messageIdTime(messageId);
  if (made !== undefined && made > created - LATE_MS && made <= created + LANDING_MS)
    return conditional(new PutCommand({ TableName: TABLE, Item: { ...item, lz: true }, ...free }));
  return transact([{ Put: { TableName: TABLE, Item: item, ...free } }, counterUpdate(userId, new Map([[counterName(bucket, tenantId), 1]]))]);
}

const toMessage = (item: StoredItem): InboxMessage => ({
  ...parseDoc(item, inboxContentSchema),
  messageId: String(item.messageId),
  ...(typeof item.tenantId === 'string' ? { tenantId: item.tenantId } : {}),
  created: Number(item.created),
  read: item.read === true,
  archived: item.archived === true,
  opened: item.opened === true,
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
        .filter((i) => isInboxItem(i) && !isExpired(i, at))
        .map(toMessage)
        .filter((m) => matches(m, opts)),
    );
    cursor = page.cursor;
    if (!cursor || items.length >= opts.limit) break;
  }
  return { items, cursor };
}

/** A lazily counted message, unread, not archived and not expired, that is not folded into the counter yet: the counter it counts in, and its id's time. */
interface Arrival {
  counter: string;
  made: number;
}

/** The unread lazily counted messages of a user whose ids were made at `from` or later (Query pages of the inbox from there). */
async function arrivalsSince(userId: string, from: number, at: number): Promise<Arrival[]> {
  const [start, end] = keys.inboxSince(from);
  const arrivals: Arrival[] = [];
  let cursor: Record<string, unknown> | undefined;
  do {
    const out = await ddb.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :start AND :end',
        FilterExpression: 'lz = :true AND #read = :false AND #archived = :false',
        ProjectionExpression: 'messageId, tenantId, #bucket, #ttl',
        ExpressionAttributeNames: { '#read': 'read', '#archived': 'archived', '#bucket': 'bucket', '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':pk': keys.inbox(userId), ':start': start, ':end': end, ':true': true, ':false': false },
        ConsistentRead: true,
        ExclusiveStartKey: cursor,
      }),
    );
    for (const item of (out.Items ?? []) as StoredItem[]) {
      if (!isExpired(item, at)) arrivals.push({ counter: counterOf(item), made: messageIdTime(String(item.messageId)) ?? 0 });
    }
    cursor = out.LastEvaluatedKey;
  } while (cursor);
  return arrivals;
}

/**
 * Folds the lazily counted messages whose ids were made before `at - LATE_MS - LANDING_MS` into the
 * counter's numbers, when it is FOLD_EVERY_MS behind that: one update, conditional on `folded` and
 * `gen` being as read (a concurrent change or fold makes it a no-op; the next count folds).
 */
async function foldIfDue(userId: string, counter: Counter, arrivals: Arrival[], at: number): Promise<void> {
  const to = at - LATE_MS - LANDING_MS;
  if (to - foldedTo(counter) < FOLD_EVERY_MS) return;
  const deltas = new Map<string, number>();
  for (const a of arrivals) if (a.made < to) deltas.set(a.counter, (deltas.get(a.counter) ?? 0) + 1);
  const add = addCounters(deltas);
  const check = asRead(counter, true);
  await conditional(
    new UpdateCommand({
      TableName: TABLE,
      Key: keys.inboxUnread(userId),
      UpdateExpression: `SET #folded = :to${add.clauses.length ? ` ADD ${add.clauses.join(', ')}` : ''}`,
      ConditionExpression: check.condition,
      ExpressionAttributeNames: { '#folded': 'folded', '#gen': 'gen', ...add.names },
      ExpressionAttributeValues: { ':to': to, ...check.values, ...add.values },
    }),
  );
}

/**
 * Unread, not archived messages of a user (in one tenant's context when given): the user's counter
 * item, plus the lazily counted messages it does not hold yet (one Query of the last hours of the
 * inbox, whatever its size). Counts of expired days are left out (and removed, in the background of
 * this call, so the item stays small).
 */
export async function countUnread(userId: string, tenantId: string | undefined): Promise<number> {
  const counter = await readCounter(userId);
  const at = now();
  const arrivals = await arrivalsSince(userId, foldedTo(counter), at);
  const inContext = (name: string) => tenantId === undefined || parseCounter(name)!.tenantId === tenantId;
  let count = arrivals.filter((a) => inContext(a.counter)).length;
  const stale: string[] = [];
  for (const [name, value] of counter.counts) {
    if (expired(parseCounter(name)!.bucket, at)) stale.push(name);
    else if (inContext(name)) count += value;
  }
  if (stale.length) await dropCounters(userId, stale);
  await foldIfDue(userId, counter, arrivals, at);
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

/**
 * The counter's part of one message's change by `delta`: its number moves, unless the message is
 * counted lazily and not folded yet (then only `gen`, guarded by `folded` as read).
 */
async function counting(userId: string, item: StoredItem, delta: number) {
  if (item.lz !== true) return counterUpdate(userId, new Map([[counterOf(item), delta]]));
  const counter = await readCounter(userId);
  return unfoldedItem(item, counter) ? counterUpdate(userId, new Map(), counter) : counterUpdate(userId, new Map([[counterOf(item), delta]]));
}

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

/**
 * setInboxFlags, telling what happened: undefined when there is no such message, else whether this
 * call changed it and the tenant context of the message (what the realtime socket's push needs).
 */
export async function changeInboxFlags(
  userId: string,
  messageId: string,
  flags: Flags,
  tenantId?: string,
): Promise<{ changed: boolean; tenantId?: string } | undefined> {
  let of: string | undefined;
  const outcome = await changeFlags(userId, messageId, flags, tenantId, (t) => (of = t));
  return outcome === 'missing' ? undefined : { changed: outcome === 'changed', ...(of !== undefined ? { tenantId: of } : {}) };
}

async function changeFlags(
  userId: string,
  messageId: string,
  flags: Flags,
  tenantId: string | undefined,
  tenantOf?: (tenantId: string | undefined) => void,
): Promise<'changed' | 'unchanged' | 'missing'> {
  return retryOnConflict(
    async () => {
      const item = (await ddb.send(new GetCommand({ TableName: TABLE, Key: keys.inboxMessage(userId, messageId), ConsistentRead: true }))).Item as
        StoredItem | undefined;
      if (!item || !isInboxItem(item) || isExpired(item) || (tenantId !== undefined && item.tenantId !== tenantId)) return 'missing';
      tenantOf?.(typeof item.tenantId === 'string' ? item.tenantId : undefined);
      const change = flagChange(userId, item, flags);
      if (change.before.read === change.after.read && change.before.archived === change.after.archived) return 'unchanged';
      const delta = Number(isUnread(change.after)) - Number(isUnread(change.before));
      const written =
        delta === 0 ? await conditional(new UpdateCommand(change.update.Update)) : await transact([change.update, await counting(userId, item, delta)]);
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
  const counter = items.some((item) => item.lz === true) ? await readCounter(userId) : undefined;
  const deltas = new Map<string, number>();
  let guarded = false;
  for (const item of items) {
    if (counter && unfoldedItem(item, counter)) guarded = true;
    else deltas.set(counterOf(item), (deltas.get(counterOf(item)) ?? 0) - 1);
  }
  const update = counterUpdate(userId, deltas, guarded ? counter : undefined);
  if (await transact([...items.map((item) => flagChange(userId, item, { read: true }).update), update])) return items.length;
  let marked = 0;
  for (const item of items) if ((await changeFlags(userId, String(item.messageId), { read: true }, tenantId)) === 'changed') marked += 1;
  return marked;
}

/**
 * Marks one message of a user's inbox opened (seen): one conditional update, repeatable, changing
 * no counter (an opened message is unread until read). With `tenantId`, only a message of that
 * tenant's context. Returns undefined when there is no such message, else whether it was opened
 * before and its tenant context.
 */
export async function markInboxOpened(userId: string, messageId: string, tenantId?: string): Promise<{ wasOpened: boolean; tenantId?: string } | undefined> {
  const out = await conditionalWrite(
    new UpdateCommand({
      ReturnValues: 'ALL_OLD',
      TableName: TABLE,
      Key: keys.inboxMessage(userId, messageId),
      UpdateExpression: 'SET opened = :true',
      ConditionExpression: `#t = :inbox AND (attribute_not_exists(#ttl) OR #ttl > :now)${tenantId !== undefined ? ' AND tenantId = :tenant' : ''}`,
      ExpressionAttributeNames: { '#t': '_t', '#ttl': 'ttl' },
      ExpressionAttributeValues: {
        ':true': true,
        ':inbox': INBOX,
        ':now': Math.floor(now() / 1000),
        ...(tenantId !== undefined ? { ':tenant': tenantId } : {}),
      },
    }),
  );
  if (!out) return undefined;
  const old = out.Attributes ?? {};
  return { wasOpened: old.opened === true, ...(typeof old.tenantId === 'string' ? { tenantId: old.tenantId } : {}) };
}

/** What the user did with one inbox message (escalation's criteria, domain/escalation.ts): one GetItem of its flags. */
export async function inboxEngagement(userId: string, messageId: string): Promise<{ opened: boolean; read: boolean }> {
  const item = (
    await ddb.send(
      new GetCommand({
        TableName: TABLE,
        Key: keys.inboxMessage(userId, messageId),
        ConsistentRead: true,
        ProjectionExpression: '#t, opened, #read',
        ExpressionAttributeNames: { '#t': '_t', '#read': 'read' },
      }),
    )
  ).Item as StoredItem | undefined;
  return item && isInboxItem(item) ? { opened: item.opened === true || item.read === true, read: item.read === true } : { opened: false, read: false };
}

/** Query pages (of up to 1 MB each) one count of a filtered inbox reads at most. */
export const MAX_COUNT_PAGES = MAX_INBOX_PAGES;

/**
 * How many messages of a user's inbox pass `filter` and have not expired: the unread, not archived
 * ones from the counters (countUnread), any other filter by a walk of the user's partition that
 * returns counts only (Select COUNT), at most MAX_COUNT_PAGES pages. Undefined when the walk did not
 * reach the end within that (a count is exact or not given).
 */
export async function countInbox(userId: string, filter: InboxFilter): Promise<number | undefined> {
  if (filter.read === false && filter.archived === false) return countUnread(userId, filter.tenantId);
  const conditions = ['#t = :inbox', '(attribute_not_exists(#ttl) OR #ttl > :now)'];
  const values: Record<string, unknown> = { ':pk': keys.inbox(userId), ':prefix': keys.inboxPrefix, ':inbox': INBOX, ':now': Math.floor(now() / 1000) };
  if (filter.tenantId !== undefined) {
    conditions.push('tenantId = :tenant');
    values[':tenant'] = filter.tenantId;
  }
  if (filter.archived !== undefined) {
    conditions.push('#archived = :archived');
    values[':archived'] = filter.archived;
  }
  if (filter.read !== undefined) {
    conditions.push('#read = :read');
    values[':read'] = filter.read;
  }
  let count = 0;
  let start: Record<string, unknown> | undefined;
  for (let pages = 0; pages < MAX_COUNT_PAGES; pages++) {
    const out = await ddb.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        FilterExpression: conditions.join(' AND '),
        ExpressionAttributeNames: {
          '#t': '_t',
          '#ttl': 'ttl',
          ...(filter.archived !== undefined ? { '#archived': 'archived' } : {}),
          ...(filter.read !== undefined ? { '#read': 'read' } : {}),
        },
        ExpressionAttributeValues: values,
        Select: 'COUNT',
        ExclusiveStartKey: start,
      }),
    );
    count += out.Count ?? 0;
    start = out.LastEvaluatedKey;
    if (!start) return count;
  }
  return undefined;
}

/** One message of a user's inbox (of that tenant's context with `tenantId`), unless there is none or it expired. */
export async function getInboxMessage(userId: string, messageId: string, tenantId?: string): Promise<InboxMessage | undefined> {
  const item = (await ddb.send(new GetCommand({ TableName: TABLE, Key: keys.inboxMessage(userId, messageId), ConsistentRead: true }))).Item as
    StoredItem | undefined;
  if (!item || !isInboxItem(item) || isExpired(item) || (tenantId !== undefined && item.tenantId !== tenantId)) return undefined;
  return toMessage(item);
}
