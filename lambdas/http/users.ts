import { z } from 'zod';
import {
  defaultStatus,
  inlinePreferencesSchema,
  matchPreference,
  recipientPreferencesSchema,
  resolvePreference,
  type InlinePreferences,
  type MessageKeys,
  type PreferenceLayers,
} from '../domain/preferences';
import { listIdSchema } from '../domain/lists';
import { now } from '../shared/clock';
import { config } from '../shared/config';
import { quietHold, quietHoursSchema, recipientZone } from '../domain/quiet-hours';
import { CHANNELS, type Channel } from '../domain/routing';
import { deleteQuietHours, getQuietHours, putQuietHours } from '../store/quiet-hours';
import { getList, getSubscription } from '../store/lists';
import { loadedLayers, MAX_CONTEXT_LAYERS, type TenantRecord } from '../domain/tenant-context';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { clientCaller } from '../domain/client-graphql';
import { apiHandler, handlerByPath } from '../shared/api';
import { bearerToken } from '../shared/middleware';
import { tokenScopes } from '../shared/tokens';
import { AuthorizationError, NotFoundError, ValidationError } from '../shared/errors';
import { enqueueFanout } from '../shared/jobs';
import { noContent, ok, pathId, route } from '../shared/router';
import type { Operation } from 'fast-json-patch';
import { deleteToken, getToken, listTokens, patchToken, putToken, tokenFields, type DeviceToken } from '../store/device-tokens';
import {
  deleteUserPreference,
  getUserPreference,
  listUserPreferences,
  preferenceLayers,
  putUserPreference,
  topics,
  type Topic,
  type UserPreference,
} from '../store/preferences';
import { getProfile, touchProfile } from '../store/profiles';
import { deleteMembership, getTenants, listUserTenants, putMembership, tenantChain } from '../store/tenants';
import { limitQuery, listPage } from './paging';
import { bodyId, jsonObject, preferenceSetting } from './schemas';
import { everyPage } from '../store/pages';

/** Audiences follow memberships: the profile's new revision voids decisions made from the old memberships. */
const membershipChanged = async (userId: string) => {
  await touchProfile(userId);
  await enqueueFanout([{ type: 'audience-user', userId }]);
};

async function requireTenants(ids: string[], field: (i: number) => string): Promise<void> {
  const found = await getTenants(ids);
  const missing = ids.findIndex((id) => !found.has(id));
  if (missing >= 0) throw new ValidationError(`Invalid request: ${field(missing)}: tenant ${ids[missing]} does not exist`);
}

/** The tenant context layers for `?tenant_id=` (topmost first), or none; 404 for an unknown tenant. */
async function contextLayers(tenantId: string | undefined): Promise<TenantRecord[]> {
  if (tenantId === undefined) return [];
  const chain = await tenantChain(tenantId, MAX_CONTEXT_LAYERS);
  if (!chain.length) throw new NotFoundError(`Tenant ${tenantId} not found`);
  return loadedLayers(chain);
}

function topicPreference(topicId: string, topic: Topic | undefined, layers: TenantRecord[], own: UserPreference | undefined) {
  const base = defaultStatus(preferenceLayers({ topicId, topic, tenantLayers: layers }));
  return {
    topic_id: topicId,
    topic_name: topic?.name ?? topicId,
    status: own?.status ?? base,
    default_status: base,
    has_custom_routing: own?.has_custom_routing ?? false,
    custom_routing: own?.custom_routing ?? [],
  };
}

const tenantQuery = z.object({ tenant_id: bodyId.optional() });

const explainQuery = tenantQuery.extend({
  /** Explain a send to this list: its preferences and the user's subscription's. */
  list_id: listIdSchema.optional(),
  /** The template sent (for preferences keyed by notification id). */
  template: bodyId.optional(),
  /** The time snooze windows are checked at (ISO 8601; default now). */
  at: z
    .string()
    .refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 time')
    .optional(),
});

/** Topics listed by the preferences endpoint: the workspace has tens, not thousands. */
const MAX_TOPICS = 1000;

