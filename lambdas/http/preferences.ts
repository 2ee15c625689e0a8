import { z } from 'zod';
import { apiHandler } from '../shared/api';
import { documentRoutes } from './documents';
import { ok, route } from '../shared/router';
import { topics, type Topic } from '../store/preferences';
import type { StoredDoc } from '../store/documents';
import { preferenceStatus, routingEntry } from './schemas';
import { throttleSchema } from '../domain/throttle';
import { topicDigestSchema } from '../domain/automations';

/** Subscription topics: Courier manages them in its UI; here they have an API (our addition). */
const topicBody = z.object({
  name: z.string().min(1).max(256),
  default_status: preferenceStatus.default('OPTED_IN'),
  has_custom_routing: z.boolean().optional(),
  custom_routing: z.array(routingEntry).max(10).optional(),
  /** Our extension (docs/decisions.md D26): at most `limit` messages of the topic per user in each `period`; null removes it. */
  throttle: throttleSchema.nullish().transform((t) => t ?? undefined),
  /** Our extension (docs/decisions.md D27): the topic's messages to a user collect into one digest (a batch step's window and retain); null removes it. */
  digest: topicDigestSchema.nullish().transform((d) => d ?? undefined),
});

const describe = (t: StoredDoc<Topic>) => ({ id: t.id, ...t.doc, created: t.created, updated: t.updated });

export const routes = [
  ...documentRoutes({ path: '/preferences/topics', param: 'topic_id', noun: 'Topic', kind: 'preferences-topic', store: topics, describe: describe }),
  route({
    method: 'PUT',
    path: '/preferences/topics/:topic_id',
    body: topicBody,
    audit: { type: 'preferences-topic:updated', target: ({ params }) => `preferences-topic:${params.topic_id}` },
    handler: async ({ params, body }) => ok(describe(await topics.put(params.topic_id, body))),
  }),
];

export const handler = apiHandler(routes);
