import { z } from 'zod';
import { contentSchema } from '../domain/render';
import { routingSchema } from '../domain/routing';
import type { TenantRecord } from '../domain/tenant-context';
import { NotFoundError, ValidationError } from '../shared/errors';
import { created, ok, route } from '../shared/router';
import { getTemplateHead, getTemplateVersion, listTemplateHeads, publishTemplate, saveTemplate, type TemplateHead } from '../store/tenant-templates';
import { limitQuery, listPage } from './paging';
import { jsonObject } from './schemas';
import { idSchema } from '../domain/ids';

const templateBody = z.object({
  template: z.object({
    content: contentSchema,
    channels: jsonObject.optional(),
    providers: jsonObject.optional(),
    routing: routingSchema.optional(),
  }),
  published: z.boolean().optional(),
});

const versionParam = z.union([z.literal('latest'), z.literal('published'), z.string().regex(/^v\d{1,9}$/, 'must be latest, published or vN')]);

const describe = (h: TemplateHead) => ({
  id: h.id,
  version: `v${h.latest}`,
  created_at: h.created_at,
  updated_at: h.updated_at,
  published_at: h.published_at ?? null,
});

/** Resolves latest / published / vN against the head; 404 when there is no such version. */
function versionNumber(head: TemplateHead, version: string): number {
  const n = version === 'latest' ? head.latest : version === 'published' ? head.published : Number(version.slice(1));
  if (!n || n > head.latest) throw new NotFoundError(`Template ${head.id} has no ${version} version`);
  return n;
}

/** Tenant templates (`/tenants/:tenant_id/templates`), used by sends of `tenant/<template_id>`. */
export function tenantTemplateRoutes(mustGetTenant: (id: string) => Promise<TenantRecord>) {
  const mustGetHead = async (tenantId: string, templateId: string) => {
    const head = await getTemplateHead(tenantId, templateId);
    if (!head) throw new NotFoundError(`Template ${templateId} not found for tenant ${tenantId}`);
    return head;
  };
  return [
    route({
      method: 'PUT',
      path: '/tenants/:tenant_id/templates/:template_id',
      greedy: 'tenant_id',
      body: templateBody,
      audit: { type: 'tenant:template:updated', target: ({ params }) => `tenant:${params.tenant_id}/template:${params.template_id}` },
      handler: async ({ params, body }) => {
        await mustGetTenant(params.tenant_id);
        const { head, created: isNew } = await saveTemplate(params.tenant_id, params.template_id, body.template, body.published === true);
        const reply = { id: head.id, version: `v${head.latest}`, ...(head.published_at ? { published_at: head.published_at } : {}) };
        return isNew ? created(reply) : ok(reply);
      },
    }),
    route({
      method: 'GET',
      path: '/tenants/:tenant_id/templates/:template_id',
      greedy: 'tenant_id',
      handler: async ({ params }) => ok(describe(await mustGetHead(params.tenant_id, params.template_id))),
    }),
    route({
      method: 'GET',
      path: '/tenants/:tenant_id/templates/:template_id/versions/:version',
      greedy: 'tenant_id',
      params: z.object({ tenant_id: idSchema, template_id: idSchema, version: versionParam }),
      handler: async ({ params }) => {
        const head = await mustGetHead(params.tenant_id, params.template_id);
        const n = versionNumber(head, params.version);
        const v = await getTemplateVersion(params.tenant_id, params.template_id, n);
        if (!v) throw new NotFoundError(`Template ${head.id} has no version v${n}`);
        return ok({
          id: head.id,
          version: v.version,
          created_at: v.created_at,
          updated_at: v.created_at,
          published_at: head.published === n ? head.published_at : null,
          data: v.template,
        });
      },
    }),
    route({
      method: 'POST',
      path: '/tenants/:tenant_id/templates/:template_id/publish',
      greedy: 'tenant_id',
      audit: { type: 'tenant:template:published', target: ({ params }) => `tenant:${params.tenant_id}/template:${params.template_id}` },
      body: z.object({ version: versionParam.optional() }).optional(),
      handler: async ({ params, body }) => {
        const head = await mustGetHead(params.tenant_id, params.template_id);
        const wanted = body?.version ?? 'latest';
        if (wanted === 'published' && !head.published) throw new ValidationError('Invalid request: body.version: nothing is published yet');
        const published = await publishTemplate(params.tenant_id, params.template_id, versionNumber(head, wanted));
        return ok({ id: published.id, version: `v${published.published}`, published_at: published.published_at });
      },
    }),
    route({
      method: 'GET',
      path: '/tenants/:tenant_id/templates',
      greedy: 'tenant_id',
      query: limitQuery,
      handler: async ({ params, query }) => {
        await mustGetTenant(params.tenant_id);
        const page = await listTemplateHeads(params.tenant_id, query.limit, query.cursor);
        const items = await Promise.all(
          page.items.map(async (h) => ({
            ...describe(h),
            data: { routing: (await getTemplateVersion(params.tenant_id, h.id, h.latest))?.template.routing ?? null },
          })),
        );
        return ok(listPage(`/tenants/${encodeURIComponent(params.tenant_id)}/templates`, items, page.cursor, query.limit));
      },
    }),
  ];
}
