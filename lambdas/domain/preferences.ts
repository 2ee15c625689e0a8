/**
 * Topic preference resolution (docs/decisions.md#d4): from the preference layers of one user and one topic to
 * the effective status, the custom routing, and what every layer contributed (the explain view).
 *
 * Layers:
 *   1. `workspace`        the subscription topic's default status and custom routing
 *   2. `ancestor_tenant`  each loaded ancestor's `default_preferences` item, topmost first
 *   3. `tenant`           the context tenant's `default_preferences` item
 *   4. `user`             the user's global preference
 *   5. `user_tenant`      the user's preference for the context tenant
 *
 * - A layer applies only the fields it sets; unset fields pass through. A later layer's explicit
 *   status replaces the earlier one. No status anywhere means OPTED_IN (decidingLayer `default`).
 * - With a tenant context (explicit, from the fan-out, or auto-inferred) the layers apply in the
 *   order 1, 4, 2, 3, 5 (SPEC section 5, revised 2026-11-29): a global opt-out holds where no
 *   tenant layer sets the topic (a user who unsubscribed is never mailed because a tenant says
 *   nothing), a tenant default that sets it beats the global choice for that tenant's messages,
 *   and the user's choice for the tenant beats everything. Without a tenant context layers 1 and 4
 *   apply; layers 2, 3 and 5, if given anyway, are reported as not applied.
 * - REQUIRED: a workspace REQUIRED topic locks the status against both user layers (4, 5), and
 *   tenant defaults ending on REQUIRED lock it against the user's choice for the tenant (5): no
 *   status of theirs is applied, but their custom routing still applies. Tenant defaults are
 *   configuration, not user choice: they can override a workspace REQUIRED by plain layering, and
 *   the workspace REQUIRED still locks the user layers, since it makes the topic non-editable by
 *   users whatever the tenants chose.
 * - Custom routing: only a layer that sets `has_custom_routing` decides it. `true` with a non-empty
 *   `custom_routing` replaces earlier routing with that list (entries kept as given, channels or
 *   provider keys, deduplicated in order); `true` with no entries counts as not set; `false` clears
 *   routing set by earlier layers. A `custom_routing` list without the flag is ignored.
 * - `deliver` is false only for OPTED_OUT.
 *
 * The explain view lists the layers in the order they applied (1, 4, 2, 3, 5 with a tenant context,
 * else 1..5), one entry per ancestor. A layer is `applied` when at
 * least one of its fields took effect, even if a later layer then replaced it; `reason` says why a
 * layer, or one of its fields, did not. How many ancestors to load (at most four tenant layers in
 * all) is the loader's concern, not this module's.
 */

export type PreferenceStatus = 'OPTED_IN' | 'OPTED_OUT' | 'REQUIRED';

/** One layer's explicit settings; an absent field means "not set by this layer". */
export interface PreferenceRule {
  status?: PreferenceStatus;
  has_custom_routing?: boolean;
  custom_routing?: string[];
}

export type LayerName = 'workspace' | 'ancestor_tenant' | 'tenant' | 'user' | 'user_tenant';

export interface PreferenceLayers {
  hasTenantContext: boolean;
  /** 1. subscription topic default (default_status + default custom routing) */
  workspace?: PreferenceRule;
  /** 2. ancestor tenants' default_preferences item for the topic, TOPMOST loaded first */
  ancestors?: Array<{ tenant_id: string; rule?: PreferenceRule }>;
  /** 3. context tenant's default_preferences item */
  tenant?: { tenant_id: string; rule?: PreferenceRule };
  /** 4. user's global preference */
  user?: PreferenceRule;
  /** 5. user's preference for the context tenant */
  userTenant?: PreferenceRule;
}

export interface LayerContribution {
  layer: LayerName;
  tenant_id?: string;
  applied: boolean;
  /** The layer's explicit fields, as given. */
  set: PreferenceRule;
  reason?: string;
}

export interface PreferenceDecision {
  /** effective status */
  status: PreferenceStatus;
  /** false only when status is OPTED_OUT */
  deliver: boolean;
  /** present when custom routing applies: the channels/provider keys to use */
  customRouting?: string[];
  /** layer whose explicit status decided; 'default' when no layer set a status (=> OPTED_IN) */
  decidingLayer: LayerName | 'default';
  /** layer whose custom routing applies */
  routingLayer?: LayerName;
  /** every layer in the order it applied (ancestors one entry each), what it set, whether it applied, and why not */
  layers: LayerContribution[];
}

export const REASONS = {
  noTenantContext: 'no tenant context',
  requiredByWorkspace: 'REQUIRED cannot be opted out: the workspace topic is REQUIRED',
  requiredByTenant: 'REQUIRED cannot be opted out: the tenant defaults make the topic REQUIRED',
  emptyRouting: 'has_custom_routing is true with no entries: routing not set',
  routingWithoutFlag: 'custom_routing without has_custom_routing is ignored',
  nothingSet: 'sets neither status nor custom routing',
} as const;

