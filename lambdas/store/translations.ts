import { z } from 'zod';
import { normalizeLocale } from '../domain/locales';
import { keys } from './keys';
import { getItem, parseDoc, upsertItem } from './table';

/**
 * Translations (`/translations/:domain/:locale`): one item per domain and locale, holding the `.po`
 * text as it was put. Locales are keyed as normalised (`fr-FR` and `fr_fr` are `fr_FR`'s).
 */
const translationDoc = z.object({ locale: z.string(), po: z.string() });
export type TranslationDoc = z.infer<typeof translationDoc>;
/** What a translation item stores; keys beyond these are kept as stored. */
export const translationDocSchema: z.ZodType<TranslationDoc> = translationDoc.loose();

const keyOf = (domain: string, locale: string) => keys.translation(domain, normalizeLocale(locale));

export async function getTranslation(domain: string, locale: string): Promise<TranslationDoc | undefined> {
  const item = await getItem(keyOf(domain, locale));
  return item ? parseDoc(item, translationDocSchema) : undefined;
}

export async function putTranslation(domain: string, locale: string, po: string): Promise<void> {
  const doc: TranslationDoc = { locale, po };
  await upsertItem(keyOf(domain, locale), { _t: 'Translation', doc: JSON.stringify(doc) });
}
