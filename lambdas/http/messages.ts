import { z } from 'zod';
import { parseMessageId } from '../domain/send';
import { apiHandler } from '../shared/api';
import { NotFoundError, ValidationError } from '../shared/errors';
import { noContent, ok, route, type Reply } from '../shared/router';
import {
  archivedRequests,
  archiveRequest,
  findMessage,
  listRequestMessages,
  recipientMessages,
  requestHourAtOrBefore,
  requestsForTrace,
  requestsInBucket,
  writeMessage,
  type MessageRecord,
} from '../store/messages';
import { now as clockNow } from '../shared/clock';
import { packCursor, unpackCursor } from '../shared/cursor';
import { changed, retryOnConflict } from '../store/conditional';

const csv = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  )
  .optional();

const listQuery = z.object({
  cursor: z.string().max(4096).optional(),
  archived: z.enum(['true', 'false']).optional(),
  enqueued_after: z.string().max(64).optional(),
  event: z.string().max(256).optional(),
  list: z.string().max(256).optional(),
  messageId: z.string().max(128).optional(),
  notification: z.string().max(256).optional(),
  provider: csv,
  recipient: z.string().max(320).optional(),
  status: csv,
  tag: csv,
  tags: csv,
  tenant_id: z.string().max(256).optional(),
  traceId: z.string().max(256).optional(),
});
type ListQuery = z.infer<typeof listQuery>;

/** Courier's MessageDetails, plus the channel and tenant that served the message. */
export function messageDetails(m: MessageRecord) {
  return {
    id: m.id,
    status: m.status,
    enqueued: m.enqueued,
    event: m.event,
    notification: m.notification,
    recipient: m.recipient,
    ...(m.sent !== undefined ? { sent: m.sent } : {}),
    ...(m.delivered !== undefined ? { delivered: m.delivered } : {}),
    ...(m.opened !== undefined ? { opened: m.opened } : {}),
    ...(m.clicked !== undefined ? { clicked: m.clicked } : {}),
    ...(m.error ? { error: m.error } : {}),
    reason: m.reason ?? null,
    ...(m.channel ? { channel: m.channel } : {}),
    ...(m.provider ? { providers: [{ channel: { key: m.channel }, provider: m.provider, reference: m.providerMessageId ?? null }] } : {}),
    ...(m.tenantId ? { tenant_id: m.tenantId } : {}),
    ...(m.listId ? { list_id: m.listId } : {}),
    tags: m.tags,
    ...(m.traceId ? { trace_id: m.traceId } : {}),
  };
}

function matches(m: MessageRecord, q: ListQuery, after: number | undefined): boolean {
  if (after !== undefined && m.enqueued <= after) return false;
  if (q.status?.length && !q.status.includes(m.status)) return false;
  if (q.recipient && m.recipient !== q.recipient && m.userId !== q.recipient) return false;
  if (q.event && m.event !== q.event) return false;
  if (q.notification && m.notification !== q.notification) return false;
  if (q.list && m.listId !== q.list) return false;
  if (q.tenant_id && m.tenantId !== q.tenant_id) return false;
  if (q.traceId && m.traceId !== q.traceId) return false;
  if (q.provider?.length && !q.provider.includes(m.provider ?? '')) return false;
  const tags = [...(q.tag ?? []), ...(q.tags ?? [])];
  return !tags.length || tags.some((t) => m.tags.includes(t));
}

/** The message a message id names (a single send's pending message too), or undefined. */
async function findRecord(messageId: string): Promise<MessageRecord | undefined> {
  const id = parseMessageId(messageId);
  const stored = id && (await findMessage(id.requestId, id.suffix));
  return stored ? stored.record : undefined;
}

async function mustGet(messageId: string): Promise<MessageRecord> {
  const found = await findRecord(messageId);
  if (!found) throw new NotFoundError(`Message ${messageId} not found`);
  return found;
}

const PAGE = 50;
/** Index queries one listing call may spend before it answers with what it found and a cursor. */
const QUERY_BUDGET = 60;
const HOUR = 3600 * 1000;

