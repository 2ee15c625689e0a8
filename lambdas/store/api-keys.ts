import { keys } from './keys';
import { getItem, putItem } from './table';

export interface ApiKeyRecord {
  name: string;
  createdAt: string;
  revokedAt?: string;
  /** The first characters of the key, to recognise it in a listing; never the key itself. */
  hint: string;
}

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
