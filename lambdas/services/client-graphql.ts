/**
 * Runs the client GraphQL endpoint (domain/client-graphql.ts has its schema and mappings) for one
 * caller: `graphql` (the reference implementation) parses, validates and executes; data comes
 * through a `ClientLoader`, which http/client.ts backs with the table (the unit tests with memory).
 */

import { buildSchema, specifiedRules, type ExecutionResult } from 'graphql';
import { runGraphql, type GraphqlRequest } from '../shared/graphql';
import { z } from 'zod';
import {
  brandNode,
  CLIENT_SDL,
  ClientQueryError,
  MAX_QUERY_DEPTH,
  MAX_QUERY_TOKENS,
  maxDepthRule,
  preferenceNode,
  type ClientCaller,
  type RecipientPreferenceNode,
} from '../domain/client-graphql';
import { idSchema } from '../domain/ids';
import { defaultStatus } from '../domain/preferences';
import type { TenantRecord } from '../domain/tenant-context';
import { preferenceLayers, type Topic, type UserPreference } from '../store/preferences';

const schema = buildSchema(CLIENT_SDL);

/** Topics a preference listing reads: the workspace has tens, not thousands (as GET /users/:id/preferences). */
export const MAX_TOPICS = 1000;

export interface StoredTopic {
  id: string;
  doc: Topic;
}

export interface StoredBrand {
  id: string;
  settings: Record<string, unknown>;
}

/** What the resolvers read and write; http/client.ts backs it with the table. */
export interface ClientLoader {
  topics(): Promise<StoredTopic[]>;
  topic(topicId: string): Promise<Topic | undefined>;
  /** The tenant context layers of a tenant, topmost first; undefined when the tenant does not exist. */
  tenantLayers(tenantId: string): Promise<TenantRecord[] | undefined>;
  /** The user's preferences of one layer (global, or for one tenant), by topic id. */
  userPreferences(userId: string, tenantId?: string): Promise<Map<string, UserPreference>>;
  putUserPreference(userId: string, topicId: string, tenantId: string | undefined, pref: UserPreference): Promise<void>;
  brand(brandId: string): Promise<StoredBrand | undefined>;
  /** The workspace's default brand (DEFAULT_BRAND_ID). */
  defaultBrandId?: string;
}

const NO_DIGESTS = 'digest schedules are not supported by this server';

interface Context {
  caller: ClientCaller;
  loader: ClientLoader;
  /** Per-request reads, so aliases and repeated fields read the table once. */
  memo: Map<string, Promise<unknown>>;
}

const memo = <T>(ctx: Context, key: string, load: () => Promise<T>): Promise<T> => {
  if (!ctx.memo.has(key)) ctx.memo.set(key, load());
  return ctx.memo.get(key) as Promise<T>;
};

function need(ctx: Context, ...anyOf: string[]): void {
  if (!anyOf.some((s) => ctx.caller.scopes.has(s))) throw new ClientQueryError(`Forbidden: the token lacks the ${anyOf[0]} scope`, 'FORBIDDEN');
}

function arg<T>(schema: z.ZodType<T>, value: unknown, name: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new ClientQueryError(`Invalid argument ${name}: ${r.error.issues[0]?.message ?? 'invalid'}`, 'BAD_USER_INPUT');
  return r.data;
}

/** The tenant context: the token's tenant, or `accountId` when the token has none; another tenant than the token's is refused. */
function tenantOf(ctx: Context, accountId: unknown): string | undefined {
  const asked = arg(idSchema.nullish(), accountId, 'accountId') ?? undefined;
  const own = ctx.caller.tenantId;
  if (own !== undefined && asked !== undefined && asked !== own)
    throw new ClientQueryError(`Forbidden: the token is scoped to another tenant than ${asked}`, 'FORBIDDEN');
  return own ?? asked;
}