const membershipRoutes = [
  route({
    method: 'GET',
    path: '/users/:user_id/tenants',
    greedy: 'user_id',
    query: limitQuery,
    handler: async ({ params, query }) => {
      const page = await listUserTenants(params.user_id, query.limit, query.cursor);
      const items = page.items.map((m) => ({ type: 'user' as const, tenant_id: m.tenant_id, user_id: m.user_id, profile: m.profile ?? {} }));
      return ok(listPage(`/users/${encodeURIComponent(params.user_id)}/tenants`, items, page.cursor, query.limit));
    },
  }),
  route({
    method: 'PUT',
    path: '/users/:user_id/tenants',
    greedy: 'user_id',
    body: z.object({
      tenants: z
        .array(z.object({ tenant_id: bodyId, user_id: bodyId.nullish(), type: z.literal('user').nullish(), profile: jsonObject.nullish() }))
        .min(1)
        .max(100),
    }),
    handler: async ({ params, body }) => {
      const mismatch = body.tenants.findIndex((t) => t.user_id && t.user_id !== params.user_id);
      if (mismatch >= 0) throw new ValidationError(`Invalid request: body.tenants.${mismatch}.user_id: must be ${params.user_id} or absent`);
      await requireTenants(
        body.tenants.map((t) => t.tenant_id),
        (i) => `body.tenants.${i}.tenant_id`,
      );
      for (const t of body.tenants) await putMembership(t.tenant_id, params.user_id, t.profile ?? undefined);
      await membershipChanged(params.user_id);
      return noContent();
    },
  }),
  route({
    method: 'PUT',
    path: '/users/:user_id/tenants/:tenant_id',
    greedy: 'user_id',
    body: z.object({ profile: jsonObject.nullish() }).optional(),
    handler: async ({ params, body }) => {
      await requireTenants([params.tenant_id], () => 'path.tenant_id');
      await putMembership(params.tenant_id, params.user_id, body?.profile ?? undefined);
      await membershipChanged(params.user_id);
      return noContent();
    },
  }),
  route({
    method: 'DELETE',
    path: '/users/:user_id/tenants',
    greedy: 'user_id',
    handler: async ({ params }) => {
      for await (const memberships of everyPage((limit, cursor) => listUserTenants(params.user_id, limit, cursor))) {
        for (const m of memberships) await deleteMembership(m.tenant_id, params.user_id);
      }
      await membershipChanged(params.user_id);
      return noContent();
    },
  }),
  route({
    method: 'DELETE',
    path: '/users/:user_id/tenants/:tenant_id',
    greedy: 'user_id',
    handler: async ({ params }) => {
      await deleteMembership(params.tenant_id, params.user_id);
      await membershipChanged(params.user_id);
      return noContent();
    },
  }),
];

