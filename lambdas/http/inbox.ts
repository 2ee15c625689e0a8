import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { z } from 'zod';
import { inboxAccess } from '../domain/tokens';
import { apiHandler } from '../shared/api';
import { config } from '../shared/config';
import { recordEngagement } from '../services/tracking';
import { AuthorizationError, NotFoundError } from '../shared/errors';
import { noContent, ok, route } from '../shared/router';
import { tokenScopes } from '../shared/tokens';
import { changeInboxFlags, countUnread, listInbox, markAllRead, markInboxOpened, type InboxMessage } from '../store/inbox';
import { pushInboxEvent } from '../services/inbox-push';
import type { MessageEvent } from '../domain/inbox-socket';
import { classicPage } from './paging';
import { idSchema } from '../domain/ids';
import { inboxGraphqlRoute } from './inbox-graphql';

/** What a token reaches: its one user, and its tenant when scoped to one; 403 otherwise. */
function access(event: APIGatewayProxyEventV2, need: 'inbox:read:messages' | 'inbox:write:events', tenantQuery?: string) {
  const a = inboxAccess(tokenScopes(event), need);
  if (!a.ok) throw new AuthorizationError(`Forbidden: ${a.error}`);
  if (a.tenantId !== undefined && tenantQuery !== undefined && tenantQuery !== a.tenantId)
    throw new AuthorizationError(`Forbidden: the token is scoped to another tenant than ${tenantQuery}`);
  return { userId: a.userId, tenantId: a.tenantId ?? tenantQuery };
}

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');
const listQuery = z.object({
  cursor: z.string().max(2048).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  tenant_id: idSchema.optional(),
  /** Default false: archived messages only when asked for. */
  archived: flag.default(false),
  status: z.enum(['read', 'unread']).optional(),
});
const tenantQuery = z.object({ tenant_id: idSchema.optional() });
/** read-all continues from the `cursor` a previous call answered with. */
const readAllQuery = tenantQuery.extend({ cursor: z.string().max(2048).optional() });

const view = (m: InboxMessage) => ({
  messageId: m.messageId,
  title: m.title ?? null,
  body: m.body ?? null,
  blocks: m.blocks ?? [],
  tenant_id: m.tenantId ?? null,
  created: new Date(m.created).toISOString(),
  read: m.read,
  archived: m.archived,
  opened: m.opened,
});

/**
 * With inbox tracking on (TRACKING_INBOX, docs/decisions.md D22), a message the user opened or read
 * moves to OPENED through the status machine (Courier counts an inbox read as an open); a failure
 * to apply it is logged, the user's call still succeeds.
 */
const tracked = async (messageId: string): Promise<void> => {
  if (config.TRACKING_INBOX) await recordEngagement(messageId, 'OPENED');
};

/**
 * One state change of one message of the token's user: 204, or 404 when the user has no such
 * message. A change is pushed to the user's sockets as the event `push` (README "The realtime inbox socket").
 */
const change = (path: string, flags: { read?: boolean; archived?: boolean }, push: MessageEvent) =>
  route({
    method: 'POST',
    path: `/inbox/messages/:message_id/${path}`,
    handler: async ({ params, event }) => {
      const { userId, tenantId } = access(event, 'inbox:write:events');
      const done = await changeInboxFlags(userId, params.message_id, flags, tenantId);
      if (!done) throw new NotFoundError(`Message ${params.message_id} not found`);
      if (flags.read === true) await tracked(params.message_id);
      if (done.changed) await pushInboxEvent(userId, { event: push, messageId: params.message_id, tenantId: done.tenantId });
      return noContent();
    },
  });

/**
 * The end user's inbox, for a user token only (never an API key): the token's user's messages,
 * newest first, and their read / archived state. A token scoped to a tenant sees that tenant's
 * messages only.
 */
export const routes = [
  route({
    method: 'GET',
    path: '/inbox/messages',
    query: listQuery,
    handler: async ({ query, event }) => {
      const { userId, tenantId } = access(event, 'inbox:read:messages', query.tenant_id);
      const page = await listInbox(userId, {
        tenantId,
        archived: query.archived,
        read: query.status === undefined ? undefined : query.status === 'read',
        limit: query.limit,
        cursor: query.cursor,
      });
      return ok(classicPage('results', page.items.map(view), page.cursor));
    },
  }),
  route({
    method: 'GET',
    path: '/inbox/messages/unread-count',
    query: tenantQuery,
    handler: async ({ query, event }) => {
      const { userId, tenantId } = access(event, 'inbox:read:messages', query.tenant_id);
      return ok({ count: await countUnread(userId, tenantId) });
    },
  }),
  route({
    method: 'POST',
    path: '/inbox/messages/read-all',
    query: readAllQuery,
    handler: async ({ query, event }) => {
      const { userId, tenantId } = access(event, 'inbox:write:events', query.tenant_id);
      const out = await markAllRead(userId, tenantId, query.cursor);
      // Pushed once everything is read: a call that leaves more (a cursor) has not read all yet.
      if (out.marked > 0 && !out.more) await pushInboxEvent(userId, { event: 'mark-all-read', tenantId });
      return ok(out);
    },
  }),
  // Seen, not read: the escalation criterion `viewed` (domain/escalation.ts) is met; the unread count does not change.
  route({
    method: 'POST',
    path: '/inbox/messages/:message_id/opened',
    handler: async ({ params, event }) => {
      const { userId, tenantId } = access(event, 'inbox:write:events');
      const opened = await markInboxOpened(userId, params.message_id, tenantId);
      if (!opened) throw new NotFoundError(`Message ${params.message_id} not found`);
      await tracked(params.message_id);
      if (!opened.wasOpened) await pushInboxEvent(userId, { event: 'opened', messageId: params.message_id, tenantId: opened.tenantId });
      return noContent();
    },
  }),
  change('read', { read: true }, 'read'),
  change('unread', { read: false }, 'unread'),
  change('archive', { archived: true }, 'archive'),
  change('unarchive', { archived: false }, 'unarchive'),
  // The same inbox in GraphQL, as Courier's browser client (@trycourier/courier-js) speaks it.
  inboxGraphqlRoute,
];

export const handler = apiHandler(routes, { auth: 'userToken' });
