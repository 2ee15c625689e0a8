import { randomUUID } from 'node:crypto';
import { audienceBodySchema } from '../domain/audience';
import { apiHandler } from '../shared/api';
import { NotFoundError } from '../shared/errors';
import { enqueueFanout } from '../shared/jobs';
import { announce, audienceUpdated } from '../services/webhook-events';
import { noContent, ok, route } from '../shared/router';
import { deleteAudience, getAudience, listAudiences, listMembers, saveAudience, type Audience } from '../store/audiences';
import { CLASSIC_PAGE_SIZE, classicPage, cursorQuery } from './paging';

const describe = ({ version: _version, ...a }: Audience) => a;

async function mustGet(audienceId: string): Promise<Audience> {
  const audience = await getAudience(audienceId);
  if (!audience) throw new NotFoundError(`Audience ${audienceId} not found`);
  return audience;
}

export const routes = [
  route({
    method: 'PUT',
    path: '/audiences/:audience_id',
    body: audienceBodySchema,
    audit: { type: 'audience:updated', target: ({ params }) => `audience:${params.audience_id}` },
    handler: async ({ params, body }) => {
      const id = params.audience_id;
      const audience = await saveAudience(id, (current) => ({
        id,
        name: body.name ?? current?.name ?? id,
        description: body.description ?? current?.description ?? '',
        operator: body.operator ?? current?.operator ?? 'AND',
        filter: body.filter ?? current?.filter ?? { filters: [] },
      }));
      // Membership is materialised: the new version is evaluated against every profile, off the request.
      await enqueueFanout([
        { type: 'audience-backfill', audienceId: id, version: audience.version, phase: 'scan', shard: 0, chain: `v${audience.version}`, step: 0 },
      ]);
      // Created or updated: `audiences:updated` (D23), after the save.
      await announce([audienceUpdated(audience)], { audienceId: id });
      return ok({ audience: describe(audience) });
    },
  }),
  route({
    method: 'GET',
    path: '/audiences/:audience_id',
    handler: async ({ params }) => ok(describe(await mustGet(params.audience_id))),
  }),
  route({
    method: 'DELETE',
    path: '/audiences/:audience_id',
    audit: { type: 'audience:deleted', target: ({ params }) => `audience:${params.audience_id}` },
    handler: async ({ params }) => {
      if (await deleteAudience(params.audience_id)) {
        // Each deletion's prune is a chain of its own (an audience deleted, made again and deleted again prunes again).
        const chain = `d${randomUUID()}`;
        await enqueueFanout([
          { type: 'audience-backfill', audienceId: params.audience_id, version: Number.MAX_SAFE_INTEGER, phase: 'prune', shard: 0, chain, step: 0 },
        ]);
      }
      return noContent();
    },
  }),
  route({
    method: 'GET',
    path: '/audiences',
    query: cursorQuery,
    handler: async ({ query }) => {
      const page = await listAudiences(CLASSIC_PAGE_SIZE, query.cursor);
      return ok(classicPage('items', page.items.map(describe), page.cursor));
    },
  }),
  route({
    method: 'GET',
    path: '/audiences/:audience_id/members',
    query: cursorQuery,
    handler: async ({ params, query }) => {
      await mustGet(params.audience_id);
      const page = await listMembers(params.audience_id, CLASSIC_PAGE_SIZE, query.cursor);
      return ok(classicPage('items', page.items, page.cursor));
    },
  }),
];

export const handler = apiHandler(routes);