const preferenceRoutes = [
  route({
    method: 'GET',
    path: '/users/:user_id/preferences',
    greedy: 'user_id',
    query: tenantQuery,
    handler: async ({ params, query }) => {
      const layers = await contextLayers(query.tenant_id);
      const own = await listUserPreferences(params.user_id, query.tenant_id);
      const all = await topics.list(MAX_TOPICS);
      const items = all.items.map((t) => topicPreference(t.id, t.doc, layers, own.get(t.id)));
      // Preferences for topics the workspace does not (yet) define are still the user's.
      for (const [topicId, pref] of own) if (!all.items.some((t) => t.id === topicId)) items.push(topicPreference(topicId, undefined, layers, pref));
      return ok({ items, paging: { cursor: null, more: false } });
    },
  }),
  route({
    method: 'GET',
    path: '/users/:user_id/preferences/:topic_id',
    greedy: 'user_id',
    query: tenantQuery,
    handler: async ({ params, query }) => {
      const [layers, topic, own] = await Promise.all([
        contextLayers(query.tenant_id),
        topics.get(params.topic_id),
        getUserPreference(params.user_id, params.topic_id, query.tenant_id),
      ]);
      return ok({ topic: topicPreference(params.topic_id, topic?.doc, layers, own) });
    },
  }),
  route({
    method: 'PUT',
    path: '/users/:user_id/preferences/:topic_id',
    greedy: 'user_id',
    query: tenantQuery,
    body: z.object({ topic: preferenceSetting }),
    handler: async ({ params, query, body }) => {
      if (query.tenant_id !== undefined) await contextLayers(query.tenant_id);
      await putUserPreference(params.user_id, params.topic_id, query.tenant_id, body.topic);
      return ok({ message: 'success' });
    },
  }),
  route({
    method: 'DELETE',
    path: '/users/:user_id/preferences/:topic_id',
    greedy: 'user_id',
    query: tenantQuery,
    handler: async ({ params, query }) => {
      await deleteUserPreference(params.user_id, params.topic_id, query.tenant_id);
      return noContent();
    },
  }),
  route({
    method: 'GET',
    path: '/users/:user_id/preferences/:topic_id/explain',
    greedy: 'user_id',
    query: explainQuery,
    handler: async ({ params, query }) => ok(await explain(params.user_id, params.topic_id, query)),
  }),
  route({
    method: 'POST',
    path: '/users/:user_id/preferences/:topic_id/explain',
    greedy: 'user_id',
    query: explainQuery,
    body: z.object({ preferences: inlinePreferencesSchema.nullish() }),
    handler: async ({ params, query, body }) => ok(await explain(params.user_id, params.topic_id, query, body.preferences ?? undefined)),
  }),
];

/**
 * Every layer's contribution for a user and topic (docs/decisions.md#d4), as a send would see it:
 * with `?tenant_id` its tenant context, with `?list_id` the list's and the subscription's
 * preferences, with a POST body the send's `to.preferences`.
 */
async function explain(userId: string, topicId: string, query: z.infer<typeof explainQuery>, inline?: InlinePreferences) {
  const [layers, topic, user, userTenant, list, subscription] = await Promise.all([
    contextLayers(query.tenant_id),
    topics.get(topicId),
    getUserPreference(userId, topicId),
    query.tenant_id === undefined ? undefined : getUserPreference(userId, topicId, query.tenant_id),
    query.list_id === undefined ? undefined : getList(query.list_id),
    query.list_id === undefined ? undefined : getSubscription(query.list_id, userId),
  ]);
  const keys: MessageKeys = { templateIds: query.template ? [query.template] : [], topicId };
  const given: Pick<PreferenceLayers, 'list' | 'listSubscription' | 'recipient'> = {};
  const stored = (p: Record<string, unknown> | undefined) => {
    const parsed = p && recipientPreferencesSchema.safeParse(p);
    return parsed
      ? parsed.success
        ? matchPreference(parsed.data, keys)
        : { notApplicable: 'the stored preferences are not valid RecipientPreferences' }
      : undefined;
  };
  if (query.list_id !== undefined) {
    const fromList = stored(list?.preferences);
    if (fromList) given.list = { list_id: query.list_id, ...fromList };
    const fromSubscription = stored(subscription?.preferences);
    if (fromSubscription) given.listSubscription = { list_id: query.list_id, ...fromSubscription };
  }
  const recipient = matchPreference(inline, keys);
  if (recipient) given.recipient = recipient;
  const at = query.at === undefined ? now() : Date.parse(query.at);
  const decision = resolvePreference({ ...preferenceLayers({ topicId, topic: topic?.doc, tenantLayers: layers, user, userTenant }), ...given, at });
  return {
    user_id: userId,
    topic_id: topicId,
    tenant_id: query.tenant_id ?? null,
    loaded_tenants: layers.map((t) => t.id),
    ...(query.list_id !== undefined ? { list_id: query.list_id, subscribed: subscription !== undefined } : {}),
    ...decision,
    quiet_hours: await explainQuiet(userId, decision.status === 'REQUIRED', at),
  };
}

