import { randomBytes } from 'node:crypto';
import { keys } from './keys';
import { getItem, putItem } from './table';

/**
 * The secret that signs user tokens when USER_TOKEN_SECRET is not configured: 32 random bytes made
 * by whichever function needs it first (a conditional put, so concurrent cold starts agree on one),
 * then read back. The table is encrypted with KMS and only the API functions read this item.
 */
export async function storedSigningKey(): Promise<Uint8Array> {
  const key = keys.tokenSigningKey();
  const existing = await getItem(key);
  if (existing) return Buffer.from(String(existing.secret), 'base64');
  await putItem({ ...key, _t: 'SigningKey', doc: '{}', secret: randomBytes(32).toString('base64') }, { rev: undefined });
  const stored = await getItem(key);
  return Buffer.from(String(stored!.secret), 'base64');
}
