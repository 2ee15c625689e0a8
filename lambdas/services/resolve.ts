import { localeCandidates } from '../domain/locales';
import { parsePo } from '../domain/po';
import {
  inlinePreferencesSchema,
  matchPreference,
  recipientPreferencesSchema,
  resolvePreference,
  type KeyedLayer,
  type MessageKeys,
  type PreferenceDecision,
  type PreferenceLayers,
} from '../domain/preferences';
import { contentConditionIssues, type Brand, type ElementalContent } from '../domain/render';
import { customRouting, DEFAULT_ROUTING, type Channel, type Routing } from '../domain/routing';
import type { StrategyChannels, StrategyProviders } from '../domain/routing-strategy';
import {
  chooseBrand,
  chooseContextTenant,
  loadedLayers,
  MAX_CONTEXT_LAYERS,
  mergeRecipientProfile,
  mergeTenantLayers,
  type TenantContext,
  type TenantRecord,
} from '../domain/tenant-context';
import { memo } from '../shared/cache';
import { config } from '../shared/config';
import { targetData, type DeliveryRecipient } from '../shared/jobs';
import { now } from '../shared/clock';
import { targetsOf } from '../domain/send';
import { getList } from '../store/lists';
import { brands } from '../store/brands';
import { brandView } from '../domain/brand';
import type { RequestRecord } from '../store/messages';
import type { Throttle } from '../domain/throttle';
import type { TopicDigest } from '../domain/automations';
import { getUserPreference, preferenceLayers, topics, type Topic } from '../store/preferences';
import { strategies } from '../store/routing-strategies';
import type { Profile } from '../store/profiles';
import { getTemplateHead, getTemplateVersion, type TemplateBody } from '../store/tenant-templates';
import { getPublishedVersion, mappedTemplateId, templates } from '../store/templates';
import { getTranslation } from '../store/translations';
import { getMembership, listUserTenants, tenantChain } from '../store/tenants';

/** Workspace data changes rarely and is read for every recipient: cached briefly per warm function. */
const TTL_MS = config.CACHE_TTL_MS;
const tenantCache = memo<TenantContext | undefined>(TTL_MS);
const topicCache = memo<Topic | undefined>(TTL_MS);
const brandCache = memo<Brand | undefined>(TTL_MS);
const templateCache = memo<ResolvedTemplate | 'missing' | 'unpublished'>(TTL_MS);
const strategyCache = memo<ResolvedStrategy | 'missing' | 'archived'>(TTL_MS);
const translationCache = memo<ReadonlyMap<string, string> | undefined>(TTL_MS);
const listPreferencesCache = memo<Record<string, unknown> | undefined>(TTL_MS);

interface ResolvedTemplate {
  /** The notification's id (a send may name it by an event id mapped to it). */
  templateId?: string;
  content: ElementalContent;
  routing?: Routing;
  /** The routing strategy the template's `routing.strategy_id` names. */
  strategyId?: string;
  topicId?: string;
  brandId?: string;
}

/** Everything the delivery of one recipient needs, or the terminal status that ends it early. */
export type Resolution =
  | { end: 'UNMAPPED' | 'UNROUTABLE' | 'FILTERED'; reason?: string; error?: string; detail?: Record<string, unknown>; tenantId?: string }
  | {
      end?: undefined;
      profile: Profile;
      tenant?: TenantContext;
      content: ElementalContent;
      routing: Routing;
      /** The channel settings of the template's routing strategy (its preferred providers, conditions), under the message's own `channels`. */
      channels?: StrategyChannels;
      /** The provider settings of the template's routing strategy (conditions), under the message's own `providers`. */
      providers?: StrategyProviders;
      brand?: Brand;
      /** The brand of each channel whose `channels.<channel>.brand_id` the send sets (it beats `brand`); undefined when that brand does not exist. */
      channelBrands?: Partial<Record<Channel, Brand | undefined>>;
      data: Record<string, unknown>;
      preference?: PreferenceDecision;
      /** The message's topic, its throttle (docs/decisions.md D26) and its digest (D27), when it has a topic. */
      topic?: { id: string; throttle?: Throttle; digest?: TopicDigest };
      /** The recipient's locale (`to.locale`, else the stored profile's), and its translations when the content uses them. */
      locale?: string;
      translations?: ReadonlyMap<string, string>;
    };

export function loadTenantContext(tenantId: string): Promise<TenantContext | undefined> {
  return tenantCache(tenantId, async () => {
    const chain: TenantRecord[] = await tenantChain(tenantId, MAX_CONTEXT_LAYERS);
    return chain.length ? mergeTenantLayers(loadedLayers(chain)) : undefined;
  });
}

