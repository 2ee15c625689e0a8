import { randomBytes } from 'node:crypto';
import { keys } from './keys';
import { getItem, putItem, upsertItem } from './table';

/**
 * The secret that signs user tokens when USER_TOKEN_SECRET is not configured: 32 random bytes made
 * when the first token is issued (a conditional put, so concurrent cold starts agree on one), then
 * read back. Verifying never makes one (`create: false` answers undefined: no token was ever
 * issued, so none is valid), so the inbox function needs no write grant for it. The table is
 * encrypted with KMS and only the API functions read this item.
 */
export async function storedSigningKey(create: true): Promise<Uint8Array>;
export async function storedSigningKey(create: false): Promise<Uint8Array | undefined>;
export async function storedSigningKey(create: boolean): Promise<Uint8Array | undefined> {
  const key = keys.tokenSigningKey();
  const existing = await getItem(key);
  if (existing) return Buffer.from(String(existing.secret), 'base64');
  if (!create) return undefined;
  await putItem({ ...key, _t: 'SigningKey', doc: '{}', secret: randomBytes(32).toString('base64') }, 'absent');
  const stored = await getItem(key);
  return Buffer.from(String(stored!.secret), 'base64');
}

/**
 * Replaces the stored secret with a new one (`npm run keys -- rotate-token-secret`): every token
 * signed with the old one stops working once warm functions read the new one (within minutes).
 */
export async function rotateStoredSigningKey(): Promise<void> {
  await upsertItem(keys.tokenSigningKey(), { _t: 'SigningKey', doc: '{}', secret: randomBytes(32).toString('base64') });
}