interface Candidate {
  layer: LayerName;
  tenant_id?: string;
  rule?: PreferenceRule;
  /** Set when the layer does not apply in this context: the reason. */
  notApplicable?: string;
}

/** The result so far, updated layer by layer. */
interface Accumulator {
  status?: PreferenceStatus;
  decidingLayer: LayerName | 'default';
  routing?: { layer: LayerName; entries: string[] };
}

export function resolvePreference(input: PreferenceLayers): PreferenceDecision {
  const tenantOnly = input.hasTenantContext ? undefined : REASONS.noTenantContext;
  const acc: Accumulator = { decidingLayer: 'default' };

  const workspaceLock = input.workspace?.status === 'REQUIRED' ? REASONS.requiredByWorkspace : undefined;
  const tenantLayers: Candidate[] = [
    ...(input.ancestors ?? []).map((a): Candidate => ({ layer: 'ancestor_tenant', tenant_id: a.tenant_id, rule: a.rule, notApplicable: tenantOnly })),
    { layer: 'tenant', tenant_id: input.tenant?.tenant_id, rule: input.tenant?.rule, notApplicable: tenantOnly },
  ];
  const workspace = applyLayer({ layer: 'workspace', rule: input.workspace }, acc);
  const user = () => applyLayer({ layer: 'user', rule: input.user }, acc, workspaceLock);
  // With a tenant context the user's global choice comes before the tenant layers (1, 4, 2, 3, 5); without one they do not apply (1, 4).
  const layers = input.hasTenantContext
    ? [workspace, user(), ...tenantLayers.map((c) => applyLayer(c, acc))]
    : [workspace, ...tenantLayers.map((c) => applyLayer(c, acc)), user()];
  // Tenant defaults that end on REQUIRED lock the user's choice for the tenant, as a workspace REQUIRED does.
  const tenantLock =
    acc.status === 'REQUIRED' && (acc.decidingLayer === 'ancestor_tenant' || acc.decidingLayer === 'tenant') ? REASONS.requiredByTenant : undefined;
  layers.push(applyLayer({ layer: 'user_tenant', rule: input.userTenant, notApplicable: tenantOnly }, acc, workspaceLock ?? tenantLock));

  const status = acc.status ?? 'OPTED_IN';
  return {
    status,
    deliver: status !== 'OPTED_OUT',
    ...(acc.routing ? { customRouting: acc.routing.entries, routingLayer: acc.routing.layer } : {}),
    decidingLayer: acc.decidingLayer,
    layers,
  };
}

/** default_status shown by the preferences API for a user: the result of layers 1-3 only (workspace, ancestors, tenant; or just workspace without tenant). */
export function defaultStatus(layers: Omit<PreferenceLayers, 'user' | 'userTenant'>): PreferenceStatus {
  // Rebuilt field by field so user layers smuggled in at run time cannot leak into the default.
  const { hasTenantContext, workspace, ancestors, tenant } = layers;
  return resolvePreference({ hasTenantContext, workspace, ancestors, tenant }).status;
}

/** Applies one layer's explicit fields to `acc`; `statusLock` refuses its status (REQUIRED). */
function applyLayer(c: Candidate, acc: Accumulator, statusLock?: string): LayerContribution {
  const set = explicitFields(c.rule);
  const head = { layer: c.layer, ...(c.tenant_id !== undefined ? { tenant_id: c.tenant_id } : {}), set };
  if (c.notApplicable) return { ...head, applied: false, reason: c.notApplicable };

  let applied = false;
  const notes: string[] = [];
  if (set.status !== undefined) {
    if (statusLock) {
      notes.push(statusLock);
    } else {
      acc.status = set.status;
      acc.decidingLayer = c.layer;
      applied = true;
    }
  }
  if (set.has_custom_routing === false) {
    acc.routing = undefined;
    applied = true;
  } else if (set.has_custom_routing === true) {
    const entries = [...new Set(set.custom_routing ?? [])];
    if (entries.length > 0) {
      acc.routing = { layer: c.layer, entries };
      applied = true;
    } else {
      notes.push(REASONS.emptyRouting);
    }
  } else if (set.custom_routing !== undefined) {
    notes.push(REASONS.routingWithoutFlag);
  }
  if (!applied && notes.length === 0) notes.push(REASONS.nothingSet);
  return { ...head, applied, ...(notes.length > 0 ? { reason: notes.join('; ') } : {}) };
}

/** Only the preference fields the layer defines, so stored items' other attributes never show. */
function explicitFields(rule: PreferenceRule | undefined): PreferenceRule {
  const set: PreferenceRule = {};
  if (rule?.status !== undefined) set.status = rule.status;
  if (rule?.has_custom_routing !== undefined) set.has_custom_routing = rule.has_custom_routing;
  if (rule?.custom_routing !== undefined) set.custom_routing = [...rule.custom_routing];
  return set;
}