/**
 * Whether quiet hours would hold a send to the user at `at` (D26), per channel they cover: the
 * hours in force (the user's own, else the workspace's), the zone they are read in, and until when
 * each channel is held (null: not held). A REQUIRED topic is never held.
 */
async function explainQuiet(userId: string, required: boolean, at: number) {
  const own = config.USER_QUIET_HOURS ? await getQuietHours(userId) : undefined;
  const quiet = own ?? config.QUIET_HOURS;
  if (!quiet) return null;
  const profile = await getProfile(userId);
  const zone = recipientZone(profile ?? {}, config.DEFAULT_TIMEZONE);
  const held = Object.fromEntries(
    (quiet.channels ?? CHANNELS).map((channel: Channel) => {
      const hold = quietHold({ quiet, source: own ? 'user' : 'workspace', channel, required, zone, at });
      return [channel, hold ? new Date(hold.until).toISOString() : null];
    }),
  );
  return { source: own ? 'user' : 'workspace', ...quiet, timezone: zone, required, held_until: held };
}

/** A token in a bulk PUT: the token itself with its fields. */
const tokenEntry = tokenFields.extend({ token: z.string().min(1).max(4096) });
const tokenPath = z.object({ user_id: pathId, token: z.string().min(1).max(4096) });
const view = ({ created: _c, updated: _u, ...t }: DeviceToken) => t;

/** Device tokens (Courier's `users.tokens`): used by push sends (the delivery worker reads a user's usable tokens). */
const tokenRoutes = [
  route({
    method: 'GET',
    path: '/users/:user_id/tokens',
    greedy: 'user_id',
    handler: async ({ params }) => ok({ tokens: (await listTokens(params.user_id)).map(view) }),
  }),
  route({
    method: 'PUT',
    path: '/users/:user_id/tokens',
    greedy: 'user_id',
    // The SDK's addMultiple sends no body (nothing to add); a client may send the tokens, as a list or as `{ tokens }`.
    body: z.union([z.undefined(), z.array(tokenEntry).max(100), z.object({ tokens: z.array(tokenEntry).max(100) })]),
    handler: async ({ params, body }) => {
      const tokens = body === undefined ? [] : Array.isArray(body) ? body : body.tokens;
      for (const { token, ...fields } of tokens) await putToken(params.user_id, token, fields);
      return noContent();
    },
  }),
  route({
    method: 'GET',
    path: '/users/:user_id/tokens/:token',
    greedy: 'user_id',
    params: tokenPath,
    handler: async ({ params }) => {
      const token = await getToken(params.user_id, params.token);
      if (!token) throw new NotFoundError(`Token ${params.token} of user ${params.user_id} not found`);
      return ok(view(token));
    },
  }),
  route({
    method: 'PUT',
    path: '/users/:user_id/tokens/:token',
    greedy: 'user_id',
    params: tokenPath,
    body: tokenFields,
    handler: async ({ params, body }) => {
      await putToken(params.user_id, params.token, body);
      return noContent();
    },
  }),
  route({
    method: 'PATCH',
    path: '/users/:user_id/tokens/:token',
    greedy: 'user_id',
    params: tokenPath,
    body: z.object({
      patch: z
        .array(
          z.object({
            op: z.enum(['add', 'remove', 'replace', 'move', 'copy', 'test']),
            path: z.string(),
            value: z.unknown().optional(),
            from: z.string().optional(),
          }),
        )
        .min(1),
    }),
    handler: async ({ params, body }) => {
      if (!(await patchToken(params.user_id, params.token, body.patch as Operation[])))
        throw new NotFoundError(`Token ${params.token} of user ${params.user_id} not found`);
      return noContent();
    },
  }),
  route({
    method: 'DELETE',
    path: '/users/:user_id/tokens/:token',
    greedy: 'user_id',
    params: tokenPath,
    handler: async ({ params }) => {
      await deleteToken(params.user_id, params.token);
      return noContent();
    },
  }),
];

/**
 * A user's own quiet hours (our extension, docs/decisions.md D26): they replace the workspace's
 * `QUIET_HOURS` for this user. Refused while USER_QUIET_HOURS is off (deliveries would not read them).
 */
