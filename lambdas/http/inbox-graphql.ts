import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { GraphQLError } from 'graphql';
import { runGraphql } from '../shared/graphql';
import { z } from 'zod';
import {
  inboxRules,
  inboxSchema,
  MAX_PAGE,
  MAX_QUERY_CHARS,
  MAX_QUERY_TOKENS,
  storeFilter,
  toNode,
  type ErrorCode,
  type FilterParams,
  type StoreFilter,
} from '../domain/inbox-graphql';
import { inboxAccess, type InboxAccess } from '../domain/tokens';
import { recordEngagement } from '../services/tracking';
import { config } from '../shared/config';
import { ApiError, AuthorizationError, ValidationError } from '../shared/errors';
import { ok, route } from '../shared/router';
import { tokenScopes } from '../shared/tokens';
import { changeInboxFlags, countInbox, getInboxMessage, listInbox, MARK_ALL_CAP, markAllRead, markInboxOpened, setInboxFlags } from '../store/inbox';
import type { BulkEvent, MessageEvent } from '../domain/inbox-socket';
import { pushInboxEvent } from '../services/inbox-push';

/** A GraphQL error of a field, with its code in `extensions` (the request still answers 200). */
const fail = (code: ErrorCode, message: string): GraphQLError => new GraphQLError(message, { extensions: { code } });

/** What one request's token reaches, per scope; a field needing a scope the token lacks is FORBIDDEN. */
interface Context {
  read: InboxAccess;
  write: InboxAccess;
  /** Counts already made in this request, by filter (a page load asks `count` and `totalCount` of one filter). */
  counts: Map<string, Promise<number | undefined>>;
}

function granted(access: InboxAccess): { userId: string; tenantId?: string } {
  if (!access.ok) throw fail('FORBIDDEN', `Forbidden: ${access.error}`);
  return access;
}

function filterOf(params: FilterParams | null | undefined, ctx: Context): { userId: string; filter: StoreFilter } {
  const { userId, tenantId } = granted(ctx.read);
  const mapped = storeFilter(params, tenantId);
  if (!mapped.ok) throw fail(mapped.code, mapped.message);
  return { userId, filter: mapped.value };
}

function count(userId: string, filter: StoreFilter, ctx: Context): Promise<number> {
  const key = JSON.stringify([filter.tenantId ?? null, filter.archived, filter.read ?? null]);
  let counted = ctx.counts.get(key);
  if (!counted) ctx.counts.set(key, (counted = countInbox(userId, filter)));
  return counted.then((n) => {
    if (n === undefined)
      throw fail('NOT_SUPPORTED', 'count: this inbox holds too many messages to count with this filter; narrow it (status: "unread" is always counted)');
    return n;
  });
}

/**
 * With inbox tracking on (TRACKING_INBOX, docs/decisions.md D22), as the REST inbox's `tracked()`:
 * an open or a read moves the message to OPENED, a click to CLICKED, through the status machine; a
 * failure to apply it is logged, the call still succeeds.
 */
const track = async (messageId: string, kind: 'OPENED' | 'CLICKED'): Promise<void> => {
  if (config.TRACKING_INBOX) await recordEngagement(messageId, kind);
};

const notFound = (messageId: string) => fail('NOT_FOUND', `Message ${messageId} not found`);

/** One state change of one message of the token's user (its tenant's when scoped), as the REST routes do, pushed to the user's sockets as `push`. */
const change =
  (flags: { read?: boolean; archived?: boolean }, push: MessageEvent) =>
  async ({ messageId }: { messageId: string }, ctx: Context): Promise<boolean> => {
    const { userId, tenantId } = granted(ctx.write);
    const done = await changeInboxFlags(userId, messageId, flags, tenantId);
    if (!done) throw notFound(messageId);
    if (flags.read === true) await track(messageId, 'OPENED');
    if (done.changed) await pushInboxEvent(userId, { event: push, messageId, tenantId: done.tenantId });
    return true;
  };

/** The mutation of each bulk event. */
const operation: Record<BulkEvent, string> = { 'archive-read': 'archiveRead', 'archive-all': 'archiveAll', 'mark-all-read': 'markAllRead' };

/** Calls of the store's read-all (MARK_ALL_CAP each) one `markAllRead` makes at most. */
const MARK_ALL_ROUNDS = 10;
/** Messages one archiveRead / archiveAll archives at most, and messages per listing page it reads. */
const ARCHIVE_CAP = MARK_ALL_CAP;
const ARCHIVE_PAGE = 100;

/**
 * Archives the not archived messages of the token's user (read ones only with `read`), newest
 * first, one store change each (counters kept by it): at most ARCHIVE_CAP per call, an error saying
 * how many it archived when more remain.
 */
async function archiveEvery(name: BulkEvent, ctx: Context, read: true | undefined): Promise<boolean> {
  const { userId, tenantId } = granted(ctx.write);
  let archived = 0;
  let cursor: string | undefined;
  do {
    const page = await listInbox(userId, { tenantId, archived: false, read, limit: ARCHIVE_PAGE, cursor });
    for (const m of page.items) {
      if (archived >= ARCHIVE_CAP)
        throw fail('NOT_SUPPORTED', `${operation[name]}: archived ${archived} messages, the most one call archives; call it again for the rest`);
      if (await setInboxFlags(userId, m.messageId, { archived: true }, tenantId)) archived += 1;
    }
    cursor = page.cursor;
  } while (cursor);
  if (archived > 0) await pushInboxEvent(userId, { event: name, tenantId });
  return true;
}

