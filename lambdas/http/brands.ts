import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { apiHandler } from '../shared/api';
import { documentRoutes } from './documents';
import { ConflictError } from '../shared/errors';
import { ok, replyId, route } from '../shared/router';
import { brands, type BrandDoc } from '../store/brands';
import type { StoredDoc } from '../store/documents';
import { bodyId, jsonObject } from './schemas';

const color = z.string().max(64).nullish();
const markup = z.string().max(100_000).nullish();
/** Courier's BrandTemplate: HTML (with variables) around the content. */
const brandTemplate = z.object({
  enabled: z.boolean(),
  backgroundColor: color,
  blocksBackgroundColor: color,
  footer: markup,
  head: markup,
  header: markup,
  width: z.string().max(32).nullish(),
});

/** Brand settings as the SDK types them (BrandSettings), every `| null` field accepting null. */
const brandSettings = z.object({
  colors: z.record(z.string(), color).nullish(),
  email: z
    .object({
      footer: z.union([z.string().max(100_000), z.object({ content: markup, inheritDefault: z.boolean().nullish() })]).nullish(),
      head: z.object({ inheritDefault: z.boolean(), content: markup }).nullish(),
      header: z
        .object({
          logo: z.object({ href: z.string().max(2048).nullish(), image: z.string().max(2048).nullish() }),
          barColor: color,
          inheritDefault: z.boolean().nullish(),
        })
        .nullish(),
      templateOverride: brandTemplate
        .extend({
          mjml: brandTemplate.refine((m) => !m.enabled, {
            message: 'an MJML layout is not supported: set mjml.enabled false and give the layout as HTML',
            path: ['enabled'],
          }),
          footerBackgroundColor: color,
          footerFullWidth: z.boolean().nullish(),
        })
        .nullish(),
    })
    .nullish(),
  // The in-app look (BrandSettingsInApp), kept for the inbox client components.
  inapp: jsonObject.nullish(),
});

const brandFields = {
  name: z.string().min(1).max(256),
  settings: brandSettings.nullish(),
  snippets: z
    .object({
      items: z
        .array(
          z.object({
            name: z
              .string()
              .min(1)
              .max(128)
              .regex(/^[\w.-]+$/, 'must be letters, digits, _ . -'),
            value: z.string().max(100_000),
          }),
        )
        .max(100)
        .nullish(),
    })
    .nullish(),
};

/** What a brand stores: the body with nulls meaning "not set". */
const brandDocOf = (b: {
  name: string;
  settings?: z.infer<typeof brandSettings> | null;
  snippets?: { items?: { name: string; value: string }[] | null } | null;
}) => ({
  name: b.name,
  settings: b.settings ?? {},
  snippets: { items: b.snippets?.items ?? [] },
});

export const describeBrand = (b: StoredDoc<BrandDoc>) => ({
  id: b.id,
  ...b.doc,
  created: b.created,
  updated: b.updated,
  published: b.updated,
  version: String(b.updated),
});

export const routes = [
  ...documentRoutes({ path: '/brands', param: 'brand_id', noun: 'Brand', kind: 'brand', store: brands, describe: describeBrand }),
  route({
    method: 'POST',
    path: '/brands',
    body: z.object({ id: bodyId.optional(), ...brandFields }),
    audit: { type: 'brand:created', target: ({ reply }) => `brand:${replyId(reply)}` },
    handler: async ({ body }) => {
      const { id = randomUUID(), ...doc } = body;
      const stored = await brands.create(id, brandDocOf(doc));
      if (!stored) throw new ConflictError(`Brand ${id} already exists`);
      return ok(describeBrand(stored));
    },
  }),
  route({
    method: 'PUT',
    path: '/brands/:brand_id',
    body: z.object(brandFields),
    audit: { type: 'brand:updated', target: ({ params }) => `brand:${params.brand_id}` },
    handler: async ({ params, body }) => {
      const stored = await brands.put(params.brand_id, brandDocOf(body));
      return ok(describeBrand(stored!));
    },
  }),
];

export const handler = apiHandler(routes);
