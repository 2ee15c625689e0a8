import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { apiHandler } from '../shared/api';
import { documentRoutes } from './documents';
import { ConflictError } from '../shared/errors';
import { ok, replyId, route } from '../shared/router';
import { brands, type BrandDoc } from '../store/brands';
import type { StoredDoc } from '../store/documents';
import { bodyId, jsonObject } from './schemas';

const brandFields = {
  name: z.string().min(1).max(256),
  settings: z
    .object({
      colors: z
        .object({ primary: z.string().max(64).optional(), secondary: z.string().max(64).optional() })
        .loose()
        .optional(),
      email: jsonObject.optional(),
      inapp: jsonObject.optional(),
    })
    .loose()
    .nullish(),
  snippets: z.object({ items: z.array(z.object({ name: z.string().min(1), value: z.string() })).max(100) }).nullish(),
};

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
      const stored = await brands.create(id, { name: doc.name, settings: doc.settings ?? {}, snippets: doc.snippets ?? { items: [] } });
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
      const stored = await brands.put(params.brand_id, { name: body.name, settings: body.settings ?? {}, snippets: body.snippets ?? { items: [] } });
      return ok(describeBrand(stored!));
    },
  }),
];

export const handler = apiHandler(routes);
