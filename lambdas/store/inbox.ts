import type { OutputBlock } from '../domain/render';
import { keys } from './keys';
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../shared/aws';
import { isConditionFailure, putItem, queryPage, TABLE, type StoredItem } from './table';

/** What the inbox shows of a message: its rendered inbox content. */
export interface InboxContent {
  title?: string;
  body?: string;
  blocks?: OutputBlock[];
}

export interface InboxMessage extends InboxContent {
  messageId: string;
  /** The tenant context the message was sent in, if any. */
  tenantId?: string;
  /** Epoch ms when the message reached the inbox. */
  created: number;
  read: boolean;
  archived: boolean;
}

/**
 * Adds a message to a user's inbox unless it is already there. The write is conditional on the
 * key, which is the message id, so a delivery retried after a crash or a duplicate queue record
 * never shows the message twice. Returns whether this call created it.
 */
export function putInboxMessage(userId: string, message: InboxContent & { messageId: string; tenantId?: string }): Promise<boolean> {
  const { messageId, tenantId, title, body, blocks } = message;
  return putItem(
    {
      // No index entry for the tenant: a GSI write would double the cost of every inbox delivery;
      // a per-tenant listing filters the user's own partition instead.
      ...keys.inboxMessage(userId, messageId),
      _t: 'INBOX',
      messageId,
      tenantId,
      created: Date.now(),
      // Flags as attributes, not in `doc`: marking read or archived is then a small UpdateItem.
      read: false,
      archived: false,
      doc: JSON.stringify({ title, body, blocks }),
    },
    { rev: undefined },
  );
}

const toMessage = (item: StoredItem): InboxMessage => ({
  ...(JSON.parse(item.doc) as InboxContent),
  messageId: String(item.messageId),
  ...(typeof item.tenantId === 'string' ? { tenantId: item.tenantId } : {}),
  created: Number(item.created),
  read: item.read === true,
  archived: item.archived === true,
});

export interface InboxFilter {
  /** Only messages sent in this tenant's context. */
  tenantId?: string;
  /** Only archived (true) or only not archived (false) messages; both when undefined. */
  archived?: boolean;
  /** Only read (true) or only unread (false) messages; both when undefined. */
  read?: boolean;
}

const matches = (m: InboxMessage, f: InboxFilter): boolean =>
  (f.tenantId === undefined || m.tenantId === f.tenantId) && (f.archived === undefined || m.archived === f.archived) && (f.read === undefined || m.read === f.read);

/**
 * A page of a user's inbox, newest first, with the messages that pass `filter` (tenant, archived,
 * read): a filter on the user's own partition, reading at most `maxPages` pages per call, so a
 * filtered page may be short; the cursor continues. `cursor` comes from the previous page.
 */
export async function listInbox(userId: string, opts: InboxFilter & { limit: number; cursor?: string; maxPages?: number }): Promise<{ items: InboxMessage[]; cursor?: string }> {
  const filtered = opts.tenantId !== undefined || opts.archived !== undefined || opts.read !== undefined;
  const items: InboxMessage[] = [];
  let cursor = opts.cursor;
  for (let pages = 0; pages < (opts.maxPages ?? 10); pages++) {
    const page = await queryPage({ partition: keys.inbox(userId), prefix: keys.inboxPrefix, limit: opts.limit - items.length, cursor, newestFirst: true });
    items.push(...page.items.map(toMessage).filter((m) => matches(m, opts)));
    cursor = page.cursor;
    if (!cursor || items.length >= opts.limit || !filtered) break;
  }
  return { items, cursor };
}

/** Unread, not archived messages of a user (in one tenant's context when given), counted up to `cap`. */
export async function countUnread(userId: string, tenantId: string | undefined, cap = 10_000): Promise<number> {
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const out = await ddb.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        FilterExpression: `#read = :false AND #archived = :false${tenantId === undefined ? '' : ' AND tenantId = :tenant'}`,
        ExpressionAttributeNames: { '#read': 'read', '#archived': 'archived' },
        ExpressionAttributeValues: { ':pk': keys.inbox(userId), ':prefix': keys.inboxPrefix, ':false': false, ...(tenantId === undefined ? {} : { ':tenant': tenantId }) },
        Select: 'COUNT',
        ExclusiveStartKey: start,
      }),
    );
    count += out.Count ?? 0;
    start = out.LastEvaluatedKey;
  } while (start && count < cap);
  return Math.min(count, cap);
}

/**
 * Sets `read` and/or `archived` on one message of a user's inbox, in one UpdateItem. With
 * `tenantId`, only a message of that tenant's context. Returns false when there is no such message.
 */
export async function setInboxFlags(userId: string, messageId: string, flags: { read?: boolean; archived?: boolean }, tenantId?: string): Promise<boolean> {
  const sets = Object.entries(flags).filter(([, v]) => v !== undefined);
  try {
    await ddb.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: keys.inboxMessage(userId, messageId),
        UpdateExpression: `SET ${sets.map(([k]) => `#${k} = :${k}`).join(', ')}`,
        ConditionExpression: `attribute_exists(pk)${tenantId === undefined ? '' : ' AND tenantId = :tenant'}`,
        ExpressionAttributeNames: Object.fromEntries(sets.map(([k]) => [`#${k}`, k])),
        ExpressionAttributeValues: { ...Object.fromEntries(sets.map(([k, v]) => [`:${k}`, v])), ...(tenantId === undefined ? {} : { ':tenant': tenantId }) },
      }),
    );
    return true;
  } catch (e) {
    if (isConditionFailure(e)) return false;
    throw e;
  }
}

/**
 * Marks every unread, not archived message of a user read (in one tenant's context when given), at
 * most `cap` per call: one UpdateItem each, 25 at a time. Returns how many it marked and whether
 * unread messages may remain (the caller calls again).
 */
export async function markAllRead(userId: string, tenantId: string | undefined, cap = 500): Promise<{ marked: number; more: boolean }> {
  let marked = 0;
  let cursor: string | undefined;
  do {
    const page = await listInbox(userId, { tenantId, read: false, archived: false, limit: Math.min(25, cap - marked), cursor });
    const done = await Promise.all(page.items.map((m) => setInboxFlags(userId, m.messageId, { read: true }, tenantId)));
    marked += done.filter(Boolean).length;
    cursor = page.cursor;
  } while (cursor && marked < cap);
  return { marked, more: cursor !== undefined };
}
