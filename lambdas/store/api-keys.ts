import { z } from 'zod';
import { GSI1, keys } from './keys';
import { getItem, parseDoc, putItem, queryAll, setFlag } from './table';

const apiKeyRecord = z.object({
  name: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().optional(),
  /** The first characters of the key, to recognise it in a listing; never the key itself. */
  hint: z.string(),
});
export type ApiKeyRecord = z.infer<typeof apiKeyRecord>;
/** What an API key item stores in `doc` (storeKeyHash; `revoked` is an attribute); keys beyond these are kept as stored. */
export const apiKeyRecordSchema: z.ZodType<ApiKeyRecord> = apiKeyRecord.loose();

export async function isActiveKeyHash(hash: string): Promise<boolean> {
  const item = await getItem(keys.apiKey(hash));
  return item !== undefined && item.revoked !== true;
}

export async function storeKeyHash(hash: string, record: ApiKeyRecord): Promise<void> {
  await putItem({
    ...keys.apiKey(hash),
    ...keys.apiKeyIndex(record.createdAt, hash),
    _t: 'ApiKey',
    doc: JSON.stringify(record),
    revoked: record.revokedAt !== undefined,
  });
}

/** A key's id: the first 12 hex characters of its SHA-256, as `keys list` shows it and audit events name their actor. */
export const keyIdOf = (hash: string): string => hash.slice(0, 12);

export interface ListedKey extends ApiKeyRecord {
  /** The first 12 hex characters of the key's SHA-256: how `keys revoke` names a key. */
  id: string;
  revoked: boolean;
}

async function allKeys(): Promise<{ hash: string; key: ListedKey }[]> {
  const out: { hash: string; key: ListedKey }[] = [];
  for await (const page of queryAll({ index: GSI1, partition: 'APIKEYS' })) {
    for (const item of page) {
      const hash = keys.apiKeyHashOf(String(item.pk));
      out.push({ hash, key: { ...parseDoc(item, apiKeyRecordSchema), id: keyIdOf(hash), revoked: item.revoked === true } });
    }
  }
  return out;
}

/** Every API key, oldest first, without the keys themselves (they are not stored). */
export async function listKeys(): Promise<ListedKey[]> {
  return (await allKeys()).map((k) => k.key);
}

/**
 * Revokes the one key whose id (its hash's prefix, 8 to 64 hex characters) matches. The API reads
 * the key's item on every request, so the key is refused from the next request on. Returns the
 * key, or why nothing was revoked.
 */
export async function revokeKey(idPrefix: string): Promise<ListedKey | string> {
  if (!/^[0-9a-f]{8,64}$/.test(idPrefix)) return 'a key id is 8 to 64 hex characters, as `keys list` shows';
  const matches = (await allKeys()).filter((k) => k.hash.startsWith(idPrefix));
  if (matches.length === 0) return `no key with id ${idPrefix}`;
  if (matches.length > 1) return `${matches.length} keys match ${idPrefix}: give more characters`;
  const { hash, key } = matches[0];
  await setFlag(keys.apiKey(hash), 'revoked');
  return { ...key, revoked: true };
}
