/**
 * Tenant context (docs/decisions.md#d2): which tenant a recipient is sent in, which of its ancestors are
 * loaded, and how their metadata merges into the brand, the template properties and the profile.
 */

export interface TenantPreferenceItem {
  id: string;
  status: 'OPTED_IN' | 'OPTED_OUT' | 'REQUIRED';
  has_custom_routing?: boolean;
  custom_routing?: string[];
}

export interface TenantRecord {
  id: string;
  name: string;
  parent_tenant_id?: string | null;
  brand_id?: string | null;
  properties?: Record<string, unknown>;
  user_profile?: Record<string, unknown>;
  default_preferences?: { items?: TenantPreferenceItem[] };
}

/** Courier loads at most four layers of a tenant hierarchy; deeper trees are allowed but truncated. */
export const MAX_CONTEXT_LAYERS = 4;

/**
 * Given the context tenant and its ancestors NEAREST FIRST (context first), returns the loaded
 * layers TOPMOST FIRST, at most four (a deeper chain drops its topmost ancestors).
 *
 * @example loadedLayers([R2D2, R2, P, Q, tenant0]) // [Q, P, R2, R2D2]
 */
export function loadedLayers(chainNearestFirst: TenantRecord[]): TenantRecord[] {
  return chainNearestFirst.slice(0, MAX_CONTEXT_LAYERS).reverse();
}

export interface TenantContext {
  /** The context tenant. */
  tenant: TenantRecord;
  /** Topmost first, ending with the context tenant. */
  layers: TenantRecord[];
  brand_id?: string;
  properties: Record<string, unknown>;
  user_profile: Record<string, unknown>;
}

/**
 * Merges layers topmost-first: brand_id replaced by a lower layer that sets it; properties and
 * user_profile merge key by key (a lower layer's key replaces the same top-level key).
 *
 * A null or empty `brand_id` does not set a brand, so it never clears an ancestor's; a key set to
 * null in `properties`/`user_profile` is a value like any other and does replace the ancestor's.
 * Nested objects are replaced whole, not merged: the seeds merge top-level keys only.
 */
export function mergeTenantLayers(layersTopmostFirst: TenantRecord[]): TenantContext {
  const tenant = layersTopmostFirst.at(-1);
  if (!tenant) throw new Error('mergeTenantLayers needs at least the context tenant');
  let brandId: string | undefined;
  let properties: Record<string, unknown> = {};
  let userProfile: Record<string, unknown> = {};
  for (const layer of layersTopmostFirst) {
    if (layer.brand_id) brandId = layer.brand_id;
    properties = { ...properties, ...layer.properties };
    userProfile = { ...userProfile, ...layer.user_profile };
  }
  return {
    tenant,
    layers: layersTopmostFirst,
    ...(brandId === undefined ? {} : { brand_id: brandId }),
    properties,
    user_profile: userProfile,
  };
}

/**
 * Recipient profile for rendering/routing: merged tenant user_profile < membership profile < stored
 * profile < inline fields of `to` (highest); shallow, top-level keys; JSON types kept (the seed shows
 * `"key5": "true"` for an inline `true`; we keep the boolean, docs/decisions.md#d2). `inline` holds only the profile
 * fields of `to`: the caller strips `user_id`, `context`, `data` and the like.
 */
export function mergeRecipientProfile(parts: {
  tenantUserProfile?: Record<string, unknown>;
  membershipProfile?: Record<string, unknown>;
  storedProfile?: Record<string, unknown>;
  inline?: Record<string, unknown>;
}): Record<string, unknown> {
  return { ...parts.tenantUserProfile, ...parts.membershipProfile, ...parts.storedProfile, ...parts.inline };
}

/**
 * The send's brand, else the tenant context's, else the template's, else the workspace default;
 * null or '' is unset. Seed 004: a brand "as the default for a tenant" applies to its sends, and
 * "providing the brand in the Notification Send can still override this setting".
 */
export function chooseBrand(b: {
  channel?: string | null;
  send?: string | null;
  tenant?: string | null;
  template?: string | null;
  workspace?: string | null;
}): string | undefined {
  return b.channel || b.send || b.tenant || b.template || b.workspace || undefined;
}

export type ContextSource = 'recipient' | 'message' | 'fanout' | 'inferred' | 'none';

/**
 * First match wins: recipient context.tenant_id, message context.tenant_id, the tenant a fan-out
 * reached the user through, then auto-infer (exactly one membership and autoInfer on).
 * membershipTenantIds needs at most 2 entries (caller reads Limit 2). ambiguous=true when the user
 * has 2+ memberships and nothing else named a tenant, whether or not auto-infer is on: a
 * `tenant/<template_id>` template then fails the recipient with "Tenant Context Not Found".
 */
export function chooseContextTenant(input: {
  recipientTenantId?: string;
  messageTenantId?: string;
  fanoutTenantId?: string;
  membershipTenantIds: readonly string[];
  autoInfer: boolean;
}): { tenantId?: string; source: ContextSource; ambiguous: boolean } {
  const named: [string | undefined, ContextSource][] = [
    [input.recipientTenantId, 'recipient'],
    [input.messageTenantId, 'message'],
    [input.fanoutTenantId, 'fanout'],
  ];
  for (const [tenantId, source] of named) {
    if (tenantId) return { tenantId, source, ambiguous: false };
  }
  const [only, ...others] = input.membershipTenantIds;
  if (only !== undefined && others.length === 0 && input.autoInfer) {
    return { tenantId: only, source: 'inferred', ambiguous: false };
  }
  return { source: 'none', ambiguous: others.length > 0 };
}

/**
 * Whether making the first id of `parentChainNearestFirst` (the new parent, followed by its
 * ancestors) the parent of `tenantId` would create a cycle: it does when `tenantId` is the parent
 * itself or one of its ancestors. The chain must be complete (the whole way to the root), not
 * truncated to the four loaded layers, or a deep cycle would slip through.
 */
export function wouldCycle(tenantId: string, parentChainNearestFirst: readonly string[]): boolean {
  return parentChainNearestFirst.includes(tenantId);
}
