import { z } from 'zod';
import { documents } from './documents';

/** A configured provider: which catalog provider, serving which channel, at which priority. */
const providerDoc = z.object({
  provider: z.string(),
  channel: z.string(),
  title: z.string(),
  alias: z.string().optional(),
  /** Lower first; ties broken by id. */
  priority: z.number(),
  settings: z.record(z.string(), z.unknown()),
});
export type ProviderDoc = z.infer<typeof providerDoc>;

/** What a provider item stores (POST and PUT /providers write it whole); keys beyond these are kept as stored. */
export const providerDocSchema: z.ZodType<ProviderDoc> = providerDoc.loose();

export const providers = documents('PROVIDER', providerDocSchema);
