import type { OutputBlock } from '../domain/render';
import { GSI1, keys } from './keys';
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
      ...keys.inboxMessage(userId, messageId),
      ...(tenantId === undefined ? {} : keys.inboxTenantIndex(userId, tenantId, messageId)),
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
 * that tenant's context (through gsi1). `cursor` comes from the previous page.
 */
export async function listInbox(userId: string, opts: { tenantId?: string; limit: number; cursor?: string }): Promise<{ items: InboxMessage[]; cursor?: string }> {
  const page = await queryPage({
    ...(opts.tenantId === undefined ? { partition: keys.inbox(userId) } : { index: GSI1, partition: keys.inboxOfTenant(userId, opts.tenantId) }),
    prefix: keys.inboxPrefix,
    limit: opts.limit,
    cursor: opts.cursor,
    newestFirst: true,
  });
  return { items: page.items.map(toMessage), cursor: page.cursor };
}
