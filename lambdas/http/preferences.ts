import { z } from 'zod';
import { apiHandler } from '../shared/api';
import { NotFoundError } from '../shared/errors';
import { noContent, ok, route } from '../shared/router';
import { topics, type Topic } from '../store/preferences';
import type { StoredDoc } from '../store/documents';
import { CLASSIC_PAGE_SIZE, classicPage, cursorQuery } from './paging';
import { preferenceStatus, routingEntry } from './schemas';

/** Subscription topics: Courier manages them in its UI; here they have an API (our addition). */
const topicBody = z.object({
  name: z.string().min(1).max(256),
  default_status: preferenceStatus.default('OPTED_IN'),
  has_custom_routing: z.boolean().optional(),
  custom_routing: z.array(routingEntry).max(10).optional(),
});

const describe = (t: StoredDoc<Topic>) => ({ id: t.id, ...t.doc, created: t.created, updated: t.updated });

export const routes = [
  route({
    method: 'PUT',
    path: '/preferences/topics/:topic_id',
    body: topicBody,
    handler: async ({ params, body }) => ok(describe((await topics.put(params.topic_id, body))!)),
  }),
  route({
    method: 'GET',
    path: '/preferences/topics/:topic_id',
    handler: async ({ params }) => {
      const topic = await topics.get(params.topic_id);
      if (!topic) throw new NotFoundError(`Topic ${params.topic_id} not found`);
      return ok(describe(topic));
    },
  }),
  route({
    method: 'DELETE',
    path: '/preferences/topics/:topic_id',
    handler: async ({ params }) => {
      await topics.delete(params.topic_id);
      return noContent();
    },
  }),
  route({
    method: 'GET',
    path: '/preferences/topics',
    query: cursorQuery,
    handler: async ({ query }) => {
      const page = await topics.list(CLASSIC_PAGE_SIZE, query.cursor);
      return ok(classicPage('results', page.items.map(describe), page.cursor));
    },
  }),
];

export const handler = apiHandler(routes);
