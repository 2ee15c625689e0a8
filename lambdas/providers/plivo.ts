import type { z } from 'zod';
import { deepMerge } from '../domain/overrides';
import { plivoSettings } from './catalog';
import type { ProviderAdapter, ProviderResult, ProviderSend } from './port';
import { callbackWithMessageId, phoneNumber, smsText, vendorFailure } from './sms-common';
import { parseJson, parseSettings, retryAfterMs, sharedHttp, withOverride, type HttpClient } from './transport';

const PLIVO_API = 'https://api.plivo.com';

/**
 * Plivo documents HTTP statuses, not error codes, for the Message API (400 bad request, 401, 404,
 * 429 too many requests, 5xx): its `error` text is the detail. A 400 whose error names `dst` is
 * the recipient's number.
 */
const NO_CODES = new Set<string>();
const DST = 'dst';

/**
 * The `POST /v1/Account/{auth_id}/Message/` body: `src` or `powerpack_uuid`, `dst`, `text`, and
 * `url` (with `method: POST`) the status URL with `courier_message_id` when the settings name one.
 */
export function plivoBody(message: ProviderSend<'sms'>, settings: z.output<typeof plivoSettings>): Record<string, unknown> {
  const dst = phoneNumber(message.address, 'plivo');
  const url = callbackWithMessageId(settings.status_callback_url, message.messageId);
  return {
    ...(settings.powerpack_uuid !== undefined ? { powerpack_uuid: settings.powerpack_uuid } : { src: settings.from }),
    dst,
    text: smsText(message.content),
    ...(url ? { url, method: 'POST' } : {}),
  };
}

/**
 * SMS through the Plivo Message API, Basic auth with the auth id and token. 429 and 5xx are
 * retried; a 400 about `dst` is an invalid recipient; other 4xx are permanent. The id is the first
 * of `message_uuid` (a long text is one uuid per part).
 */
export class PlivoAdapter implements ProviderAdapter<'sms'> {
  constructor(private readonly http: HttpClient = sharedHttp()) {}

  async send(message: ProviderSend<'sms'>): Promise<ProviderResult> {
    const settings = parseSettings(plivoSettings, message.settings, 'plivo');
    const api = (settings.api_url ?? PLIVO_API).replace(/\/$/, '');
    const reply = await this.http.exchange(
      withOverride(
        {
          url: `${api}/v1/Account/${encodeURIComponent(settings.auth_id)}/Message/`,
          headers: {
            authorization: `Basic ${Buffer.from(`${settings.auth_id}:${settings.auth_token}`).toString('base64')}`,
            'content-type': 'application/json',
            accept: 'application/json',
          },
          body: JSON.stringify(deepMerge(plivoBody(message, settings), message.override?.body)),
          timeoutMs: message.timeoutMs,
          what: 'plivo',
        },
        message.override,
      ),
    );
    const json = parseJson(reply.text) as { message_uuid?: unknown; error?: unknown } | undefined;
    if (reply.status < 200 || reply.status >= 300) {
      const aboutDst = reply.status === 400 && typeof json?.error === 'string' && new RegExp(`\\b${DST}\\b`).test(json.error);
      throw vendorFailure(
        'plivo',
        reply.status,
        aboutDst ? DST : undefined,
        { transient: NO_CODES, invalidRecipient: new Set([DST]) },
        retryAfterMs(reply.headers.get('retry-after')),
      );
    }
    const uuid = Array.isArray(json?.message_uuid) ? (json.message_uuid as unknown[])[0] : undefined;
    return { providerMessageId: typeof uuid === 'string' ? uuid : undefined, status: 'SENT' };
  }
}
