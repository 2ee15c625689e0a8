import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { CATALOG, catalogEntry, catalogSettings, redactSettings } from '../providers/catalog';
import { apiHandler } from '../shared/api';
import { documentRoutes } from './documents';
import { ConflictError, ValidationError } from '../shared/errors';
import { ok, replyId, route } from '../shared/router';
import type { StoredDoc } from '../store/documents';
import { providers, type ProviderDoc } from '../store/providers';
import { bodyId, jsonObject } from './schemas';

const providerBody = z.object({
  provider: z.string().min(1).max(64),
  title: z.string().max(256).optional(),
  alias: z.string().max(256).optional(),
  priority: z.number().int().min(0).max(1000).default(100),
  /** The channel the provider sends on, as the answers show it: it comes from the catalog, so one given must be that one. */
  channel: z.string().max(64).optional(),
  settings: jsonObject.default({}),
});

/** Validates settings against the provider's schema, naming the field (`body.settings.from`). */
function toDoc(body: z.infer<typeof providerBody>): ProviderDoc {
  const entry = catalogEntry(body.provider);
  if (!entry) throw new ValidationError(`Invalid request: body.provider: unknown provider ${body.provider}; see GET /providers/catalog`);
  if (body.channel !== undefined && body.channel !== entry.channel)
    throw new ValidationError(`Invalid request: body.channel: ${entry.provider} sends on ${entry.channel}, not ${body.channel}`);
  const settings = entry.settings.safeParse(body.settings);
  if (!settings.success) throw ValidationError.fromZod('body.settings', settings.error);
  return {
    provider: entry.provider,
    channel: entry.channel,
    title: body.title ?? entry.title,
    alias: body.alias,
    priority: body.priority,
    settings: settings.data,
  };
}

const describe = (p: StoredDoc<ProviderDoc>) => ({
  id: p.id,
  ...p.doc,
  settings: redactSettings(catalogEntry(p.doc.provider), p.doc.settings),
  created: p.created,
  updated: p.updated,
});

export const routes = [
  ...documentRoutes({ path: '/providers', param: 'id', noun: 'Provider', kind: 'provider', store: providers, describe: describe }),
  route({
    method: 'GET',
    path: '/providers/catalog',
    // The SDK's filters: `channel` exactly (any case), `keys` a comma-separated list, `name` part of the display name (any case).
    query: z.object({ channel: z.string().optional(), keys: z.string().optional(), name: z.string().optional() }),
    handler: async ({ query }) => {
      const keys = query.keys?.split(',').map((k) => k.trim());
      const results = CATALOG.filter(
        (c) =>
          (query.channel === undefined || c.channel === query.channel.toLowerCase()) &&
          (keys === undefined || keys.includes(c.provider)) &&
          (query.name === undefined || c.title.toLowerCase().includes(query.name.toLowerCase())),
      ).map((c) => ({ provider: c.provider, channel: c.channel, name: c.title, description: c.description, settings: catalogSettings(c) }));
      return ok({ paging: { cursor: null, more: false }, results });
    },
  }),
  route({
    method: 'POST',
    path: '/providers',
    body: providerBody.extend({ id: bodyId.optional() }),
    audit: { type: 'provider:created', target: ({ reply }) => `provider:${replyId(reply)}` },
    handler: async ({ body }) => {
      const id = body.id ?? randomUUID();
      const stored = await providers.create(id, toDoc(body));
      if (!stored) throw new ConflictError(`Provider ${id} already exists`);
      return ok(describe(stored));
    },
  }),
  route({
    method: 'PUT',
    path: '/providers/:id',
    body: providerBody,
    audit: { type: 'provider:updated', target: ({ params }) => `provider:${params.id}` },
    handler: async ({ params, body }) => ok(describe(await providers.put(params.id, toDoc(body)))),
  }),
];

export const handler = apiHandler(routes);