const browseCursor = z.object({ b: z.number().int(), k: z.string().optional(), r: z.string().optional(), m: z.string().optional() });
type BrowseCursor = z.infer<typeof browseCursor>;

const decode = (cursor: string | undefined): BrowseCursor | undefined => (cursor ? unpackCursor(cursor, browseCursor) : undefined);
const encode = (c: BrowseCursor) => packCursor(c);

/**
 * Lists messages newest first by walking the hourly request buckets that hold requests (the hours
 * directory names them, so empty hours cost nothing and the walk knows when nothing older exists)
 * and each request's messages, applying the filters as it goes; it stops after a page of results
 * or its query budget, returning a cursor that resumes exactly where it stopped. There is no
 * look-back window: the cursor pages back through everything retained. Archived requests'
 * messages are left out unless `archived=true`. A trace id or message id is looked up directly.
 */
async function listMessages(q: ListQuery): Promise<{ results: MessageRecord[]; cursor?: string }> {
  const parsedAfter = q.enqueued_after === undefined ? undefined : /^\d+$/.test(q.enqueued_after) ? Number(q.enqueued_after) : Date.parse(q.enqueued_after);
  if (parsedAfter !== undefined && Number.isNaN(parsedAfter))
    throw new ValidationError('Invalid request: query.enqueued_after must be epoch ms or an ISO-8601 time');
  const withArchived = q.archived === 'true';
  if (q.messageId) {
    const m = await findRecord(q.messageId);
    const shown = m && matches(m, q, parsedAfter) && (withArchived || !(await archivedRequests([m.requestId])).size);
    return { results: shown ? [m] : [] };
  }
  if (q.traceId) return listTrace(q, parsedAfter, withArchived);
  if (q.recipient) return listRecipient(q, parsedAfter, withArchived);

  const oldestHour = parsedAfter === undefined ? undefined : parsedAfter - (parsedAfter % HOUR);
  const results: MessageRecord[] = [];
  let queries = 0;
  /** The next older hour holding requests, or undefined: the listing ends. */
  const olderThan = async (at: number): Promise<BrowseCursor | undefined> => {
    queries += 1;
    const hour = await requestHourAtOrBefore(at);
    return hour === undefined || (oldestHour !== undefined && hour < oldestHour) ? undefined : { b: hour };
  };
  let c = q.cursor ? decode(q.cursor) : await olderThan(clockNow());
  while (c && results.length < PAGE && queries < QUERY_BUDGET) {
    if (c.r) {
      const page = await listRequestMessages(c.r, PAGE, c.m);
      queries += 1;
      results.push(...page.items.filter((m) => matches(m, q, parsedAfter)).sort((a, b) => a.id.localeCompare(b.id)));
      c = page.cursor ? { ...c, m: page.cursor } : { b: c.b, k: c.k };
      continue;
    }
    if (c.k === 'END') {
      c = await olderThan(c.b - 1);
      continue;
    }
    const bucket = await requestsInBucket(c.b, 1, c.k);
    queries += 1;
    const next = bucket.requests[0];
    c = { b: c.b, k: bucket.cursor ?? 'END', ...(next && (withArchived || !next.archived) ? { r: next.id } : {}) };
  }
  return { results, cursor: c ? encode(c) : undefined };
}

/**
 * A recipient's messages newest first, from the recipient index: one Query and one BatchGetItem a
 * page, however many messages others have, with no look-back window. The other filters apply to
 * the page (which may then be short; the cursor continues); past `enqueued_after` it ends.
 */
async function listRecipient(q: ListQuery, after: number | undefined, withArchived: boolean): Promise<{ results: MessageRecord[]; cursor?: string }> {
  const page = await recipientMessages(q.recipient!, PAGE, q.cursor, withArchived);
  const results = page.items.filter((m) => matches(m, q, after));
  const reachedAfter = after !== undefined && page.items.some((m) => m.enqueued <= after);
  return { results, cursor: reachedAfter ? undefined : page.cursor };
}

