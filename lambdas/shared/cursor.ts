import type { ZodType } from 'zod';
import { ValidationError } from './errors';

/**
 * The one cursor codec: a page cursor is a JSON value, base64url-encoded, opaque to the caller.
 * Reading one back checks it against the schema of what its query wrote; anything else (garbage, a
 * cursor of another query) is a 400 naming `query.cursor`, never a wrong page.
 */
export const packCursor = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

export function unpackCursor<T>(cursor: string, schema: ZodType<T>): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const result = schema.safeParse(parsed);
  if (!result.success) throw new ValidationError('Invalid request: query.cursor is not a valid cursor');
  return result.data;
}
