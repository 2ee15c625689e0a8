import { z } from 'zod';
import type { PreferenceLayers, PreferenceRule, PreferenceStatus } from '../domain/preferences';
import type { TenantRecord } from '../domain/tenant-context';
import { documents } from './documents';
import { throttleSchema } from '../domain/throttle';
import { topicDigestSchema } from '../domain/automations';
import { keys } from './keys';
import { deleteItem, getItem, parseDoc, queryAll, upsertItem } from './table';

const preferenceStatus = z.enum(['OPTED_IN', 'OPTED_OUT', 'REQUIRED']);

/** A subscription topic (`/preferences/topics/:id`): the workspace layer of preferences. */
const topic = z.object({
  name: z.string(),
  default_status: preferenceStatus,
  has_custom_routing: z.boolean().optional(),
  custom_routing: z.array(z.string()).optional(),
  /** Our extension (docs/decisions.md D26): at most `limit` messages of the topic per user in each `period`. */
  throttle: throttleSchema.optional(),
  /** Our extension (docs/decisions.md D27): the topic's messages to a user collect into one digest. */
  digest: topicDigestSchema.optional(),
});
export type Topic = z.infer<typeof topic>;

/** What a topic item stores (PUT /preferences/topics/:id writes it whole); keys beyond these are kept as stored. */
export const topicSchema: z.ZodType<Topic> = topic.loose();

export const topics = documents('TOPIC', topicSchema);

export interface UserPreference extends PreferenceRule {
  status: PreferenceStatus;
}

/** What a user preference item stores. */
const userPreferenceSchema: z.ZodType<UserPreference> = z.looseObject({
  status: preferenceStatus,
  has_custom_routing: z.boolean().optional(),
  custom_routing: z.array(z.string()).optional(),
});

export async function getUserPreference(userId: string, topicId: string, tenantId?: string): Promise<UserPreference | undefined> {
  const item = await getItem(keys.userPreference(userId, topicId, tenantId));
  return item ? parseDoc(item, userPreferenceSchema) : undefined;
}

export async function putUserPreference(userId: string, topicId: string, tenantId: string | undefined, pref: UserPreference): Promise<void> {
  await upsertItem(keys.userPreference(userId, topicId, tenantId), { _t: 'UserPreference', topicId, doc: JSON.stringify(pref) });
}

export function deleteUserPreference(userId: string, topicId: string, tenantId?: string): Promise<boolean> {
  return deleteItem(keys.userPreference(userId, topicId, tenantId));
}

/** All of a user's preferences in one layer (global, or for one tenant), by topic id. */
export async function listUserPreferences(userId: string, tenantId?: string): Promise<Map<string, UserPreference>> {
  const out = new Map<string, UserPreference>();
  for await (const page of queryAll({ partition: keys.profile(userId).pk, prefix: keys.userPreferencePrefix(tenantId) })) {
    for (const item of page) out.set(String(item.topicId), parseDoc(item, userPreferenceSchema));
  }
  return out;
}

export const topicRule = (topic: Topic | undefined): PreferenceRule | undefined =>
  topic && { status: topic.default_status, has_custom_routing: topic.has_custom_routing, custom_routing: topic.custom_routing };

const tenantRule = (tenant: TenantRecord, topicId: string): PreferenceRule | undefined => {
  const item = tenant.default_preferences?.items?.find((i) => i.id === topicId);
  return item && { status: item.status, has_custom_routing: item.has_custom_routing, custom_routing: item.custom_routing };
};

/**
 * The five layers of docs/decisions.md#d4 for one user and topic. `tenantLayers` are the loaded tenant
 * context layers, topmost first (the context tenant last); empty without a tenant context.
 */
export function preferenceLayers(input: {
  topicId: string;
  topic?: Topic;
  tenantLayers: TenantRecord[];
  user?: UserPreference;
  userTenant?: UserPreference;
}): PreferenceLayers {
  const context = input.tenantLayers[input.tenantLayers.length - 1];
  return {
    hasTenantContext: context !== undefined,
    workspace: topicRule(input.topic),
    ancestors: input.tenantLayers.slice(0, -1).map((t) => ({ tenant_id: t.id, rule: tenantRule(t, input.topicId) })),
    tenant: context && { tenant_id: context.id, rule: tenantRule(context, input.topicId) },
    user: input.user,
    userTenant: context ? input.userTenant : undefined,
  };
}
