import { z } from 'zod';

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
 *   and, only for a recipient reached through a list or given `to.preferences` (Courier's
 *   RecipientPreferences, matched by notification key: see matchPreference):
 *   L. `list`              the list's `preferences` (lists.update): a default for its subscribers, applied after 1
 *   S. `list_subscription` the subscriber's `preferences` on that list, applied after 5
 *   R. `recipient`         the send's `to.preferences`: the user's own choice given inline, applied last
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
 * - Locks: L ending on REQUIRED locks the user layers after it as a workspace REQUIRED does; the
 *   tenant lock also covers S and R (the user's choices made after the tenant layers).
 * - Channel choices (`channel_preferences`, non-empty) of L, S and R are custom routing with those
 *   channels (as `has_custom_routing: true`).
 * - Snooze `rules` ([{ start?, until }]): the last layer that sets `rules` decides them (`[]` clears);
 *   a locked layer's rules are refused like its status (a REQUIRED topic cannot be snoozed). When `at`
 *   falls inside a window (start inclusive, until exclusive, no start: open) the recipient is not
 *   delivered: `snooze` names the window's end and layer, and the message ends FILTERED (D4).
 * - `deliver` is false for OPTED_OUT and inside a snooze window.
 *
 * The explain view lists the layers in the order they applied (1, L, 4, 2, 3, 5, S, R with a tenant
 * context, else 1, L, 2, 3, 4, 5, S, R; L, S and R only when given), one entry per ancestor. A layer is `applied` when at
 * least one of its fields took effect, even if a later layer then replaced it; `reason` says why a
 * layer, or one of its fields, did not. How many ancestors to load (at most four tenant layers in
 * all) is the loader's concern, not this module's.
 */

export type PreferenceStatus = 'OPTED_IN' | 'OPTED_OUT' | 'REQUIRED';

const STATUSES = ['OPTED_IN', 'OPTED_OUT', 'REQUIRED'] as const;
/** Courier's ChannelClassification: the channels a `channel_preferences` entry may name. */
export const CHANNEL_CLASSIFICATIONS = ['direct_message', 'email', 'push', 'sms', 'webhook', 'inbox'] as const;
/** Keys one RecipientPreferences may hold (`notifications`), and windows one entry may hold. */
export const MAX_PREFERENCE_KEYS = 100;
export const MAX_SNOOZE_RULES = 10;

const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 time');
const snoozeRule = z
  .strictObject({ start: isoTime.nullish(), until: isoTime })
  .refine((r) => !r.start || Date.parse(r.start) < Date.parse(r.until), { message: 'start must be before until', path: ['start'] });

/** Courier's NotificationPreferenceDetails (`extra` adds the fields a variant allows beyond it). */
const details = <E extends z.ZodRawShape>(extra: E) =>
  z.strictObject({
    status: z.enum(STATUSES),
    channel_preferences: z
      .array(z.strictObject({ channel: z.enum(CHANNEL_CLASSIFICATIONS) }))
      .max(CHANNEL_CLASSIFICATIONS.length)
      .nullish(),
    rules: z.array(snoozeRule).max(MAX_SNOOZE_RULES).nullish(),
    ...extra,
  });

const CATEGORIES_UNSUPPORTED =
  'categories are not supported: this server has no notification categories; key the preference by notification (template) id or subscription topic id under notifications';
const byKey = <T extends z.ZodType>(entry: T) =>
  z.record(z.string().min(1).max(256), entry).refine((r) => Object.keys(r).length <= MAX_PREFERENCE_KEYS, `at most ${MAX_PREFERENCE_KEYS} keys`);
/** `categories` is refused unless empty: nothing here can match a category (docs/decisions.md#d4). */
const noCategories = z
  .record(z.string(), z.unknown())
  .nullish()
  .refine((c) => !c || Object.keys(c).length === 0, CATEGORIES_UNSUPPORTED);

/** Courier's RecipientPreferences (list and subscription `preferences`), validated on write. */
export const recipientPreferencesSchema = z.strictObject({
  notifications: byKey(details({})).nullish(),
  categories: noCategories,
});
export type RecipientPreferences = z.infer<typeof recipientPreferencesSchema>;

/** Courier's UserRecipient.Preferences (a send's `to.preferences`): Preference entries, which may say `source: 'recipient'`. */
export const inlinePreferencesSchema = z.strictObject({
  notifications: byKey(details({ source: z.literal('recipient', { error: "source of to.preferences can only be 'recipient'" }).nullish() })).nullish(),
  categories: noCategories,
  templateId: z.string().min(1).max(256).nullish(),
});
export type InlinePreferences = z.infer<typeof inlinePreferencesSchema>;

type Details = NonNullable<RecipientPreferences['notifications']>[string];

/** What the message is, for matching preference keys: its template ids (as sent, and the notification it resolved to) and topic. */
export interface MessageKeys {
  templateIds: string[];
  topicId?: string;
}

/**
 * The layer a RecipientPreferences gives for a message: the `notifications` entry keyed by one of
 * its template ids (a template's own entry is the more specific), else by its subscription topic
 * id; undefined when none matches. `templateId` (to.preferences) limits them to that template.
 */
export function matchPreference(prefs: (RecipientPreferences & { templateId?: string | null }) | undefined, message: MessageKeys): KeyedLayer | undefined {
  if (!prefs) return undefined;
  if (prefs.templateId && !message.templateIds.includes(prefs.templateId))
    return { notApplicable: `templateId ${prefs.templateId} is not this message's template` };
  const entries = prefs.notifications ?? {};
  for (const key of [...message.templateIds, ...(message.topicId ? [message.topicId] : [])]) {
    const entry = entries[key];
    if (entry) return { key, rule: detailsRule(entry) };
  }
  return undefined;
}

/** A NotificationPreferenceDetails as a layer rule: its status, its channels as custom routing, its snooze rules. */
export function detailsRule(d: Details): PreferenceRule {
  const channels = d.channel_preferences?.map((c) => c.channel) ?? [];
  return {
    status: d.status,
    ...(channels.length ? { has_custom_routing: true, custom_routing: channels } : {}),
    ...(d.rules ? { rules: d.rules.map((r) => ({ ...(r.start ? { start: r.start } : {}), until: r.until })) } : {}),
  };
}

/** A snooze window: no delivery from `start` (absent: already) until `until` (ISO 8601). */
export interface SnoozeRule {
  start?: string;
  until: string;
}

/** One layer's explicit settings; an absent field means "not set by this layer". */
export interface PreferenceRule {
  status?: PreferenceStatus;
  has_custom_routing?: boolean;
  custom_routing?: string[];
  rules?: SnoozeRule[];
}

export type LayerName = 'workspace' | 'list' | 'ancestor_tenant' | 'tenant' | 'user' | 'user_tenant' | 'list_subscription' | 'recipient';

/** A RecipientPreferences layer: the entry that matched (its key) and the rule it sets, or why none applies. */
export interface KeyedLayer {
  /** The `notifications` key that matched (a template id or the topic id). */
  key?: string;
  rule?: PreferenceRule;
  /** Set when the preferences given do not apply to this message: why. */
  notApplicable?: string;
}

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
  /** L. the list's own preferences (a recipient reached through a list). */
  list?: KeyedLayer & { list_id: string };
  /** S. the subscriber's preferences on that list. */
  listSubscription?: KeyedLayer & { list_id: string };
  /** R. the send's `to.preferences`. */
  recipient?: KeyedLayer;
  /** The time the snooze windows are checked against (ms); without it no window is active. */
  at?: number;
}