/**
 * A send's `template`: the notification of that id, else the notification the event of that id
 * is mapped to (`event_ids`), as Courier resolves a template id or an event id.
 */
function loadTemplate(templateOrEventId: string): Promise<ResolvedTemplate | 'missing' | 'unpublished'> {
  return templateCache(templateOrEventId, async () => {
    let templateId = templateOrEventId;
    let t = await templates.get(templateId);
    if (!t || t.doc.archived) {
      const mapped = await mappedTemplateId(templateOrEventId);
      if (mapped === undefined) return 'missing';
      templateId = mapped;
      t = await templates.get(templateId);
    }
    if (!t || t.doc.archived) return 'missing';
    if (!t.doc.published) return 'unpublished';
    const v = await getPublishedVersion(templateId, t.doc.published);
    if (!v) return 'missing';
    const n = v.notification;
    return {
      templateId,
      content: n.content as ElementalContent,
      routing: n.routing?.channels ? (n.routing as Routing) : undefined,
      strategyId: n.routing?.strategy_id,
      topicId: n.subscription?.topic_id,
      brandId: n.brand?.id,
    };
  });
}

function loadTenantTemplate(tenantId: string, templateId: string): Promise<ResolvedTemplate | 'missing' | 'unpublished'> {
  return templateCache(`${tenantId}\u0000${templateId}`, async () => {
    const head = await getTemplateHead(tenantId, templateId);
    if (!head) return 'missing';
    if (!head.published) return 'unpublished';
    const v = await getTemplateVersion(tenantId, templateId, head.published);
    if (!v) return 'missing';
    const body: TemplateBody = v.template;
    return { content: body.content as ElementalContent, routing: body.routing as Routing | undefined };
  });
}

interface ResolvedStrategy {
  routing: Routing;
  channels: StrategyChannels;
  providers: StrategyProviders;
}

function loadStrategy(strategyId: string): Promise<ResolvedStrategy | 'missing' | 'archived'> {
  return strategyCache(strategyId, async () => {
    const found = await strategies.get(strategyId);
    if (!found) return 'missing';
    if (found.doc.archived) return 'archived';
    return { routing: found.doc.routing, channels: found.doc.channels, providers: found.doc.providers };
  });
}

const TENANT_TEMPLATE = 'tenant/';

/**
 * Resolves one recipient (docs/decisions.md#d2, #d3, #d4, #d5): template, tenant context (first match: recipient,
 * message, fan-out tenant, auto-infer), merged profile, preferences (FILTERED with the deciding
 * layer), routing (custom routing replaces the message's; a template's routing strategy routes as
 * the template's own routing would, and a strategy missing or archived ends it UNROUTABLE), brand
 * and data.
 */