const quietRoutes = [
  route({
    method: 'GET',
    path: '/users/:user_id/quiet-hours',
    greedy: 'user_id',
    handler: async ({ params }) => {
      const own = config.USER_QUIET_HOURS ? await getQuietHours(params.user_id) : undefined;
      return ok(own ? { source: 'user', ...own } : { source: 'workspace', ...(config.QUIET_HOURS ?? { hours: null }) });
    },
  }),
  route({
    method: 'PUT',
    path: '/users/:user_id/quiet-hours',
    greedy: 'user_id',
    body: quietHoursSchema,
    handler: async ({ params, body }) => {
      if (!config.USER_QUIET_HOURS)
        throw new ValidationError('Invalid request: per-user quiet hours are not supported while the workspace setting USER_QUIET_HOURS is off');
      await putQuietHours(params.user_id, body);
      return ok({ source: 'user', ...body });
    },
  }),
  route({
    method: 'DELETE',
    path: '/users/:user_id/quiet-hours',
    greedy: 'user_id',
    handler: async ({ params }) => {
      await deleteQuietHours(params.user_id);
      return noContent();
    },
  }),
];

export const routes = [...membershipRoutes, ...preferenceRoutes, ...quietRoutes, ...tokenRoutes];

/**
 * The same device-token routes for the end user's own tokens, by user token (Courier's
 * `read:user-tokens` / `write:user-tokens` scopes): what courier-js's `tokens.putUserToken` and
 * `deleteUserToken` call from a browser or an app. Only the token's one user; another is a 403.
 */
function ownTokens(scope: 'read:user-tokens' | 'write:user-tokens') {
  return (event: APIGatewayProxyEventV2, userId: string): void => {
    const c = clientCaller(tokenScopes(event), event.headers?.['x-courier-user-id'] || undefined);
    if (!c.ok) throw new AuthorizationError(`Forbidden: ${c.error}`);
    if (c.caller.userId !== userId) throw new AuthorizationError(`Forbidden: the token is not scoped to user ${userId}`);
    if (!c.caller.scopes.has(scope)) throw new AuthorizationError(`Forbidden: the token lacks the ${scope} scope`);
  };
}
const USER_TOKEN_ROUTES: Record<string, 'read:user-tokens' | 'write:user-tokens'> = {
  'GET /users/:user_id/tokens': 'read:user-tokens',
  'GET /users/:user_id/tokens/:token': 'read:user-tokens',
  'PUT /users/:user_id/tokens/:token': 'write:user-tokens',
  'DELETE /users/:user_id/tokens/:token': 'write:user-tokens',
};
export const userTokenRoutes = tokenRoutes
  .filter((r) => USER_TOKEN_ROUTES[`${r.method} ${r.path}`])
  .map((r) => {
    const check = ownTokens(USER_TOKEN_ROUTES[`${r.method} ${r.path}`]);
    return { ...r, handle: async (event: APIGatewayProxyEventV2, params: Record<string, string>) => (check(event, params.user_id), r.handle(event, params)) };
  });

const adminHandler = apiHandler(routes);
const endUserHandler = apiHandler(userTokenRoutes, { auth: 'userToken' });
/** A JWT (three base64url parts) is a user token; API keys (`ck_...`) have no dots. */
const isUserToken = (event: APIGatewayProxyEventV2) => (bearerToken(event.headers)?.split('.').length ?? 0) === 3;

/** The routes above, for a user token (PATCH and the bulk PUT stay admin routes: a user token there is a 401). */
const endUserRoute = (method: string, path: string) =>
  (method === 'GET' && /^\/users\/.+\/tokens$/.test(path)) || (['GET', 'PUT', 'DELETE'].includes(method) && /^\/users\/.+\/tokens\/[^/]+$/.test(path));

export const handler = handlerByPath((path, event) =>
  isUserToken(event) && endUserRoute(event.requestContext.http.method.toUpperCase(), path) ? endUserHandler : adminHandler,
);
