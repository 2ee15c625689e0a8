import { QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { TenantPreferenceItem, TenantRecord } from '../domain/tenant-context';
import { ddb } from '../shared/aws';
import { conditional, expectation, newRev, retryOnConflict, revOf } from './conditional';
import { esc, GSI1, keys } from './keys';
import { batchGet, deleteItem, getItem, parseDoc, queryAll, queryPage, setFlag, TABLE, updateExistingDoc, upsertItem, type StoredItem } from './table';
import { now as clockNow } from '../shared/clock';

export type Membership = { tenant_id: string; user_id: string; profile?: Record<string, unknown>; created: number };

/**
 * The deepest a tenant may sit: its chain (itself, its parent, and so on up to a root) holds at
 * most this many tenants. `PUT /tenants/:id` refuses a parent that would make any tenant deeper
 * (400 naming body.parent_tenant_id); the fan-out's tree walk stops a deeper (corrupt) tree with a
 * terminal error. At most 99: a reparenting transaction checks every ancestor (100 items at most).
 */
export const MAX_TENANT_DEPTH = 64;

/** A parent chain that loops, or that is longer than MAX_TENANT_DEPTH. */
export class TenantChainError extends Error {
  constructor(
    readonly kind: 'cycle' | 'depth',
    readonly tenantId: string,
  ) {
    super(
      kind === 'cycle'
        ? `the parent chain of tenant ${tenantId} is cyclic`
        : `the parent chain of tenant ${tenantId} is deeper than ${MAX_TENANT_DEPTH} tenants`,
    );
  }
}

const jsonObject = z.record(z.string(), z.unknown());
const tenantPreferenceItemSchema = z.looseObject({
  id: z.string(),
  status: z.enum(['OPTED_IN', 'OPTED_OUT', 'REQUIRED']),
  has_custom_routing: z.boolean().optional(),
  custom_routing: z.array(z.string()).optional(),
});
/** What a tenant item stores (PUT /tenants/:id writes it whole). */
const tenantSchema: z.ZodType<TenantRecord> = z.looseObject({
  id: z.string(),
  name: z.string(),
  parent_tenant_id: z.string().nullish(),
  brand_id: z.string().nullish(),
  properties: jsonObject.optional(),
  user_profile: jsonObject.optional(),
  default_preferences: z.looseObject({ items: z.array(tenantPreferenceItemSchema).optional() }).optional(),
});
/** What a membership item stores. */
const membershipSchema = z.looseObject({ tenant_id: z.string(), user_id: z.string(), profile: jsonObject.optional() });

const toTenant = (item: StoredItem): TenantRecord => parseDoc(item, tenantSchema);

export async function getTenant(tenantId: string): Promise<TenantRecord | undefined> {
  const item = await getItem(keys.tenant(tenantId));
  return item ? toTenant(item) : undefined;
}

export async function getTenants(tenantIds: string[]): Promise<Map<string, TenantRecord>> {
  const items = await batchGet(tenantIds.map((t) => keys.tenant(t)));
  return new Map(items.map((i) => [String(i.tenantId), toTenant(i)]));
}

/** Sets (or, with undefined, removes) one default preference item, safely under concurrent edits; false when the tenant does not exist. */
export async function setDefaultPreference(tenantId: string, topicId: string, item: TenantPreferenceItem | undefined): Promise<boolean> {
  const updated = await updateExistingDoc(
    keys.tenant(tenantId),
    tenantSchema,
    (current) => {
      const items = (current.default_preferences?.items ?? []).filter((i) => i.id !== topicId);
      return { ...current, default_preferences: { items: item ? [...items, item] : items } };
    },
    (next) => ({ _t: 'Tenant', tenantId, ...keys.tenantIndex(tenantId, next.parent_tenant_id) }),
  );
  return updated !== undefined;
}

export function deleteTenantItem(tenantId: string): Promise<boolean> {
  return deleteItem(keys.tenant(tenantId));
}

/** A tenant as read, with the revision a conditional write can check. */
export interface VersionedTenant {
  tenant: TenantRecord;
  rev: string | null;
}

/**
 * The tenant and its ancestors, nearest first, with their revisions, by key look-ups up the parent
 * chain (strongly consistent). `limit` stops early (the context load needs four); without it
 * the whole chain is read and one longer than MAX_TENANT_DEPTH throws TenantChainError('depth'),
 * one that comes back to a tenant it passed TenantChainError('cycle'); with it, a (corrupt) chain
 * that comes back ends there, so a message in such a tree still gets its tenant context.
 */
export async function versionedChain(tenantId: string, limit?: number): Promise<VersionedTenant[]> {
  const chain: VersionedTenant[] = [];
  const seen = new Set<string>();
  let next: string | null | undefined = tenantId;
  while (next && (limit === undefined || chain.length < limit)) {
    if (seen.has(next)) {
      // A bounded read (the context's four layers) of a corrupt, cyclic chain keeps what it read.
      if (limit !== undefined) break;
      throw new TenantChainError('cycle', tenantId);
    }
    const item = await getItem(keys.tenant(next));
    if (!item) break;
    if (chain.length >= MAX_TENANT_DEPTH) throw new TenantChainError('depth', tenantId);
    const tenant = toTenant(item);
    seen.add(tenant.id);
    chain.push({ tenant, rev: revOf(item) });
    next = tenant.parent_tenant_id;
  }
  return chain;
}

/** The tenant and its ancestors, nearest first (see versionedChain). */
export async function tenantChain(tenantId: string, limit?: number): Promise<TenantRecord[]> {
  return (await versionedChain(tenantId, limit)).map((v) => v.tenant);
}

/**
 * Writes a tenant whose parent chain was read as `ancestors` (the new parent first, up to its root),
 * in one transaction that also checks every one of those ancestors still has the revision read.
 * False when one changed meanwhile (the caller reads again and re-checks). Checking the whole chain,
 * not just the new parent, is what makes concurrent reparentings safe: at commit the parent's chain
 * is exactly what was checked for the tenant, so the new edge cannot close a cycle, however many
 * other moves commit around it (a cycle closed by two moves with untouched edges between them,
 * A->B->C and C->D->A, only shows on an ancestor further up than the new parent).
 */
export async function putTenantChecked(tenant: TenantRecord, ancestors: VersionedTenant[]): Promise<boolean> {
  const now = clockNow();
  const fields: Record<string, unknown> = {
    _t: 'Tenant',
    tenantId: tenant.id,
    doc: JSON.stringify(tenant),
    ...keys.tenantIndex(tenant.id, tenant.parent_tenant_id),
    updated: now,
    rev: newRev(),
  };
  const names: Record<string, string> = { '#created': 'created' };
  const values: Record<string, unknown> = { ':now': now };
  const sets = ['#created = if_not_exists(#created, :now)'];
  Object.entries(fields).forEach(([name, value], i) => {
    names[`#a${i}`] = name;
    values[`:v${i}`] = value;
    sets.push(`#a${i} = :v${i}`);
  });
  const checks = ancestors.map(({ tenant: a, rev }) => ({
    ConditionCheck: {
      TableName: TABLE,
      Key: keys.tenant(a.id),
      ...expectation({ rev }),
    },
  }));
  const update = {
    Update: {
      TableName: TABLE,
      Key: keys.tenant(tenant.id),
      UpdateExpression: `SET ${sets.join(', ')}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
  };
  // Contention runs the same transaction again: it checks the same ancestors, so a lost race is still false.
  return retryOnConflict(() => conditional(new TransactWriteCommand({ TransactItems: [update, ...checks] })), { attempts: 3 });
}

/**
 * How many levels of descendants `tenantId` has (0: none), counted breadth-first through the
 * children index up to `limit` levels: a result above `limit` means "deeper than allowed". A
 * tenant met twice (a corrupt, cyclic tree) ends the count as too deep.
 */
export async function subtreeHeight(tenantId: string, limit: number): Promise<number> {
  const seen = new Set([tenantId]);
  let level = [tenantId];
  for (let height = 0; ; height++) {
    if (height > limit) return height;
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 16) {
      const pages = await Promise.all(level.slice(i, i + 16).map((p) => allChildren(p)));
      for (const id of pages.flat()) {
        if (seen.has(id)) return limit + 1;
        seen.add(id);
        next.push(id);
      }
    }
    if (!next.length) return height;
    level = next;
  }
}

async function allChildren(parentId: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await listTenants({ parentId, limit: 100, cursor });
    ids.push(...page.items.map((t) => t.id));
    cursor = page.cursor;
  } while (cursor);
  return ids;
}

/**
 * The first child of `parentId` after the child `afterChildId` (or the first of all), in the
 * children index's order: one Query of one item, so a tree walk can resume from any child with
 * nothing but that child's id. Children of a parent are one contiguous run of gsi1 sort keys
 * (`<parent>#<child>`, ids escaped so `#` only separates), so the first key after the start
 * either is the next child or belongs to another parent (none left).
 */
export async function nextChild(parentId: string, afterChildId?: string): Promise<string | undefined> {
  const prefix = keys.tenantChildrenPrefix(parentId);
  const out = await ddb.send(
    new QueryCommand({
      TableName: TABLE,
      IndexName: GSI1,
      KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk > :after',
      ExpressionAttributeValues: { ':pk': keys.tenantsCollection, ':after': afterChildId === undefined ? prefix : `${prefix}${esc(afterChildId)}` },
      Limit: 1,
    }),
  );
  const item = out.Items?.[0];
  return item && String(item.gsi1sk).startsWith(prefix) ? String(item.tenantId) : undefined;
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

/** A membership item as a membership, its document parsed by the membership schema. */
export const toMembership = (item: StoredItem): Membership => ({ ...parseDoc(item, membershipSchema), created: Number(item.created) });

/** Creates a root tenant unless one of its id exists (a CDP group call); true if it did. */
export async function createTenantIfMissing(tenant: TenantRecord): Promise<boolean> {
  const written = await upsertItem(
    keys.tenant(tenant.id),
    { _t: 'Tenant', tenantId: tenant.id, doc: JSON.stringify(tenant), ...keys.tenantIndex(tenant.id, tenant.parent_tenant_id) },
    'absent',
  );
  return written !== undefined;
}

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
export async function listTenantMembers(
  tenantId: string,
  limit: number,
  cursor?: string,
): Promise<{ items: (Membership & { shared: boolean })[]; cursor?: string }> {
  const page = await queryPage({ partition: keys.tenant(tenantId).pk, prefix: keys.membersPrefix, limit, cursor });
  return { items: page.items.map((item) => ({ ...toMembership(item), shared: item.shared === true })), cursor: page.cursor };
}

/** A user's memberships through gsi1 (eventually consistent, like every GSI read). */
export async function listUserTenants(userId: string, limit: number, cursor?: string): Promise<{ items: Membership[]; cursor?: string }> {
  const page = await queryPage({ index: GSI1, partition: keys.userTenants(userId), limit, cursor });
  return { items: page.items.map(toMembership), cursor: page.cursor };
}
