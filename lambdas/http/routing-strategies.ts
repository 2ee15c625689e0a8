import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { strategyBodySchema, strategyOf } from '../domain/routing-strategy';
import { apiHandler } from '../shared/api';
import { ConflictError, NotFoundError } from '../shared/errors';
import { created, noContent, ok, replyId, route } from '../shared/router';
import type { StoredDoc } from '../store/documents';
import { listStrategies, someTemplatesUsing, strategies, templatesUsing, writeStrategy, type StrategyDoc } from '../store/routing-strategies';
import { classicPage, cursorQuery } from './paging';

/** `?cursor=&limit=` of both listings: limit 1-100, default 20 (the SDK's RoutingStrategyListParams). */
const pageQuery = cursorQuery.extend({ limit: z.coerce.number().int().min(1).max(100).default(20) });

/** Who made or changed a strategy: API keys carry no user, so `api`, as for templates. */
const ACTOR = 'api';

const summary = (s: StoredDoc<StrategyDoc>) => ({
  id: s.id,
  name: s.doc.name,
  description: s.doc.description,
  tags: s.doc.tags,
  created: s.created,
  creator: ACTOR,
  updated: s.updated,
  updater: ACTOR,
});

/** The SDK's RoutingStrategyGetResponse. */
const describe = (s: StoredDoc<StrategyDoc>) => ({ ...summary(s), routing: s.doc.routing, channels: s.doc.channels, providers: s.doc.providers });

async function mustGet(id: string): Promise<StoredDoc<StrategyDoc>> {
  const found = await strategies.get(id);
  if (!found || found.doc.archived) throw new NotFoundError(`Routing strategy ${id} not found`);
  return found;
}

/** Templates named in archive's refusal at most. */
const NAMED_TEMPLATES = 5;

export const routes = [
  route({
    method: 'POST',
    path: '/routing-strategies',
    audit: { type: 'routing-strategy:created', target: ({ reply }) => `routing-strategy:${replyId(reply)}` },
    body: strategyBodySchema,
    handler: async ({ body }) => {
      const id = `rs_${randomUUID().replace(/-/g, '')}`;
      const stored = await strategies.create(id, strategyOf(body));
      if (!stored) throw new ConflictError(`Routing strategy ${id} already exists`);
      return created(describe(stored));
    },
  }),
  route({
    method: 'GET',
    path: '/routing-strategies/:id',
    handler: async ({ params }) => ok(describe(await mustGet(params.id))),
  }),
  route({
    method: 'PUT',
    path: '/routing-strategies/:id',
    audit: { type: 'routing-strategy:updated', target: ({ params }) => `routing-strategy:${params.id}` },
    body: strategyBodySchema,
    handler: async ({ params, body }) => {
      const next = strategyOf(body);
      const written = await writeStrategy(params.id, (current) => (current.archived ? undefined : next));
      if (!written) throw new NotFoundError(`Routing strategy ${params.id} not found`);
      return ok(describe(written));
    },
  }),
  route({
    method: 'GET',
    path: '/routing-strategies',
    query: pageQuery,
    handler: async ({ query }) => {
      const page = await listStrategies(query.limit, query.cursor);
      return ok(classicPage('results', page.items.map(summary), page.cursor));
    },
  }),
  /**
   * Courier: "The strategy must not have associated notification templates. Unlink all templates
   * before archiving." A strategy a template (its draft or published version) still names is a
   * 409 naming them; an unknown or already archived one a 404, as for retrieve and replace.
   */
  route({
    method: 'DELETE',
    path: '/routing-strategies/:id',
    audit: { type: 'routing-strategy:archived', target: ({ params }) => `routing-strategy:${params.id}` },
    handler: async ({ params }) => {
      await mustGet(params.id);
      const using = await someTemplatesUsing(params.id, NAMED_TEMPLATES);
      if (using.length) {
        throw new ConflictError(
          `Routing strategy ${params.id} has associated templates and cannot be archived (${using.join(', ')}${using.length === NAMED_TEMPLATES ? ', ...' : ''}): unlink all templates before archiving`,
        );
      }
      await writeStrategy(params.id, (current) => (current.archived ? undefined : { ...current, archived: true }));
      return noContent();
    },
  }),
  route({
    method: 'GET',
    path: '/routing-strategies/:id/notifications',
    query: pageQuery,
    handler: async ({ params, query }) => {
      await mustGet(params.id);
      const page = await templatesUsing(params.id, query.limit, query.cursor);
      const results = page.items.map((t) => ({
        id: t.id,
        name: t.doc.draft.name,
        state: t.doc.state,
        tags: t.doc.draft.tags,
        created: t.created,
        creator: ACTOR,
        updated: t.updated,
        updater: ACTOR,
      }));
      return ok(classicPage('results', results, page.cursor));
    },
  }),
];

export const handler = apiHandler(routes);
