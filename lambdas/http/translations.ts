import { z } from 'zod';
import { localeIdSchema } from '../domain/locales';
import { parsePo, PoError } from '../domain/po';
import { apiHandler } from '../shared/api';
import { NotFoundError, ValidationError } from '../shared/errors';
import { noContent, ok, route } from '../shared/router';
import { getTranslation, putTranslation } from '../store/translations';

/**
 * Translations: a `.po` text per domain and locale, which rendering uses for `{{#t}}msgid{{/t}}`
 * (lambdas/domain/render.ts). Courier supports only the `default` domain; so does this.
 */
const params = z.object({
  domain: z.literal('default', 'only the default domain is supported'),
  locale: localeIdSchema,
});

/** A `.po` text must fit one table item (400 KB) with room to spare. */
export const MAX_PO_CHARS = 300_000;

export const routes = [
  route({
    method: 'GET',
    path: '/translations/:domain/:locale',
    params,
    handler: async ({ params }) => {
      const t = await getTranslation(params.domain, params.locale);
      if (!t) throw new NotFoundError(`No translations for locale ${params.locale}`);
      return ok(t.po);
    },
  }),
  route({
    method: 'PUT',
    path: '/translations/:domain/:locale',
    audit: { type: 'translation:updated', target: ({ params }) => `translation:${params.domain}/${params.locale}` },
    params,
    // The SDK sends the .po text as a JSON string, as Courier's reference does.
    body: z.string('must be the .po text as a JSON string').max(MAX_PO_CHARS, `must be at most ${MAX_PO_CHARS} characters`),
    handler: async ({ params, body }) => {
      try {
        parsePo(body);
      } catch (e) {
        if (e instanceof PoError) throw new ValidationError(`Invalid request: body: not a valid .po file: ${e.message}`);
        throw e;
      }
      await putTranslation(params.domain, params.locale, body);
      return noContent();
    },
  }),
];

export const handler = apiHandler(routes);
