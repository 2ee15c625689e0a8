import type { Brand } from './render';

/** A stored brand's document (store/brands.ts). */
export interface BrandSource {
  name: string;
  settings: Record<string, unknown>;
  snippets: { items: { name: string; value: string }[] };
}

type EmailSettings = NonNullable<NonNullable<Brand['settings']>['email']>;
const inherits = (part: unknown): boolean => typeof part === 'object' && part !== null && (part as { inheritDefault?: unknown }).inheritDefault === true;

/**
 * The brand rendering uses, as Courier builds it: the brand's snippets over the default brand's
 * (a custom brand extends the default), and the default brand's email header, footer and head
 * wherever the brand's own says `inheritDefault`.
 */
export function brandView(id: string, own: BrandSource, defaults?: BrandSource): Brand {
  const settings = own.settings as NonNullable<Brand['settings']>;
  const email: EmailSettings = { ...settings.email };
  const defaultEmail = (defaults?.settings as Brand['settings'])?.email ?? {};
  for (const part of ['header', 'footer', 'head'] as const) if (inherits(email[part])) Object.assign(email, { [part]: defaultEmail[part] ?? null });
  const snippets = Object.fromEntries([...(defaults?.snippets.items ?? []), ...own.snippets.items].map((s) => [s.name, s.value]));
  return { id, name: own.name, settings: { ...settings, email }, snippets };
}
