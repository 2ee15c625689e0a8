import type { TenantPreferenceItem, TenantRecord } from '../domain/tenant-context';
import { NotFoundError } from '../shared/errors';
import { GSI1, keys } from './keys';
import { batchGet, deleteItem, getItem, queryAll, queryPage, setFlag, updateDoc, upsertItem, type StoredItem } from './table';

export type Membership = { tenant_id: string; user_id: string; profile?: Record<string, unknown>; created: number };

/** Deeper chains than this are refused: a guard against a corrupted (cyclic) parent chain. */
export const MAX_TENANT_DEPTH = 64;

const toTenant = (item: StoredItem): TenantRecord => JSON.parse(item.doc) as TenantRecord;

export async function getTenant(tenantId: string): Promise<TenantRecord | undefined> {
  const item = await getItem(keys.tenant(tenantId));
  return item ? toTenant(item) : undefined;
}

export async function getTenants(tenantIds: string[]): Promise<Map<string, TenantRecord>> {
  const items = await batchGet(tenantIds.map((t) => keys.tenant(t)));
  return new Map(items.map((i) => [String(i.tenantId), toTenant(i)]));
}

/** Creates or replaces a tenant; true when it was created. The caller checks parent and cycles. */
export async function putTenant(tenant: TenantRecord): Promise<{ created: boolean; tenant: TenantRecord }> {
  const item = await upsertItem(keys.tenant(tenant.id), {
    _t: 'Tenant',
    tenantId: tenant.id,
    doc: JSON.stringify(tenant),
    ...keys.tenantIndex(tenant.id, tenant.parent_tenant_id),
  });
  return { created: item?.created === item?.updated, tenant };
}

/** Sets (or, with undefined, removes) one default preference item, safely under concurrent edits. */
export async function setDefaultPreference(tenantId: string, topicId: string, item: TenantPreferenceItem | undefined): Promise<void> {
  await updateDoc<TenantRecord>(
    keys.tenant(tenantId),
    (current) => {
      if (!current) throw new NotFoundError(`Tenant ${tenantId} not found`);
      const items = (current.default_preferences?.items ?? []).filter((i) => i.id !== topicId);
      return { ...current, default_preferences: { items: item ? [...items, item] : items } };
    },
    (next) => ({ _t: 'Tenant', tenantId, ...keys.tenantIndex(tenantId, next.parent_tenant_id) }),
  );
}

export function deleteTenantItem(tenantId: string): Promise<boolean> {
  return deleteItem(keys.tenant(tenantId));
}

/**
 * The tenant and its ancestors, nearest first, by key look-ups up the parent chain (`limit` stops
 * early: the context load needs four). A chain longer than MAX_TENANT_DEPTH is an error.
 */
export async function tenantChain(tenantId: string, limit = MAX_TENANT_DEPTH): Promise<TenantRecord[]> {
  const chain: TenantRecord[] = [];
  let next: string | null | undefined = tenantId;
  while (next && chain.length < limit) {
    const tenant = await getTenant(next);
    if (!tenant) break;
    if (chain.some((t) => t.id === tenant.id) || chain.length >= MAX_TENANT_DEPTH) throw new Error(`tenant chain of ${tenantId} is cyclic or too deep`);
    chain.push(tenant);
    next = tenant.parent_tenant_id;
  }
  return chain;
}

export async function listTenants(opts: { parentId?: string; limit: number; cursor?: string }): Promise<{ items: TenantRecord[]; cursor?: string }> {
  const page = await queryPage({
    index: GSI1,
    partition: keys.tenantsCollection,
    prefix: opts.parentId === undefined ? undefined : keys.tenantChildrenPrefix(opts.parentId),
    limit: opts.limit,
    cursor: opts.cursor,
  });
  return { items: page.items.map(toTenant), cursor: page.cursor };
}

export async function hasChildren(tenantId: string): Promise<boolean> {
  return (await listTenants({ parentId: tenantId, limit: 1 })).items.length > 0;
}

const toMembership = (item: StoredItem): Membership => ({ ...(JSON.parse(item.doc) as Omit<Membership, 'created'>), created: Number(item.created) });

/**
 * Adds (or updates) a membership. The membership lives in the tenant's partition; a marker in the
 * user's partition records it on the user's side. After both are written, a consistent read of the
 * user's markers tells whether the user is in two or more tenants; if so every membership of the
 * user is flagged `shared`. Of two concurrent adds the later read sees both markers, so a user in
 * several tenants always ends with every membership flagged. The flag is sticky (a user who leaves
 * a tenant stays flagged): a stale flag costs a send one read, a missing one could reach a user twice.
 */
export async function putMembership(tenantId: string, userId: string, profile?: Record<string, unknown>): Promise<void> {
  await upsertItem(keys.membership(tenantId, userId), {
    _t: 'Membership',
    doc: JSON.stringify({ tenant_id: tenantId, user_id: userId, ...(profile ? { profile } : {}) }),
    ...keys.membershipIndex(userId, tenantId),
  });
  await upsertItem(keys.memberOf(userId, tenantId), { _t: 'MemberOf', doc: '{}', tenantId });
  const user = keys.profile(userId).pk;
  if ((await queryPage({ partition: user, prefix: keys.memberOfPrefix, limit: 2, consistent: true })).items.length < 2) return;
  for await (const markers of queryAll({ partition: user, prefix: keys.memberOfPrefix, consistent: true })) {
    await Promise.all(markers.map((m) => flagShared(String(m.tenantId), userId)));
  }
}

const flagShared = (tenantId: string, userId: string): Promise<boolean> => setFlag(keys.membership(tenantId, userId), 'shared');

export async function getMembership(tenantId: string, userId: string): Promise<Membership | undefined> {
  const item = await getItem(keys.membership(tenantId, userId));
  return item ? toMembership(item) : undefined;
}

export async function deleteMembership(tenantId: string, userId: string): Promise<boolean> {
  const existed = await deleteItem(keys.membership(tenantId, userId));
  await deleteItem(keys.memberOf(userId, tenantId));
  return existed;
}

/** A tenant's members; `shared` marks users who are (or were) members of another tenant too. */
export async function listTenantMembers(tenantId: string, limit: number, cursor?: string): Promise<{ items: (Membership & { shared: boolean })[]; cursor?: string }> {
  const page = await queryPage({ partition: keys.tenant(tenantId).pk, prefix: keys.membersPrefix, limit, cursor });
  return { items: page.items.map((item) => ({ ...toMembership(item), shared: item.shared === true })), cursor: page.cursor };
}

/** A user's memberships through gsi1 (eventually consistent, like every GSI read). */
export async function listUserTenants(userId: string, limit: number, cursor?: string): Promise<{ items: Membership[]; cursor?: string }> {
  const page = await queryPage({ index: GSI1, partition: keys.userTenants(userId), limit, cursor });
  return { items: page.items.map(toMembership), cursor: page.cursor };
}
