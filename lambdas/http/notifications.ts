import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { contentSchema } from '../domain/render';
import { routingSchema } from '../domain/routing';
import { apiHandler } from '../shared/api';
import { ConflictError, NotFoundError } from '../shared/errors';
import { noContent, ok, replyId, route } from '../shared/router';
import type { StoredDoc } from '../store/documents';
import {
  archiveTemplate,
  getPublishedVersion,
  listVersions,
  mappedTemplateId,
  publish,
  readTemplate,
  saveDraft,
  templates,
  type NotificationBody,
  type TemplateDoc,
} from '../store/templates';
import { CLASSIC_PAGE_SIZE, classicPage, cursorQuery } from './paging';
import { bodyId } from './schemas';

/** Event ids one notification maps (its write and their mapping items are one transaction). */
const MAX_EVENT_IDS = 40;

const notificationBody = z.object({
  notification: z.object({
    name: z.string().min(1).max(256),
    tags: z.array(z.string().max(128)).max(50).default([]),
    brand: z.object({ id: bodyId }).nullish(),
    subscription: z.object({ topic_id: bodyId }).nullish(),
    routing: z.union([z.object({ strategy_id: bodyId }), routingSchema]).nullish(),
    content: contentSchema,
    /** Our addition to the SDK's body (Courier maps events in its UI): inbound events that send this notification. */
    event_ids: z
      .array(bodyId)
      .max(MAX_EVENT_IDS)
      .refine((ids) => new Set(ids).size === ids.length, 'must not repeat an event id')
      .nullish(),
  }),
  state: z.enum(['DRAFT', 'PUBLISHED']).optional(),
});

type Body = z.infer<typeof notificationBody>;
const toNotification = (b: Body['notification']): NotificationBody => ({
  name: b.name,
  tags: b.tags,
  brand: b.brand ?? null,
  subscription: b.subscription ?? null,
  routing: (b.routing as NotificationBody['routing']) ?? null,
  content: b.content as NotificationBody['content'],
  ...(b.event_ids?.length ? { event_ids: b.event_ids } : {}),
});

const describe = (t: StoredDoc<TemplateDoc>, notification: NotificationBody, version: string) => ({
  id: t.id,
  ...notification,
  state: t.doc.state,
  version,
  created: t.created,
  creator: 'api',
  updated: t.updated,
  updater: 'api',
});

async function mustGet(id: string): Promise<StoredDoc<TemplateDoc>> {
  const t = await templates.get(id);
  if (!t || t.doc.archived) throw new NotFoundError(`Notification ${id} not found`);
  return t;
}

/** Saves the draft, then publishes it when asked (from the revision just written: 409 if another request got in between). */
async function save(id: string, body: Body, createOnly: boolean) {
  const saved = await saveDraft(id, toNotification(body.notification), createOnly);
  if (!saved) throw new ConflictError(`Notification ${id} already exists`);
  const current = body.state === 'PUBLISHED' ? await publish(id, saved) : saved.stored.doc;
  return describe({ ...saved.stored, doc: current }, current.draft, 'draft');
}

export const routes = [
  route({
    method: 'POST',
    path: '/notifications',
    body: notificationBody,
    audit: { type: 'notification:created', target: ({ reply }) => `notification:${replyId(reply)}` },
    handler: async ({ body }) => ok(await save(randomUUID(), body, true)),
  }),
  route({
    method: 'PUT',
    path: '/notifications/:id',
    body: notificationBody,
    audit: { type: 'notification:updated', target: ({ params }) => `notification:${params.id}` },
    handler: async ({ params, body }) => ok(await save(params.id, body, false)),
  }),
  route({
    method: 'GET',
    path: '/notifications/:id',
    query: z.object({ version: z.union([z.enum(['draft', 'published']), z.string().regex(/^v\d{1,9}$/, 'must be draft, published or vN')]).optional() }),
    handler: async ({ params, query }) => {
      const t = await mustGet(params.id);
      const version = query.version ?? 'draft';
      if (version === 'draft') return ok(describe(t, t.doc.draft, 'draft'));
      const n = version === 'published' ? t.doc.published : Number(version.slice(1));
      const v = n ? await getPublishedVersion(params.id, n) : undefined;
      if (!v) throw new NotFoundError(`Notification ${params.id} has no ${version} version`);
      return ok(describe(t, v.notification, v.version));
    },
  }),
  route({
    method: 'DELETE',
    path: '/notifications/:id',
    audit: { type: 'notification:deleted', target: ({ params }) => `notification:${params.id}` },
    handler: async ({ params }) => {
      await archiveTemplate(params.id);
      return noContent();
    },
  }),
  route({
    method: 'POST',
    path: '/notifications/:id/publish',
    audit: { type: 'notification:published', target: ({ params }) => `notification:${params.id}` },
    body: z.object({ version: z.string().optional() }).optional(),
    handler: async ({ params }) => {
      const read = await readTemplate(params.id);
      if (!read || read.stored.doc.archived) throw new NotFoundError(`Notification ${params.id} not found`);
      await publish(params.id, read);
      return noContent();
    },
  }),
  route({
    method: 'GET',
    path: '/notifications/:id/versions',
    query: cursorQuery.extend({ limit: z.coerce.number().int().min(1).max(100).default(20) }),
    handler: async ({ params, query }) => {
      const t = await mustGet(params.id);
      const page = await listVersions(params.id, query.limit, query.cursor);
      const versions = [
        ...(query.cursor ? [] : [{ version: 'draft', created: t.updated, creator: 'api', has_changes: true }]),
        ...page.items.map((v) => ({ version: v.version === `v${t.doc.published}` ? `published:${v.version}` : v.version, created: v.created, creator: 'api' })),
      ];
      return ok({ versions, paging: { cursor: page.cursor ?? null, more: page.cursor !== undefined } });
    },
  }),
  route({
    method: 'GET',
    path: '/notifications',
    query: cursorQuery.extend({ event_id: bodyId.optional() }),
    handler: async ({ query }) => {
      // With event_id: the one notification the event is mapped to, if any (an event maps to one).
      const mapped = query.event_id === undefined ? undefined : await mappedTemplateId(query.event_id);
      const page =
        query.event_id === undefined
          ? await templates.list(CLASSIC_PAGE_SIZE, query.cursor)
          : { items: mapped && !query.cursor ? [await templates.get(mapped)].filter((t) => t !== undefined) : [], cursor: undefined };
      const results = page.items
        .filter((t) => !t.doc.archived)
        .map((t) => ({ id: t.id, name: t.doc.draft.name, state: t.doc.state, tags: t.doc.draft.tags, created: t.created, creator: 'api' }));
      return ok(classicPage('results', results, page.cursor));
    },
  }),
];

export const handler = apiHandler(routes);
