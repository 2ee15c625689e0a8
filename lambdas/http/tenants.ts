import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { wouldCycle, type TenantRecord } from '../domain/tenant-context';
import { apiHandler } from '../shared/api';
import { ConflictError, NotFoundError, ValidationError } from '../shared/errors';
import { enqueueFanout } from '../shared/jobs';
import { noContent, ok, route } from '../shared/router';
import {
  deleteTenantItem,
  getTenant,
  hasChildren,
  listTenantMembers,
  listTenants,
  MAX_TENANT_DEPTH,
  putTenantChecked,
  setDefaultPreference,
  subtreeHeight,
  TenantChainError,
  versionedChain,
  type VersionedTenant,
} from '../store/tenants';
import { tenantTemplateRoutes } from './tenant-templates';
import { limitQuery, listPage } from './paging';
import { bodyId, jsonObject, preferenceSetting } from './schemas';
import { now } from '../shared/clock';
import { retryOnConflict } from '../store/conditional';

const tenantBody = z.object({
  name: z.string().min(1).max(256),
  parent_tenant_id: bodyId.nullish(),
  brand_id: bodyId.nullish(),
  properties: jsonObject.optional(),
  user_profile: jsonObject.optional(),
  default_preferences: z
    .object({
      items: z
        .array(preferenceSetting.extend({ id: bodyId }))
        .max(200)
        .optional(),
    })
    .nullish(),
});

const PARENT = 'Invalid request: body.parent_tenant_id';

/**
 * The parent's chain (the parent first, up to its root, with revisions), after checking that the
 * parent exists, is neither the tenant nor one of its descendants, and leaves every tenant of the
 * tree at most MAX_TENANT_DEPTH deep: the tenant's own depth, and, when it moves to another
 * parent, its deepest descendant's.
 */
async function checkParent(tenantId: string, parentId: string): Promise<VersionedTenant[]> {
  let chain: VersionedTenant[];
  try {
    chain = await versionedChain(parentId);
  } catch (e) {
    if (!(e instanceof TenantChainError)) throw e;
    throw new ValidationError(
      e.kind === 'depth'
        ? `${PARENT}: ${parentId} is already deeper than ${MAX_TENANT_DEPTH} tenants (the most a hierarchy may have)`
        : `${PARENT}: the parent chain of ${parentId} is cyclic`,
    );
  }
  if (!chain.length) throw new ValidationError(`${PARENT}: tenant ${parentId} does not exist`);
  if (
    wouldCycle(
      tenantId,
      chain.map((t) => t.tenant.id),
    )
  ) {
    throw new ValidationError(`${PARENT}: ${parentId} would make a cycle (it is ${tenantId} or one of its descendants)`);
  }
  // Levels left below the tenant; a tenant that changes parent brings its descendants along.
  const room = MAX_TENANT_DEPTH - chain.length - 1;
  if (room < 0)
    throw new ValidationError(`${PARENT}: ${parentId} is ${chain.length} tenants deep; a child would pass the maximum depth of ${MAX_TENANT_DEPTH}`);
  const current = await getTenant(tenantId);
  if (current && current.parent_tenant_id !== parentId && (await subtreeHeight(tenantId, room)) > room) {
    throw new ValidationError(`${PARENT}: under ${parentId}, the descendants of ${tenantId} would pass the maximum depth of ${MAX_TENANT_DEPTH} tenants`);
  }
  return chain;
}

/** Attempts at a reparenting whose ancestors keep changing under it before answering 409. */
const PUT_ATTEMPTS = 5;

async function mustGet(tenantId: string): Promise<TenantRecord> {
  const tenant = await getTenant(tenantId);
  if (!tenant) throw new NotFoundError(`Tenant ${tenantId} not found`);
  return tenant;
}

