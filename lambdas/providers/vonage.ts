import type { z } from 'zod';
import { deepMerge } from '../domain/overrides';
import { vonageSettings } from './catalog';
import { httpFailure, type ProviderAdapter, type ProviderResult, type ProviderSend } from './port';
import { callbackWithMessageId, msisdn, smsText, vendorFailure } from './sms-common';
import { parseJson, parseSettings, sharedHttp, withOverride, type HttpClient } from './transport';

const VONAGE_API = 'https://rest.nexmo.com';
/** Vonage's `client-ref` holds at most 100 characters. */
const MAX_CLIENT_REF = 100;

/**
 * The SMS API's per-message `status` (it answers HTTP 200 for most failures): 1 throttled,
 * 5 internal error and 10 too many existing binds are retried; 7 number barred, 29 non-whitelisted
 * destination (a trial account) and 33 number de-activated are the recipient's; every other
 * non-zero status (invalid credentials 4, invalid params 3, quota 9, ...) is permanent.
 */
const TRANSIENT = new Set(['1', '5', '10']);
const INVALID_RECIPIENT = new Set(['7', '29', '33']);

/** A text with anything outside ASCII goes as `type: unicode`, so it is not mangled into GSM-7. */
const isUnicode = (text: string) => [...text].some((ch) => ch.codePointAt(0)! > 0x7e);

/**
 * The `POST /sms/json` body: `to` as bare digits, `client-ref` our message id (echoed in every
 * delivery receipt), `callback` the status URL with `courier_message_id` when the settings name one.
 */
export function vonageBody(message: ProviderSend<'sms'>, settings: z.output<typeof vonageSettings>): Record<string, unknown> {
  const text = smsText(message.content);
  const callback = callbackWithMessageId(settings.status_callback_url, message.messageId);
  return {
    from: settings.from,
    to: msisdn(message.address, 'vonage'),
    text,
    'client-ref': message.messageId.slice(0, MAX_CLIENT_REF),
    ...(isUnicode(text) ? { type: 'unicode' } : {}),
    ...(callback ? { callback } : {}),
  };
}

interface VonageReply {
  messages?: { status?: unknown; 'message-id'?: unknown; 'error-text'?: unknown }[];
}

/**
 * SMS through the Vonage SMS API (`POST /sms/json`, JSON, Basic auth with the API key and secret,
 * as the official @vonage/server-sdk sends it). A message's non-zero `status` is classified from
 * Vonage's documented codes; HTTP 429 and 5xx are transient as for every provider.
 */
export class VonageAdapter implements ProviderAdapter<'sms'> {
  constructor(private readonly http: HttpClient = sharedHttp()) {}

  async send(message: ProviderSend<'sms'>): Promise<ProviderResult> {
    const settings = parseSettings(vonageSettings, message.settings, 'vonage');
    const reply = await this.http.exchange(
      withOverride(
        {
          url: `${(settings.api_url ?? VONAGE_API).replace(/\/$/, '')}/sms/json`,
          headers: {
            authorization: `Basic ${Buffer.from(`${settings.api_key}:${settings.api_secret}`).toString('base64')}`,
            'content-type': 'application/json',
            accept: 'application/json',
          },
          body: JSON.stringify(deepMerge(vonageBody(message, settings), message.override?.body)),
          timeoutMs: message.timeoutMs,
          what: 'vonage',
        },
        message.override,
      ),
    );
    const failure = httpFailure(reply.status, reply.headers.get('retry-after'), 'vonage');
    if (failure) throw failure;
    // A long text is several parts, each its own entry: the first failing one decides, the first part's id names the message.
    const parts = (parseJson(reply.text) as VonageReply | undefined)?.messages ?? [];
    const failed = parts.find((p) => String(p.status) !== '0');
    if (failed || parts.length === 0)
      throw vendorFailure('vonage', reply.status, failed ? String(failed.status) : 'none', { transient: TRANSIENT, invalidRecipient: INVALID_RECIPIENT });
    const id = parts[0]['message-id'];
    return { providerMessageId: typeof id === 'string' ? id : undefined, status: 'SENT' };
  }
}
