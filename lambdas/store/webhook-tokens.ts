import { keys } from './keys';
import { getItem, upsertItem } from './table';

/**
 * One-time tokens of signed provider webhooks (Mailgun's): a token is recorded once its request
 * was applied, and kept for `keepMs` (past the window its timestamp is accepted in), so the same
 * signed request sent again is recognised as a replay.
 */
export async function tokenSeen(provider: string, token: string): Promise<boolean> {
  return (await getItem(keys.providerWebhookToken(provider, token))) !== undefined;
}

/** Records a token as used (a second recording of the same token changes nothing). */
export async function recordToken(provider: string, token: string, now: number, keepMs: number): Promise<void> {
  await upsertItem(keys.providerWebhookToken(provider, token), { _t: 'WebhookToken', doc: '{}', ttl: Math.ceil((now + keepMs) / 1000) });
}