export async function resolveRecipient(req: RequestRecord, r: DeliveryRecipient, storedProfile: Profile | undefined): Promise<Resolution> {
  const m = req.message;
  const isTenantTemplate = m.template?.startsWith(TENANT_TEMPLATE) === true;
  let template: ResolvedTemplate | undefined;
  if (m.template && !isTenantTemplate) {
    const t = await loadTemplate(m.template);
    if (t === 'missing') return { end: 'UNMAPPED', error: `Template ${m.template} not found` };
    if (t === 'unpublished') return { end: 'UNROUTABLE', reason: 'UNPUBLISHED', error: `Template ${m.template} has no published version` };
    template = t;
  }
  let strategy: ResolvedStrategy | undefined;
  if (template?.strategyId) {
    const found = await loadStrategy(template.strategyId);
    if (found === 'missing' || found === 'archived') {
      const error = `Routing strategy ${template.strategyId} (routing.strategy_id of template ${m.template}) ${found === 'missing' ? 'not found' : 'is archived'}`;
      return { end: 'UNROUTABLE', error, detail: { strategy_id: template.strategyId } };
    }
    strategy = found;
  }

  const named = r.tenantId ?? m.context?.tenant_id ?? r.fanoutTenantId;
  const memberships = !named && r.userId ? (await listUserTenants(r.userId, 2)).items.map((x) => x.tenant_id) : [];
  const choice = chooseContextTenant({
    recipientTenantId: r.tenantId,
    messageTenantId: m.context?.tenant_id,
    fanoutTenantId: r.fanoutTenantId,
    membershipTenantIds: memberships,
    autoInfer: config.AUTO_INFER_TENANT_CONTEXT,
  });
  const tenant = choice.tenantId ? await loadTenantContext(choice.tenantId) : undefined;

  if (isTenantTemplate) {
    if (!tenant)
      return { end: 'UNROUTABLE', reason: 'TENANT_CONTEXT_NOT_FOUND', error: 'Tenant Context Not Found', detail: { memberships: memberships.length } };
    const t = await loadTenantTemplate(tenant.tenant.id, m.template!.slice(TENANT_TEMPLATE.length));
    if (t === 'missing') return { end: 'UNMAPPED', error: `Template ${m.template} not found for tenant ${tenant.tenant.id}`, tenantId: tenant.tenant.id };
    if (t === 'unpublished')
      return { end: 'UNROUTABLE', reason: 'UNPUBLISHED', error: `Template ${m.template} has no published version`, tenantId: tenant.tenant.id };
    template = t;
  }

  const membershipProfile =
    r.membershipProfile ?? (tenant && r.userId && !r.fanoutTenantId ? (await getMembership(tenant.tenant.id, r.userId))?.profile : undefined);
  const profile = mergeRecipientProfile({ tenantUserProfile: tenant?.user_profile, membershipProfile, storedProfile, inline: r.inline });

  let routing = m.routing ?? template?.routing ?? strategy?.routing ?? DEFAULT_ROUTING;
  let preference: PreferenceDecision | undefined;
  let topicSetting: { id: string; throttle?: Throttle; digest?: TopicDigest } | undefined;
  const topicId = m.preferences?.subscription_topic_id ?? template?.topicId;
  const keys: MessageKeys = { templateIds: [...new Set([m.template, template?.templateId].filter((x): x is string => !!x))], topicId };
  const given = await givenPreferences(req, r, keys);
  if (topicId || given.list || given.listSubscription || given.recipient) {
    const contextId = tenant?.tenant.id;
    const [topic, user, userTenant] = topicId
      ? await Promise.all([
          topicCache(topicId, async () => (await topics.get(topicId))?.doc),
          r.userId ? getUserPreference(r.userId, topicId) : undefined,
          r.userId && contextId ? getUserPreference(r.userId, topicId, contextId) : undefined,
        ])
      : [];
    if (topicId) topicSetting = { id: topicId, throttle: topic?.throttle, digest: topic?.digest };
    const stored: PreferenceLayers = topicId
      ? preferenceLayers({ topicId, topic, tenantLayers: tenant?.layers ?? [], user, userTenant })
      : { hasTenantContext: tenant !== undefined };
    preference = resolvePreference({ ...stored, ...given, at: now() });
    if (!preference.deliver) {
      // An opt-out says UNSUBSCRIBED; a snooze window (the status lets it through) FILTERED, with its end.
      const snoozed = preference.status === 'OPTED_OUT' ? undefined : preference.snooze;
      const deciding = snoozed?.layer ?? preference.decidingLayer;
      const key = preference.layers.find((l) => l.layer === deciding && l.key !== undefined)?.key;
      const detail = {
        ...(topicId ? { topic_id: topicId } : {}),
        deciding_layer: deciding,
        ...(key !== undefined ? { key } : {}),
        ...(snoozed ? { snoozed_until: snoozed.until } : {}),
      };
      return { end: 'FILTERED', reason: snoozed ? 'FILTERED' : 'UNSUBSCRIBED', detail, tenantId: contextId };
    }
    if (preference.customRouting?.length) routing = customRouting(preference.customRouting);
  }

  const brandOf = (channel?: string | null) =>
    chooseBrand({ channel, send: m.brand_id, tenant: tenant?.brand_id, template: template?.brandId, workspace: config.DEFAULT_BRAND_ID });
  const brandId = brandOf();
  const brand = brandId ? await loadBrand(brandId) : undefined;
  // A channel's own brand_id renders that channel with its brand (a brand that does not exist renders it unbranded, as the send's would).
  let channelBrands: Partial<Record<Channel, Brand | undefined>> | undefined;
  for (const [channel, entry] of Object.entries(m.channels ?? {}) as [Channel, { brand_id?: string | null } | undefined][]) {
    if (entry?.brand_id) channelBrands = { ...channelBrands, [channel]: await loadBrand(brandOf(entry.brand_id)!) };
  }

  const content = (m.content ?? template?.content) as ElementalContent;
  // A send's own content was checked when it was accepted; a stored template's conditions may predate the checks.
  const badCondition = m.content ? undefined : conditionIssueOf(content);
  if (badCondition) return { end: 'UNROUTABLE', error: `Template ${m.template}: content.${badCondition}`, tenantId: tenant?.tenant.id };
  const locale = typeof profile.locale === 'string' && profile.locale !== '' ? profile.locale : undefined;
  const translations = locale && usesTranslations(content) ? await loadTranslations(locale) : undefined;
  return {
    profile,
    tenant,
    content,
    routing,
    channels: strategy?.channels,
    providers: strategy?.providers,
    brand,
    channelBrands,
    data: { ...m.data, ...targetData(m, r) },
    preference,
    topic: topicSetting,
    locale,
    translations,
  };
}