export interface LayerContribution {
  layer: LayerName;
  tenant_id?: string;
  list_id?: string;
  /** The RecipientPreferences key that matched. */
  key?: string;
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
  /** present when `at` falls inside a snooze window: the window's end and the layer whose rules set it */
  snooze?: { until: string; layer: LayerName };
  /** every layer in the order it applied (ancestors one entry each), what it set, whether it applied, and why not */
  layers: LayerContribution[];
}

export const REASONS = {
  noTenantContext: 'no tenant context',
  requiredByWorkspace: 'REQUIRED cannot be opted out: the workspace topic is REQUIRED',
  requiredByTenant: 'REQUIRED cannot be opted out: the tenant defaults make the topic REQUIRED',
  emptyRouting: 'has_custom_routing is true with no entries: routing not set',
  routingWithoutFlag: 'custom_routing without has_custom_routing is ignored',
  requiredByList: 'REQUIRED cannot be opted out: the list preferences make it REQUIRED',
  nothingSet: 'sets neither status nor custom routing',
  snoozeLocked: 'snooze rules cannot apply: the notification is REQUIRED',
} as const;

interface Candidate {
  layer: LayerName;
  tenant_id?: string;
  list_id?: string;
  key?: string;
  rule?: PreferenceRule;
  /** Set when the layer does not apply in this context: the reason. */
  notApplicable?: string;
}

/** The result so far, updated layer by layer. */
interface Accumulator {
  status?: PreferenceStatus;
  decidingLayer: LayerName | 'default';
  routing?: { layer: LayerName; entries: string[] };
  rules?: { layer: LayerName; rules: SnoozeRule[] };
}