const rootValue = {
  count: async ({ params }: { params?: FilterParams | null }, ctx: Context) => {
    const { userId, filter } = filterOf(params, ctx);
    return count(userId, filter, ctx);
  },
  messages: async ({ params, limit, after }: { params?: FilterParams | null; limit: number; after?: string | null }, ctx: Context) => {
    const { userId, filter } = filterOf(params, ctx);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw fail('BAD_USER_INPUT', `limit: must be 1-${MAX_PAGE}`);
    if (after !== undefined && after !== null && after.length > 2048) throw fail('BAD_USER_INPUT', 'after: must be at most 2048 characters');
    const page = await listInbox(userId, { ...filter, limit, cursor: after || undefined }).catch((e: unknown) => {
      // The one refusal of a listing: a cursor that is not one of this user's inbox.
      throw e instanceof ValidationError ? fail('BAD_USER_INPUT', 'after: not a valid cursor') : e;
    });
    return {
      totalCount: () => count(userId, filter, ctx),
      pageInfo: { startCursor: page.cursor ?? null, hasNextPage: page.cursor !== undefined },
      nodes: page.items.map(toNode),
    };
  },
  read: change({ read: true }, 'read'),
  unread: change({ read: false }, 'unread'),
  archive: change({ archived: true }, 'archive'),
  unarchive: change({ archived: false }, 'unarchive'),
  // Seen, not read: the escalation criterion `viewed` is met; the unread count does not change.
  opened: async ({ messageId }: { messageId: string }, ctx: Context) => {
    const { userId, tenantId } = granted(ctx.write);
    const opened = await markInboxOpened(userId, messageId, tenantId);
    if (!opened) throw notFound(messageId);
    await track(messageId, 'OPENED');
    if (!opened.wasOpened) await pushInboxEvent(userId, { event: 'opened', messageId, tenantId: opened.tenantId });
    return true;
  },
  clicked: async ({ messageId, trackingId }: { messageId: string; trackingId: string }, ctx: Context) => {
    const { userId, tenantId } = granted(ctx.write);
    const message = await getInboxMessage(userId, messageId, tenantId);
    if (!message) throw notFound(messageId);
    if (trackingId !== messageId) throw fail('BAD_USER_INPUT', `trackingId: not the click tracking id of message ${messageId}`);
    if (!config.TRACKING_INBOX) throw fail('NOT_SUPPORTED', 'clicked: inbox tracking is off (TRACKING_INBOX=off), a click is not recorded');
    await track(messageId, 'CLICKED');
    await pushInboxEvent(userId, { event: 'clicked', messageId, tenantId: message.tenantId });
    return true;
  },
  markAllRead: async (_: unknown, ctx: Context) => {
    const { userId, tenantId } = granted(ctx.write);
    let cursor: string | undefined;
    let marked = 0;
    for (let round = 0; round < MARK_ALL_ROUNDS; round++) {
      const out = await markAllRead(userId, tenantId, cursor);
      marked += out.marked;
      if (!out.more) {
        if (marked > 0) await pushInboxEvent(userId, { event: 'mark-all-read', tenantId });
        return true;
      }
      cursor = out.cursor;
    }
    throw fail('NOT_SUPPORTED', `markAllRead: marked ${marked} messages read, the most one call marks; call it again for the rest`);
  },
  archiveRead: (_: unknown, ctx: Context) => archiveEvery('archive-read', ctx, true),
  archiveAll: (_: unknown, ctx: Context) => archiveEvery('archive-all', ctx, undefined),
};

const body = z.strictObject({
  query: z.string().min(1).max(MAX_QUERY_CHARS),
  operationName: z.string().max(256).optional(),
  variables: z.record(z.string(), z.unknown()).optional(),
});

/**
 * `POST /inbox/graphql`: the inbox GraphQL endpoint Courier's browser client speaks (its
 * `apiUrls.inbox.graphql`), for a user token only, with the REST inbox's scopes and tenant rule.
 * A missing or invalid token is a 401 (userTokenAuth); everything else answers 200 with
 * GraphQL's `{ data, errors }`. An `x-courier-user-id` naming another user than the token's is 403.
 */
export const inboxGraphqlRoute = route({
  method: 'POST',
  path: '/inbox/graphql',
  body,
  handler: async ({ body: req, headers, event }) => {
    const result = await runGraphql({
      schema: inboxSchema,
      rules: inboxRules,
      maxTokens: MAX_QUERY_TOKENS,
      request: req,
      rootValue,
      contextValue: context(event, headers['x-courier-user-id']),
      // An ApiError of the store (a cursor of another query: 400) becomes an error with its type as code.
      codeOf: (e) => (e instanceof ApiError ? e.type : undefined),
    });
    // A GraphQL error as sent: message, locations, path, and the code of a field's error (GraphQLError.toJSON).
    return ok(result);
  },
});

function context(event: APIGatewayProxyEventV2, claimedUser: string | undefined): Context {
  const scopes = tokenScopes(event);
  if (claimedUser !== undefined && claimedUser !== '' && scopes.userIds.length === 1 && claimedUser !== scopes.userIds[0])
    throw new AuthorizationError('Forbidden: header x-courier-user-id names another user than the token');
  return { read: inboxAccess(scopes, 'inbox:read:messages'), write: inboxAccess(scopes, 'inbox:write:events'), counts: new Map() };
}