async function layersOf(ctx: Context, tenantId: string | undefined): Promise<TenantRecord[]> {
  if (tenantId === undefined) return [];
  const layers = await memo(ctx, `tenant:${tenantId}`, () => ctx.loader.tenantLayers(tenantId));
  if (!layers) throw new ClientQueryError(`Tenant ${tenantId} not found`, 'NOT_FOUND');
  return layers;
}

const ownPreferences = (ctx: Context, tenantId: string | undefined) =>
  memo(ctx, `prefs:${tenantId ?? ''}`, () => ctx.loader.userPreferences(ctx.caller.userId, tenantId));

async function nodeFor(ctx: Context, topicId: string, tenantId: string | undefined): Promise<RecipientPreferenceNode | null> {
  const [tenantLayers, topic, global, forTenant] = await Promise.all([
    layersOf(ctx, tenantId),
    memo(ctx, `topic:${topicId}`, () => ctx.loader.topic(topicId)),
    ownPreferences(ctx, undefined),
    tenantId === undefined ? undefined : ownPreferences(ctx, tenantId),
  ]);
  const user = global.get(topicId);
  const userTenant = forTenant?.get(topicId);
  if (!topic && !user && !userTenant) return null;
  return preferenceNode(topicId, topic?.name, preferenceLayers({ topicId, topic, tenantLayers, user, userTenant }));
}

const allTopics = (ctx: Context) => memo(ctx, 'topics', () => ctx.loader.topics());

async function allNodes(ctx: Context, tenantId: string | undefined): Promise<RecipientPreferenceNode[]> {
  const [tenantLayers, topics, global, forTenant] = await Promise.all([
    layersOf(ctx, tenantId),
    allTopics(ctx),
    ownPreferences(ctx, undefined),
    tenantId === undefined ? undefined : ownPreferences(ctx, tenantId),
  ]);
  const nodes = topics.map((t) =>
    preferenceNode(t.id, t.doc.name, preferenceLayers({ topicId: t.id, topic: t.doc, tenantLayers, user: global.get(t.id), userTenant: forTenant?.get(t.id) })),
  );
  // The user's preferences for topics the workspace does not (yet) define are still theirs (as GET /users/:id/preferences lists them).
  const known = new Set(topics.map((t) => t.id));
  const orphans = new Set([...global.keys(), ...(forTenant?.keys() ?? [])].filter((id) => !known.has(id)));
  for (const id of orphans)
    nodes.push(preferenceNode(id, undefined, preferenceLayers({ topicId: id, tenantLayers, user: global.get(id), userTenant: forTenant?.get(id) })));
  return nodes;
}

async function brandById(ctx: Context, brandId: string | undefined) {
  if (brandId === undefined) return null;
  const brand = await memo(ctx, `brand:${brandId}`, () => ctx.loader.brand(brandId));
  return brand ? brandNode(brand.settings) : null;
}

const preferenceInput = z.object({
  status: z.enum(['OPTED_IN', 'OPTED_OUT', 'REQUIRED']),
  hasCustomRouting: z.boolean().nullish(),
  routingPreferences: z.array(z.string()).max(10).nullish(),
  digestSchedule: z.string().nullish(),
});

