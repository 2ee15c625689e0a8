import { keys } from './keys';
import { getItem, upsertItem } from './table';

/**
 * Per-user token revocation: tokens issued before a user's `validAfter` (epoch seconds) are refused.
 * One item in the user's partition, read on each token check (eventually consistent: a revocation
 * takes effect within about a second everywhere).
 */
export async function tokensValidAfter(userId: string): Promise<number | undefined> {
  const item = await getItem(keys.userTokensValidAfter(userId), false);
  return item ? Number(item.validAfter) : undefined;
}

/** Refuses every token of `userId` issued up to now (and in the current second). */
export async function revokeUserTokens(userId: string, nowMs: number): Promise<number> {
  const validAfter = Math.floor(nowMs / 1000) + 1;
  await upsertItem(keys.userTokensValidAfter(userId), { _t: 'TokenRevocation', doc: '{}', validAfter });
  return validAfter;
}
