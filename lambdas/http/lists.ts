import { z } from 'zod';
import { compileListPattern, listIdSchema } from '../domain/lists';
import { apiHandler } from '../shared/api';
import { ConflictError, NotFoundError, ValidationError } from '../shared/errors';
import { noContent, ok, route } from '../shared/router';
import {
  deleteSubscription,
  ensureList,
  findLists,
  getList,
  listSubscribers,
  putList,
  putSubscription,
  type ListRecord,
  type Subscription,
} from '../store/lists';
import { CLASSIC_PAGE_SIZE, classicPage, cursorQuery } from './paging';
import { bodyId } from './schemas';
import { recipientPreferencesSchema } from '../domain/preferences';
import { describeList, iso } from './views';
import { everyPage } from '../store/pages';

const describeSubscription = (s: Subscription) => ({
  recipientId: s.recipientId,
  created: iso(s.created),
  ...(s.preferences ? { preferences: s.preferences } : {}),
});

const listParams = z.object({ list_id: listIdSchema });
const subscriptionParams = z.object({ list_id: listIdSchema, user_id: bodyId });
const recipientsBody = z.object({ recipients: z.array(z.object({ recipientId: bodyId, preferences: recipientPreferencesSchema.nullish() })).max(1000) });

async function mustGet(listId: string): Promise<ListRecord> {
  const list = await getList(listId);
  if (!list || list.archived) throw new NotFoundError(`List ${listId} not found`);
  return list;
}

/** Subscribing auto-creates a list, but never revives a deleted one behind the caller's back. */
async function subscribable(listId: string): Promise<void> {
  const list = await ensureList(listId);
  if (list.archived) throw new ConflictError(`List ${listId} is deleted; restore it first (PUT /lists/${listId}/restore)`);
}

/** Validates `?pattern=` for GET /lists, naming the parameter. */
function checkPattern(pattern: string | undefined): string | undefined {
  if (pattern === undefined) return undefined;
  try {
    compileListPattern(pattern);
  } catch (e) {
    throw new ValidationError(`Invalid request: query.pattern: ${(e as Error).message}`);
  }
  return pattern;
}

export const routes = [
  route({
    method: 'GET',
    path: '/lists',
    query: cursorQuery.extend({ pattern: z.string().min(1).max(256).optional() }),
    handler: async ({ query }) => {
      const page = await findLists(checkPattern(query.pattern), CLASSIC_PAGE_SIZE, query.cursor);
      return ok(classicPage('items', page.items.map(describeList), page.cursor));
    },
  }),
  route({
    method: 'GET',
    path: '/lists/:list_id',
    params: listParams,
    handler: async ({ params }) => ok(describeList(await mustGet(params.list_id))),
  }),
  route({
    method: 'PUT',
    path: '/lists/:list_id',
    params: listParams,
    audit: { type: 'list:updated', target: ({ params }) => `list:${params.list_id}` },
    body: z.object({ name: z.string().min(1).max(256), preferences: recipientPreferencesSchema.nullish() }),
    handler: async ({ params, body }) => {
      await putList({ id: params.list_id, name: body.name, ...(body.preferences ? { preferences: body.preferences } : {}) });
      return noContent();
    },
  }),
  route({
    method: 'DELETE',
    path: '/lists/:list_id',
    params: listParams,
    audit: { type: 'list:deleted', target: ({ params }) => `list:${params.list_id}` },
    handler: async ({ params }) => {
      const list = await getList(params.list_id);
      if (list && !list.archived) await putList({ ...list, archived: true });
      return noContent();
    },
  }),
  route({
    method: 'PUT',
    path: '/lists/:list_id/restore',
    params: listParams,
    audit: { type: 'list:restored', target: ({ params }) => `list:${params.list_id}` },
    body: z.unknown(),
    handler: async ({ params }) => {
      const list = await getList(params.list_id);
      if (!list) throw new NotFoundError(`List ${params.list_id} not found`);
      if (list.archived) await putList({ id: list.id, name: list.name, ...(list.preferences ? { preferences: list.preferences } : {}) });
      return noContent();
    },
  }),
  route({
    method: 'GET',
    path: '/lists/:list_id/subscriptions',
    params: listParams,
    query: cursorQuery,
    handler: async ({ params, query }) => {
      await mustGet(params.list_id);
      const page = await listSubscribers(params.list_id, CLASSIC_PAGE_SIZE, query.cursor);
      return ok(classicPage('items', page.items.map(describeSubscription), page.cursor));
    },
  }),
  route({
    method: 'POST',
    path: '/lists/:list_id/subscriptions',
    params: listParams,
    audit: { type: 'list:subscriptions:added', target: ({ params }) => `list:${params.list_id}` },
    body: recipientsBody,
    handler: async ({ params, body }) => {
      await subscribable(params.list_id);
      for (const r of body.recipients) await putSubscription(params.list_id, r.recipientId, r.preferences ?? undefined);
      return noContent();
    },
  }),
  route({
    method: 'PUT',
    path: '/lists/:list_id/subscriptions',
    params: listParams,
    audit: { type: 'list:subscriptions:replaced', target: ({ params }) => `list:${params.list_id}` },
    body: recipientsBody,
    handler: async ({ params, body }) => {
      await subscribable(params.list_id);
      const keep = new Set(body.recipients.map((r) => r.recipientId));
      for await (const subscribers of everyPage((limit, cursor) => listSubscribers(params.list_id, limit, cursor))) {
        for (const s of subscribers) if (!keep.has(s.recipientId)) await deleteSubscription(params.list_id, s.recipientId);
      }
      for (const r of body.recipients) await putSubscription(params.list_id, r.recipientId, r.preferences ?? undefined);
      return noContent();
    },
  }),
  route({
    method: 'PUT',
    path: '/lists/:list_id/subscriptions/:user_id',
    greedy: 'user_id',
    params: subscriptionParams,
    audit: { type: 'list:subscription:updated', target: ({ params }) => `list:${params.list_id}/user:${params.user_id}` },
    body: z.object({ preferences: recipientPreferencesSchema.nullish() }).optional(),
    handler: async ({ params, body }) => {
      await subscribable(params.list_id);
      await putSubscription(params.list_id, params.user_id, body?.preferences ?? undefined);
      return noContent();
    },
  }),
  route({
    method: 'DELETE',
    path: '/lists/:list_id/subscriptions/:user_id',
    greedy: 'user_id',
    params: subscriptionParams,
    audit: { type: 'list:subscription:deleted', target: ({ params }) => `list:${params.list_id}/user:${params.user_id}` },
    handler: async ({ params }) => {
      await deleteSubscription(params.list_id, params.user_id);
      return noContent();
    },
  }),
];

export const handler = apiHandler(routes);