/** A trace's requests newest first, each request's messages a page at a time; the cursor says where. */
async function listTrace(q: ListQuery, after: number | undefined, withArchived: boolean): Promise<{ results: MessageRecord[]; cursor?: string }> {
  const traced = (await requestsForTrace(q.traceId!)).reverse();
  const archived = withArchived ? new Set<string>() : await archivedRequests(traced);
  const requests = traced.filter((id) => !archived.has(id));
  let c: BrowseCursor = decode(q.cursor) ?? { b: 0 };
  const results: MessageRecord[] = [];
  let queries = 0;
  while (c.b < requests.length && results.length < PAGE && queries < QUERY_BUDGET) {
    const page = await listRequestMessages(requests[c.b], PAGE, c.m);
    queries += 1;
    results.push(...page.items.filter((m) => matches(m, q, after)));
    c = page.cursor ? { b: c.b, m: page.cursor } : { b: c.b + 1 };
  }
  return { results, cursor: c.b < requests.length ? encode(c) : undefined };
}

/** Attempts at a cancel whose message a worker keeps changing before answering a retryable 409. */
const CANCEL_ATTEMPTS = 5;

/** Statuses a message can still be cancelled from: nothing has been routed yet. */
const CANCELABLE = new Set(['ENQUEUED', 'DELAYED']);

/**
 * Cancels a DELAYED or ENQUEUED message with a write conditional on its version, so a worker that
 * claims it at the same moment either wins (409 here) or finds it CANCELED and stops.
 */
async function cancel(messageId: string): Promise<Reply> {
  const id = parseMessageId(messageId);
  return retryOnConflict(
    async () => {
      const stored = id && (await findMessage(id.requestId, id.suffix));
      if (!stored) throw new NotFoundError(`Message ${messageId} not found`);
      const m = stored.record;
      if (!CANCELABLE.has(m.status) || Object.keys(m.channels).length) {
        return { status: 409, body: messageDetails(m), headers: { 'x-should-retry': 'false' } };
      }
      const canceled: MessageRecord = { ...m, status: 'CANCELED', history: [...m.history, { ts: clockNow(), type: 'CANCELED' }] };
      if (!(await writeMessage(canceled, stored.expected))) throw changed(`Message ${messageId}`);
      return ok(messageDetails(canceled));
    },
    { attempts: CANCEL_ATTEMPTS },
  );
}

export const routes = [
  route({
    method: 'PUT',
    path: '/requests/:request_id/archive',
    handler: async ({ params }) => {
      if (!(await archiveRequest(params.request_id))) throw new NotFoundError(`Request ${params.request_id} not found`);
      return noContent();
    },
  }),
  route({
    method: 'POST',
    path: '/messages/:message_id/cancel',
    body: z.unknown(),
    handler: async ({ params }) => cancel(params.message_id),
  }),
  route({
    method: 'GET',
    path: '/messages',
    query: listQuery,
    handler: async ({ query }) => {
      const page = await listMessages(query);
      return ok({ results: page.results.map(messageDetails), paging: { cursor: page.cursor ?? null, more: page.cursor !== undefined } });
    },
  }),
  route({
    method: 'GET',
    path: '/messages/:message_id',
    handler: async ({ params }) => ok(messageDetails(await mustGet(params.message_id))),
  }),
  route({
    method: 'GET',
    path: '/messages/:message_id/history',
    query: z.object({ type: z.string().max(64).optional() }),
    handler: async ({ params, query }) => {
      const m = await mustGet(params.message_id);
      return ok({ results: m.history.filter((e) => !query.type || e.type === query.type) });
    },
  }),
  route({
    method: 'GET',
    path: '/messages/:message_id/output',
    handler: async ({ params }) => {
      const m = await mustGet(params.message_id);
      return ok({
        results: m.outputs.map((o) => ({
          channel: o.channel,
          channel_id: o.channel,
          content: {
            html: o.html ?? null,
            text: o.text ?? null,
            title: o.title ?? null,
            subject: o.subject ?? null,
            body: o.body ?? null,
            blocks: o.blocks ?? [],
          },
        })),
      });
    },
  }),
];

export const handler = apiHandler(routes);