export function resolvePreference(input: PreferenceLayers): PreferenceDecision {
  const tenantOnly = input.hasTenantContext ? undefined : REASONS.noTenantContext;
  const acc: Accumulator = { decidingLayer: 'default' };

  const workspaceLock = input.workspace?.status === 'REQUIRED' ? REASONS.requiredByWorkspace : undefined;
  const tenantLayers: Candidate[] = [
    ...(input.ancestors ?? []).map((a): Candidate => ({ layer: 'ancestor_tenant', tenant_id: a.tenant_id, rule: a.rule, notApplicable: tenantOnly })),
    { layer: 'tenant', tenant_id: input.tenant?.tenant_id, rule: input.tenant?.rule, notApplicable: tenantOnly },
  ];
  const layers = [applyLayer({ layer: 'workspace', rule: input.workspace }, acc)];
  if (input.list) layers.push(applyLayer(keyed('list', input.list), acc));
  // A list default ending on REQUIRED locks the user's choices as a workspace REQUIRED does.
  const listLock = acc.status === 'REQUIRED' && acc.decidingLayer === 'list' ? REASONS.requiredByList : undefined;
  const userLock = workspaceLock ?? listLock;
  const user = () => applyLayer({ layer: 'user', rule: input.user }, acc, userLock);
  // With a tenant context the user's global choice comes before the tenant layers (1, 4, 2, 3, 5); without one they do not apply (1, 4).
  if (input.hasTenantContext) layers.push(user(), ...tenantLayers.map((c) => applyLayer(c, acc)));
  else layers.push(...tenantLayers.map((c) => applyLayer(c, acc)), user());
  // Tenant defaults that end on REQUIRED lock the user's choices made after them, as a workspace REQUIRED does.
  const tenantLock =
    acc.status === 'REQUIRED' && (acc.decidingLayer === 'ancestor_tenant' || acc.decidingLayer === 'tenant') ? REASONS.requiredByTenant : undefined;
  const lateLock = userLock ?? tenantLock;
  layers.push(applyLayer({ layer: 'user_tenant', rule: input.userTenant, notApplicable: tenantOnly }, acc, lateLock));
  if (input.listSubscription) layers.push(applyLayer(keyed('list_subscription', input.listSubscription), acc, lateLock));
  if (input.recipient) layers.push(applyLayer(keyed('recipient', input.recipient), acc, lateLock));

  const status = acc.status ?? 'OPTED_IN';
  const snooze = acc.rules && input.at !== undefined ? activeSnooze(acc.rules.rules, input.at) : undefined;
  return {
    status,
    deliver: status !== 'OPTED_OUT' && snooze === undefined,
    ...(acc.routing ? { customRouting: acc.routing.entries, routingLayer: acc.routing.layer } : {}),
    ...(snooze !== undefined && acc.rules ? { snooze: { until: snooze, layer: acc.rules.layer } } : {}),
    decidingLayer: acc.decidingLayer,
    layers,
  };
}

const keyed = (layer: LayerName, k: KeyedLayer & { list_id?: string }): Candidate => ({
  layer,
  ...(k.list_id !== undefined ? { list_id: k.list_id } : {}),
  ...(k.key !== undefined ? { key: k.key } : {}),
  rule: k.rule,
  notApplicable: k.notApplicable,
});

/** The end of the latest window containing `at` (start inclusive, until exclusive), if any. */
export function activeSnooze(rules: SnoozeRule[], at: number): string | undefined {
  let end: { ms: number; until: string } | undefined;
  for (const r of rules) {
    const start = r.start ? Date.parse(r.start) : -Infinity;
    const until = Date.parse(r.until);
    if (start <= at && at < until && (!end || until > end.ms)) end = { ms: until, until: r.until };
  }
  return end?.until;
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
  const head = {
    layer: c.layer,
    ...(c.tenant_id !== undefined ? { tenant_id: c.tenant_id } : {}),
    ...(c.list_id !== undefined ? { list_id: c.list_id } : {}),
    ...(c.key !== undefined ? { key: c.key } : {}),
    set,
  };
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
  if (set.rules !== undefined) {
    if (statusLock) {
      notes.push(REASONS.snoozeLocked);
    } else {
      acc.rules = { layer: c.layer, rules: set.rules };
      applied = true;
    }
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
  if (rule?.rules !== undefined) set.rules = rule.rules.map((r) => ({ ...(r.start !== undefined ? { start: r.start } : {}), until: r.until }));
  return set;
}