/** The first condition (`if`, `loop`) of the content that does not parse, as `elements.2.if: ...`; kept per content object, as `translated`. */
const conditionIssues = new WeakMap<ElementalContent, string | null>();
function conditionIssueOf(content: ElementalContent | undefined): string | undefined {
  if (typeof content !== 'object' || content === null) return undefined;
  let issue = conditionIssues.get(content);
  if (issue === undefined) conditionIssues.set(content, (issue = contentConditionIssues(content)[0] ?? null));
  return issue ?? undefined;
}

/**
 * The RecipientPreferences layers of one recipient that match the message (docs/decisions.md#d4):
 * the list's `preferences` and the subscriber's (a recipient reached through a list: the list is
 * one cached read, the subscription's rode in the job from the fan-out's page), and the send's
 * `to.preferences` of the entry that reached the recipient. Stored preferences written before they
 * were validated, and no longer valid, apply nothing and say so.
 */
async function givenPreferences(
  req: RequestRecord,
  r: DeliveryRecipient,
  keys: MessageKeys,
): Promise<Pick<PreferenceLayers, 'list' | 'listSubscription' | 'recipient'>> {
  const out: Pick<PreferenceLayers, 'list' | 'listSubscription' | 'recipient'> = {};
  const entry = req.bulkJobId ? undefined : targetsOf(req.message.to)[r.target ?? (req.single ? 0 : -1)];
  // A bulk run's users carry theirs (checked when added to the job); a send's come with its `to` entry.
  const given = req.bulkJobId ? inlinePreferencesSchema.safeParse(r.preferences).data : entry?.preferences;
  const recipient = matchPreference(given ?? undefined, keys);
  if (recipient) out.recipient = recipient;
  if (r.listId) {
    const listId = r.listId;
    const list = storedMatch(await listPreferencesCache(listId, async () => (await getList(listId))?.preferences), keys);
    if (list) out.list = { list_id: listId, ...list };
    const subscription = storedMatch(r.subscriptionPreferences, keys);
    if (subscription) out.listSubscription = { list_id: listId, ...subscription };
  }
  return out;
}

function storedMatch(stored: Record<string, unknown> | undefined, keys: MessageKeys): KeyedLayer | undefined {
  if (!stored) return undefined;
  const parsed = recipientPreferencesSchema.safeParse(stored);
  return parsed.success ? matchPreference(parsed.data, keys) : { notApplicable: 'the stored preferences are not valid RecipientPreferences' };
}

/**
 * Does the content use `{{#t}}` (so its recipient's translations are worth a read)? Kept per
 * content object (a request's message or a cached template, the same for every recipient), so a
 * fan-out serialises its content once, not once per recipient.
 */
const translated = new WeakMap<ElementalContent, boolean>();
function usesTranslations(content: ElementalContent | undefined): boolean {
  if (typeof content !== 'object' || content === null) return false;
  let uses = translated.get(content);
  if (uses === undefined) translated.set(content, (uses = /\{\{\s*#\s*t\s*\}\}/.test(JSON.stringify(content))));
  return uses;
}

/**
 * The translations of the `default` domain for a locale: the locale's own `.po`, else its
 * language's (`fr_FR`, then `fr`); undefined when neither exists. A stored text that no longer
 * parses (it was checked when put) renders untranslated rather than failing the message.
 */
function loadTranslations(locale: string): Promise<ReadonlyMap<string, string> | undefined> {
  return translationCache(locale, async () => {
    for (const candidate of localeCandidates(locale)) {
      const t = await getTranslation('default', candidate);
      if (!t) continue;
      try {
        return parsePo(t.po).messages;
      } catch {
        return undefined;
      }
    }
    return undefined;
  });
}

/** A brand as rendering reads it, extending the workspace's default brand (DEFAULT_BRAND_ID) as Courier's custom brands do. */
function loadBrand(brandId: string): Promise<Brand | undefined> {
  return brandCache(brandId, async () => {
    const own = (await brands.get(brandId))?.doc;
    const fallback = config.DEFAULT_BRAND_ID && config.DEFAULT_BRAND_ID !== brandId ? (await brands.get(config.DEFAULT_BRAND_ID))?.doc : undefined;
    return own && brandView(brandId, own, fallback);
  });
}