const rootValue = {
  recipientPreferences: async (args: { accountId?: string | null }, ctx: Context) => {
    need(ctx, 'read:preferences');
    return { nodes: await allNodes(ctx, tenantOf(ctx, args.accountId)) };
  },
  recipientPreference: async (args: { templateId: string; accountId?: string | null }, ctx: Context) => {
    need(ctx, 'read:preferences');
    return nodeFor(ctx, arg(idSchema, args.templateId, 'templateId'), tenantOf(ctx, args.accountId));
  },
  preferencePage: async (args: { accountId?: string | null }, ctx: Context) => {
    need(ctx, 'read:preferences');
    const tenantId = tenantOf(ctx, args.accountId);
    const [layers, topics] = await Promise.all([layersOf(ctx, tenantId), allTopics(ctx)]);
    // The page's brand: the tenant context's (its nearest layer setting one), else the workspace default.
    const contextBrand = [...layers].reverse().find((l) => l.brand_id)?.brand_id ?? ctx.loader.defaultBrandId;
    return {
      // A self-hosted page never shows Courier's footer.
      showCourierFooter: false,
      brand: (brandArgs: { brandId?: string | null }) => brandById(ctx, arg(idSchema.nullish(), brandArgs.brandId, 'brandId') ?? contextBrand),
      channelConfigs: null,
      sections: {
        nodes: [
          {
            sectionId: null,
            name: null,
            routingOptions: null,
            hasCustomRouting: null,
            topics: {
              nodes: topics.map((t) => ({
                templateId: t.id,
                templateName: t.doc.name,
                defaultStatus: defaultStatus(preferenceLayers({ topicId: t.id, topic: t.doc, tenantLayers: layers })),
                data: null,
                digestSchedules: null,
              })),
            },
          },
        ],
      },
    };
  },
  brand: async (args: { brandId?: string | null }, ctx: Context) => {
    const brandId = arg(idSchema.nullish(), args.brandId, 'brandId') ?? ctx.loader.defaultBrandId;
    need(ctx, 'read:brands', ...(brandId ? [`read:brands:${brandId}`] : []));
    return brandById(ctx, brandId);
  },
  digestSchedulesForTopic: () => {
    throw new ClientQueryError(`Not supported: ${NO_DIGESTS}`, 'NOT_SUPPORTED');
  },
  updatePreferenceV2: async (args: { templateId: string; preferences: unknown; accountId?: string | null }, ctx: Context) => {
    need(ctx, 'write:preferences');
    const topicId = arg(idSchema, args.templateId, 'templateId');
    const input = arg(preferenceInput, args.preferences, 'preferences');
    if (input.digestSchedule != null) throw new ClientQueryError(`Not supported: preferences.digestSchedule: ${NO_DIGESTS}`, 'NOT_SUPPORTED');
    if (input.status === 'REQUIRED')
      throw new ClientQueryError('Invalid argument preferences.status: only the workspace or a tenant makes a topic REQUIRED', 'BAD_USER_INPUT');
    const tenantId = tenantOf(ctx, args.accountId);
    const [layers, topic] = await Promise.all([layersOf(ctx, tenantId), memo(ctx, `topic:${topicId}`, () => ctx.loader.topic(topicId))]);
    if (!topic) throw new ClientQueryError(`Topic ${topicId} not found`, 'NOT_FOUND');
    if (input.status === 'OPTED_OUT' && defaultStatus(preferenceLayers({ topicId, topic, tenantLayers: layers })) === 'REQUIRED')
      throw new ClientQueryError(`Topic ${topicId} is REQUIRED: it cannot be opted out`, 'BAD_USER_INPUT');
    const routing = input.routingPreferences ?? [];
    const pref: UserPreference = {
      status: input.status,
      ...(input.hasCustomRouting != null ? { has_custom_routing: input.hasCustomRouting } : {}),
      ...(routing.length ? { custom_routing: [...new Set(routing)] } : {}),
    };
    await ctx.loader.putUserPreference(ctx.caller.userId, topicId, tenantId, pref);
    ctx.memo.clear();
    return nodeFor(ctx, topicId, tenantId);
  },
};

/**
 * Parses, validates and runs one request for one caller (lambdas/shared/graphql.ts): parse and
 * validation errors, and the ClientQueryErrors of resolvers, come back as `errors`; any other error
 * a resolver threw is the server's fault (a 500).
 */
export function runClientQuery(request: GraphqlRequest, caller: ClientCaller, loader: ClientLoader): Promise<ExecutionResult> {
  const contextValue: Context = { caller, loader, memo: new Map() };
  return runGraphql({
    schema,
    rules: [...specifiedRules, maxDepthRule(MAX_QUERY_DEPTH)],
    maxTokens: MAX_QUERY_TOKENS,
    maxValidationErrors: 10,
    request,
    rootValue,
    contextValue,
    codeOf: (e) => (e instanceof ClientQueryError ? e.code : undefined),
  });
}