export const routes = [
  route({
    method: 'PUT',
    path: '/tenants/:tenant_id',
    greedy: 'tenant_id',
    body: tenantBody,
    audit: { type: 'tenant:updated', target: ({ params }) => `tenant:${params.tenant_id}` },
    handler: async ({ params, body }) => {
      const id = params.tenant_id;
      const tenant: TenantRecord = {
        id,
        name: body.name,
        parent_tenant_id: body.parent_tenant_id ?? null,
        brand_id: body.brand_id ?? null,
        properties: body.properties ?? {},
        user_profile: body.user_profile ?? {},
        default_preferences: { items: body.default_preferences?.items ?? [] },
      };
      // Check and write are one: the write is a transaction that also checks every ancestor read
      // by the check is unchanged (store/tenants.ts putTenantChecked); a lost race checks again.
      await retryOnConflict(
        async () => {
          const ancestors = body.parent_tenant_id ? await checkParent(id, body.parent_tenant_id) : [];
          if (!(await putTenantChecked(tenant, ancestors))) throw new ConflictError(`Tenant ${id}: its new ancestors kept changing; try again`, true);
        },
        { attempts: PUT_ATTEMPTS },
      );
      return ok(tenant);
    },
  }),
  route({
    method: 'GET',
    path: '/tenants/:tenant_id',
    greedy: 'tenant_id',
    handler: async ({ params }) => ok(await mustGet(params.tenant_id)),
  }),
  route({
    method: 'DELETE',
    path: '/tenants/:tenant_id',
    greedy: 'tenant_id',
    audit: { type: 'tenant:deleted', target: ({ params }) => `tenant:${params.tenant_id}` },
    handler: async ({ params }) => {
      const id = params.tenant_id;
      if (await hasChildren(id)) throw new ConflictError(`Tenant ${id} has child tenants; delete or move them first`);
      if (await deleteTenantItem(id)) {
        // Memberships (and the audiences that depend on them) are removed page by page, off the request.
        // Each deletion's cleanup is a chain of its own (a tenant deleted, made again and deleted again is cleaned up again).
        await enqueueFanout([{ type: 'tenant-cleanup', tenantId: id, deletedAt: now(), chain: randomUUID(), step: 0 }]);
      }
      return noContent();
    },
  }),
  route({
    method: 'GET',
    path: '/tenants',
    query: limitQuery.extend({ parent_tenant_id: bodyId.optional() }),
    handler: async ({ query }) => {
      const page = await listTenants({ parentId: query.parent_tenant_id, limit: query.limit, cursor: query.cursor });
      return ok(listPage('/tenants', page.items, page.cursor, query.limit));
    },
  }),
  route({
    method: 'GET',
    path: '/tenants/:tenant_id/users',
    greedy: 'tenant_id',
    query: limitQuery,
    handler: async ({ params, query }) => {
      await mustGet(params.tenant_id);
      const page = await listTenantMembers(params.tenant_id, query.limit, query.cursor);
      const items = page.items.map((m) => ({ type: 'user' as const, tenant_id: m.tenant_id, user_id: m.user_id, profile: m.profile ?? {} }));
      return ok(listPage(`/tenants/${encodeURIComponent(params.tenant_id)}/users`, items, page.cursor, query.limit));
    },
  }),
  route({
    method: 'PUT',
    path: '/tenants/:tenant_id/default_preferences/items/:topic_id',
    greedy: 'tenant_id',
    audit: { type: 'tenant:default-preference:updated', target: ({ params }) => `tenant:${params.tenant_id}/preferences-topic:${params.topic_id}` },
    body: preferenceSetting,
    handler: async ({ params, body }) => {
      if (!(await setDefaultPreference(params.tenant_id, params.topic_id, { id: params.topic_id, ...body })))
        throw new NotFoundError(`Tenant ${params.tenant_id} not found`);
      return noContent();
    },
  }),
  route({
    method: 'DELETE',
    path: '/tenants/:tenant_id/default_preferences/items/:topic_id',
    greedy: 'tenant_id',
    audit: { type: 'tenant:default-preference:deleted', target: ({ params }) => `tenant:${params.tenant_id}/preferences-topic:${params.topic_id}` },
    handler: async ({ params }) => {
      if (!(await setDefaultPreference(params.tenant_id, params.topic_id, undefined))) throw new NotFoundError(`Tenant ${params.tenant_id} not found`);
      return noContent();
    },
  }),
  ...tenantTemplateRoutes(mustGet),
];

export const handler = apiHandler(routes);
