import type { OutputBlock } from '../domain/render';
import { keys } from './keys';
import { putItem, queryPage, type StoredItem } from './table';

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

/**
 * A page of a user's inbox, newest first: every message, or with `tenantId` only those sent in
 * that tenant's context (a filter on the user's partition, reading at most `maxPages` pages per
 * call, so a filtered page may be short; the cursor continues). `cursor` comes from the previous page.
 */
export async function listInbox(userId: string, opts: { tenantId?: string; limit: number; cursor?: string; maxPages?: number }): Promise<{ items: InboxMessage[]; cursor?: string }> {
  const items: InboxMessage[] = [];
  let cursor = opts.cursor;
  for (let pages = 0; pages < (opts.maxPages ?? 10); pages++) {
    const page = await queryPage({ partition: keys.inbox(userId), prefix: keys.inboxPrefix, limit: opts.limit, cursor, newestFirst: true });
    items.push(...page.items.map(toMessage).filter((m) => opts.tenantId === undefined || m.tenantId === opts.tenantId));
    cursor = page.cursor;
    if (!cursor || items.length >= opts.limit || opts.tenantId === undefined) break;
  }
  return { items, cursor };
}
