import { z } from 'zod';
import { documents } from './documents';

const brandDoc = z.object({
  name: z.string(),
  settings: z.record(z.string(), z.unknown()),
  snippets: z.object({ items: z.array(z.object({ name: z.string(), value: z.string() })) }),
});
export type BrandDoc = z.infer<typeof brandDoc>;
/** What a brand item stores (POST and PUT /brands write it whole); keys beyond these are kept as stored. */
export const brandDocSchema: z.ZodType<BrandDoc> = brandDoc.loose();

export const brands = documents('BRAND', brandDocSchema);
