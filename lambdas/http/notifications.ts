import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  duplicateIds,
  elementChecksums,
  elementIdSchema,
  localeIdSchema,
  LocaleError,
  replaceElement,
  setLocale,
  withChecksums,
  withIds,
} from '../domain/locales';
import { contentSchema, type ElementalContent, type ElementalNode } from '../domain/render';
import { routingSchema } from '../domain/routing';
import { apiHandler } from '../shared/api';
import { now } from '../shared/clock';
import { ConflictError, NotFoundError, ValidationError } from '../shared/errors';
import { noContent, ok, pathId, replyId, route } from '../shared/router';
import type { StoredDoc } from '../store/documents';
import { deleteChecks, getChecks, putChecks } from '../store/template-checks';
import {
  archiveTemplate,
  editDraft,
  getPublishedVersion,
  listVersions,
  mappedTemplateId,
  publish,
  readTemplate,
  saveDraft,
  templates,
  type NotificationBody,
  type TemplateDoc,
  type TemplateRead,
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

/** `version` of GET /notifications/:id and its content: draft, published (the default, as Courier's) or a version such as v3 or v003. */
const versionNumber = z.string().regex(/^v\d{1,9}$/, 'must be a version such as v1 or v001');
const versionQuery = z.union([z.enum(['draft', 'published']), versionNumber], 'must be draft, published or a version such as v1').default('published');

/** The template and the body of one of its versions: the draft, the published one, or vN; 404 when there is none. */
async function versionOf(id: string, version: string): Promise<{ t: StoredDoc<TemplateDoc>; notification: NotificationBody; version: string }> {
  const t = await mustGet(id);
  if (version === 'draft') return { t, notification: t.doc.draft, version: 'draft' };
  const n = version === 'published' ? t.doc.published : Number(version.slice(1));
  const v = n ? await getPublishedVersion(id, n) : undefined;
  if (!v) throw new NotFoundError(`Notification ${id} has no ${version} version${version === 'published' ? ' (pass version=draft for its draft)' : ''}`);
  return { t, notification: v.notification, version: v.version };
}

/** Courier's Elemental content version, when a content PUT names none. */
const DEFAULT_CONTENT_VERSION = '2022-01-01';
const stateSchema = z.enum(['DRAFT', 'PUBLISHED']).optional();
const newElementId = () => `el_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
const elementsOf = (content: ElementalContent): ElementalNode[] => (Array.isArray(content.elements) ? content.elements : []);

/**
 * PUT content, an element or a locale: edits the draft's content (under the template's conditional
 * write, editDraft), checks the result is valid content, publishes it when `state` is PUBLISHED
 * (from the revision just written: a 409 if another request got in between), and answers Courier's
 * content mutation response.
 */
async function mutateContent(id: string, state: 'DRAFT' | 'PUBLISHED' | undefined, edit: (content: ElementalContent) => ElementalContent) {
  const saved: TemplateRead | undefined = await editDraft(id, (draft) => {
    const content = edit(draft.content as ElementalContent);
    const valid = contentSchema.safeParse(content);
    if (!valid.success) throw ValidationError.fromZod('content', valid.error);
    return { ...draft, content: content as NotificationBody['content'] };
  });
  if (!saved) throw new NotFoundError(`Notification ${id} not found`);
  const current = state === 'PUBLISHED' ? await publish(id, saved) : saved.stored.doc;
  const content = current.draft.content as ElementalContent;
  return { id, version: content.version ?? DEFAULT_CONTENT_VERSION, state: current.state, elements: elementChecksums(content.elements) };
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
    query: z.object({ version: versionQuery }),
    handler: async ({ params, query }) => {
      const { t, notification, version } = await versionOf(params.id, query.version);
      return ok(describe(t, notification, version));
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
    body: z.object({ version: versionNumber.optional() }).nullish(),
    handler: async ({ params, body }) => {
      const read = await readTemplate(params.id);
      if (!read || read.stored.doc.archived) throw new NotFoundError(`Notification ${params.id} not found`);
      const n = body?.version === undefined ? undefined : Number(body.version.slice(1));
      const source = n === undefined ? undefined : await getPublishedVersion(params.id, n);
      if (n !== undefined && !source) throw new NotFoundError(`Notification ${params.id} has no version ${body!.version}`);
      await publish(params.id, read, source?.notification);
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
    // `notes` only applies to legacy (V1) templates, as the SDK documents; every template here is V2, so there are none to include.
    query: cursorQuery.extend({ event_id: bodyId.optional(), notes: z.enum(['true', 'false', '']).optional() }),
    handler: async ({ query }) => {
      // With event_id: the one notification the event is mapped to, if any (an event maps to one).
      const mapped = query.event_id === undefined ? undefined : await mappedTemplateId(query.event_id);
      const page =
        query.event_id === undefined
          ? await templates.list(CLASSIC_PAGE_SIZE, query.cursor || undefined)
          : { items: mapped && !query.cursor ? [await templates.get(mapped)].filter((t) => t !== undefined) : [], cursor: undefined };
      const results = page.items
        .filter((t) => !t.doc.archived)
        .map((t) => ({ id: t.id, name: t.doc.draft.name, state: t.doc.state, tags: t.doc.draft.tags, created: t.created, creator: 'api' }));
      return ok(classicPage('results', results, page.cursor));
    },
  }),
  route({
    method: 'GET',
    path: '/notifications/:id/content',
    query: z.object({ version: versionQuery }),
    handler: async ({ params, query }) => {
      const { notification } = await versionOf(params.id, query.version);
      const { elements, ...rest } = notification.content as ElementalContent;
      return ok({ ...rest, version: rest.version ?? DEFAULT_CONTENT_VERSION, elements: (elements ?? []).map(withChecksums) });
    },
  }),
  route({
    method: 'PUT',
    path: '/notifications/:id/content',
    audit: { type: 'notification:content:updated', target: ({ params }) => `notification:${params.id}` },
    body: z.object({
      content: contentSchema.refine((c) => Array.isArray(c.elements), { message: 'must have elements', path: ['elements'] }),
      state: stateSchema,
    }),
    handler: async ({ params, body }) => {
      const elements = withIds(body.content.elements as ElementalNode[], newElementId);
      const dup = duplicateIds(elements);
      if (dup.length)
        throw new ValidationError(`Invalid request: body.content.elements: the element id ${dup.map((d) => JSON.stringify(d)).join(', ')} is used twice`);
      const content = { ...body.content, version: body.content.version ?? DEFAULT_CONTENT_VERSION, elements };
      return ok(await mutateContent(params.id, body.state, () => content));
    },
  }),
  route({
    method: 'PUT',
    path: '/notifications/:id/elements/:element_id',
    audit: { type: 'notification:element:updated', target: ({ params }) => `notification:${params.id}/element:${params.element_id}` },
    params: z.object({ id: pathId, element_id: elementIdSchema }),
    body: z.looseObject({ type: z.string().min(1).max(64), state: stateSchema }),
    handler: async ({ params, body }) => {
      const { state, ...fields } = body;
      return ok(
        await mutateContent(params.id, state, (content) => {
          const elements = replaceElement(elementsOf(content), params.element_id, (current) => ({
            ...(current.type === fields.type && current.locales !== undefined ? { locales: current.locales } : {}),
            ...fields,
            ...(Array.isArray(fields.elements) ? { elements: withIds(fields.elements as ElementalNode[], newElementId) } : {}),
            id: params.element_id,
          }));
          if (!elements) throw new NotFoundError(`Notification ${params.id} has no element ${params.element_id}`);
          const dup = duplicateIds(elements);
          if (dup.length)
            throw new ValidationError(`Invalid request: body.elements: the element id ${dup.map((d) => JSON.stringify(d)).join(', ')} is used twice`);
          return { ...content, elements };
        }),
      );
    },
  }),
  route({
    method: 'PUT',
    path: '/notifications/:id/locales/:locale_id',
    audit: { type: 'notification:locale:updated', target: ({ params }) => `notification:${params.id}/locale:${params.locale_id}` },
    params: z.object({ id: pathId, locale_id: localeIdSchema }),
    body: z.object({ elements: z.array(z.looseObject({ id: elementIdSchema })).max(1000), state: stateSchema }),
    handler: async ({ params, body }) =>
      ok(
        await mutateContent(params.id, body.state, (content) => {
          try {
            return { ...content, elements: setLocale(elementsOf(content), params.locale_id, body.elements) };
          } catch (e) {
            if (e instanceof LocaleError) throw new ValidationError(`Invalid request: body.${e.message}`);
            throw e;
          }
        }),
      ),
  }),
  route({
    method: 'GET',
    path: '/notifications/:id/:submission_id/checks',
    handler: async ({ params }) => {
      await mustGet(params.id);
      const checks = await getChecks(params.id, params.submission_id);
      if (!checks) throw new NotFoundError(`Notification ${params.id} has no submission ${params.submission_id}`);
      return ok({ checks });
    },
  }),
  route({
    method: 'PUT',
    path: '/notifications/:id/:submission_id/checks',
    audit: { type: 'notification:checks:updated', target: ({ params }) => `notification:${params.id}/submission:${params.submission_id}` },
    body: z.object({
      checks: z
        .array(z.strictObject({ id: z.string().min(1).max(256), type: z.literal('custom'), status: z.enum(['RESOLVED', 'FAILED', 'PENDING']) }))
        .max(100)
        .refine((cs) => new Set(cs.map((c) => c.id)).size === cs.length, 'must not list a check id twice'),
    }),
    handler: async ({ params, body }) => {
      await mustGet(params.id);
      return ok({ checks: await putChecks(params.id, params.submission_id, body.checks, now()) });
    },
  }),
  route({
    method: 'DELETE',
    path: '/notifications/:id/:submission_id/checks',
    audit: { type: 'notification:checks:deleted', target: ({ params }) => `notification:${params.id}/submission:${params.submission_id}` },
    handler: async ({ params }) => {
      await mustGet(params.id);
      if (!(await deleteChecks(params.id, params.submission_id)))
        throw new NotFoundError(`Notification ${params.id} has no submission ${params.submission_id}`);
      return noContent();
    },
  }),
];

export const handler = apiHandler(routes);
