import type { AddressOf } from '../domain/addresses';
import { deepMerge } from '../domain/overrides';
import { onesignalSettings } from './catalog';
import { uuidFrom } from './ids';
import { ProviderError, type ProviderAdapter, type ProviderResult, type ProviderSend } from './port';
import { invalidAddress, parseJson, parseSettings, sharedHttp, withOverride, type HttpClient } from './transport';

const ONESIGNAL_API = 'https://api.onesignal.com';
/** OneSignal takes at most 20,000 subscription ids in one notification. */
const MAX_SUBSCRIPTIONS = 20_000;

/** The profile's OneSignal subscription (player) ids: `onesignalPlayerID`, one or a list. */
export function onesignalIds(address: AddressOf<'push'>): string[] {
  const value = address.onesignalPlayerID;
  const list = [...new Set((Array.isArray(value) ? value : [value]).filter((t): t is string => typeof t === 'string' && t.trim() !== ''))];
  if (list.length === 0) throw invalidAddress('onesignal', 'the profile has no onesignalPlayerID');
  return list.slice(0, MAX_SUBSCRIPTIONS);
}

/**
 * The `POST /notifications` body: the app, the subscriptions, `headings` / `contents` in English
 * (OneSignal requires `en`), `data` the push channel override's with `courier_message_id`, and
 * `idempotency_key` a UUID derived from the message's idempotency key (OneSignal requires a UUID;
 * a retry reuses it, so OneSignal sends once). The provider override's body is deep-merged last.
 */
export const onesignalNotification = (appId: string, ids: string[], message: ProviderSend<'push'>): Record<string, unknown> =>
  deepMerge(
    {
      app_id: appId,
      include_subscription_ids: ids,
      ...(message.content.title ? { headings: { en: message.content.title } } : {}),
      contents: { en: message.content.body || message.content.title || '' },
      data: { ...message.data, courier_message_id: message.messageId },
      idempotency_key: uuidFrom(message.idempotencyKey),
    } as Record<string, unknown>,
    message.override?.body,
  );

interface Reply {
  id?: string;
  errors?: string[] | { invalid_player_ids?: string[]; invalid_aliases?: unknown };
}

/**
 * Push through OneSignal's REST API (`POST /notifications?c=push`, `Authorization: Key <api_key>`),
 * one notification to every subscription id of the recipient. OneSignal answers 200 with the
 * ids it found unsubscribed in `errors.invalid_player_ids` (reported invalid), and with an empty
 * `id` when none was reachable (permanent). 429 and 5xx are transient.
 */
export class OneSignalAdapter implements ProviderAdapter<'push'> {
  constructor(private readonly http: HttpClient = sharedHttp()) {}

  async send(message: ProviderSend<'push'>): Promise<ProviderResult> {
    const settings = parseSettings(onesignalSettings, message.settings, 'onesignal');
    const ids = onesignalIds(message.address);
    const reply = await this.http.request(
      withOverride(
        {
          url: `${(settings.api_url ?? ONESIGNAL_API).replace(/\/$/, '')}/notifications?c=push`,
          headers: { accept: 'application/json', 'content-type': 'application/json', authorization: `Key ${settings.api_key}` },
          body: JSON.stringify(onesignalNotification(settings.app_id, ids, message)),
          timeoutMs: message.timeoutMs,
          what: 'onesignal',
        },
        message.override,
      ),
    );
    const body = (parseJson(reply.text) ?? {}) as Reply;
    const invalid = !body.errors || Array.isArray(body.errors) ? [] : (body.errors.invalid_player_ids ?? []);
    const invalidTokens = ids.filter((id) => invalid.includes(id));
    if (body.id) return { providerMessageId: body.id, status: 'SENT', ...(invalidTokens.length ? { invalidTokens } : {}) };
    const reasons = Array.isArray(body.errors) ? body.errors.join('; ') : invalidTokens.length ? 'no subscribed recipient' : 'no notification id';
    const error = new ProviderError(`onesignal sent nothing: ${reasons}`, false);
    if (invalidTokens.length) error.invalidTokens = invalidTokens;
    throw error;
  }
}
