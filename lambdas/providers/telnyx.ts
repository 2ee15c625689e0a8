import type { z } from 'zod';
import { deepMerge } from '../domain/overrides';
import { telnyxSettings } from './catalog';
import type { ProviderAdapter, ProviderResult, ProviderSend } from './port';
import { callbackWithMessageId, phoneNumber, smsText, vendorFailure } from './sms-common';
import { parseJson, parseSettings, retryAfterMs, sharedHttp, withOverride, type HttpClient } from './transport';

const TELNYX_API = 'https://api.telnyx.com';

/** Telnyx's documented codes: unexpected error (10007), request timeout (10008), too many requests (10011), message rate limit (40011). */
const TRANSIENT = new Set(['10007', '10008', '10011', '40011']);
/** Invalid phone number (10002), not +E.164 (10016), not routable (40001), invalid 'to' address (40310). */
const INVALID_RECIPIENT = new Set(['10002', '10016', '40001', '40310']);

/**
 * The `POST /v2/messages` body: `from` and/or `messaging_profile_id`, `to`, `text`, and
 * `webhook_url` the status URL with `courier_message_id` when the settings name one (Telnyx then
 * sends this message's delivery events there rather than to the profile's webhooks).
 */
export function telnyxBody(message: ProviderSend<'sms'>, settings: z.output<typeof telnyxSettings>): Record<string, unknown> {
  const webhook = callbackWithMessageId(settings.status_callback_url, message.messageId);
  return {
    ...(settings.from !== undefined ? { from: settings.from } : {}),
    ...(settings.messaging_profile_id !== undefined ? { messaging_profile_id: settings.messaging_profile_id } : {}),
    to: phoneNumber(message.address, 'telnyx'),
    text: smsText(message.content),
    ...(webhook ? { webhook_url: webhook } : {}),
  };
}

/**
 * SMS through the Telnyx Messaging API v2 (`Authorization: Bearer <api key>`). An error answer's
 * first `errors[].code` is classified from Telnyx's documented codes; HTTP 429 and 5xx are transient.
 */
export class TelnyxAdapter implements ProviderAdapter<'sms'> {
  constructor(private readonly http: HttpClient = sharedHttp()) {}

  async send(message: ProviderSend<'sms'>): Promise<ProviderResult> {
    const settings = parseSettings(telnyxSettings, message.settings, 'telnyx');
    const reply = await this.http.exchange(
      withOverride(
        {
          url: `${(settings.api_url ?? TELNYX_API).replace(/\/$/, '')}/v2/messages`,
          headers: { authorization: `Bearer ${settings.api_key}`, 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify(deepMerge(telnyxBody(message, settings), message.override?.body)),
          timeoutMs: message.timeoutMs,
          what: 'telnyx',
        },
        message.override,
      ),
    );
    const json = parseJson(reply.text) as { data?: { id?: unknown }; errors?: { code?: unknown }[] } | undefined;
    if (reply.status < 200 || reply.status >= 300) {
      const code = json?.errors?.[0]?.code;
      throw vendorFailure(
        'telnyx',
        reply.status,
        typeof code === 'string' || typeof code === 'number' ? code : undefined,
        { transient: TRANSIENT, invalidRecipient: INVALID_RECIPIENT },
        retryAfterMs(reply.headers.get('retry-after')),
      );
    }
    const id = json?.data?.id;
    return { providerMessageId: typeof id === 'string' ? id : undefined, status: 'SENT' };
  }
}
