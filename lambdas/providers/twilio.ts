import { deepMerge } from '../domain/overrides';
import { twilioSettings } from './catalog';
import type { ProviderAdapter, ProviderResult, ProviderSend } from './port';
import { callbackWithMessageId, smsText, vendorFailure } from './sms-common';
import { invalidAddress, parseJson, parseSettings, retryAfterMs, sharedHttp, withOverride, type HttpClient } from './transport';
import type { z } from 'zod';

const TWILIO_API = 'https://api.twilio.com';
const WHATSAPP = 'whatsapp:';

/** Twilio's documented codes: throttling and its own outages are retried. */
const TRANSIENT = new Set(['20429', '20500', '20503', '30001']);
/**
 * Invalid 'To' number (21211), cannot be reached (21214, 21612), not a valid number (21217, 21401,
 * 21421), no SMS on this number type (21407), region not enabled (21408), unsubscribed (21610),
 * not a mobile number (21614), WhatsApp user not found (63003, 63024): the recipient, not the call.
 */
const INVALID_RECIPIENT = new Set(['21211', '21214', '21217', '21401', '21407', '21408', '21421', '21610', '21612', '21614', '63003', '63024']);

type TwilioSettings = z.output<typeof twilioSettings>;

/**
 * WhatsApp or SMS: WhatsApp when the settings say `channel: whatsapp`, or when the recipient's
 * phone_number is itself written `whatsapp:+15551234567` (a profile that asks for WhatsApp). Both
 * From and To then carry the `whatsapp:` prefix, as the Messages API wants.
 */
export function twilioAddresses(phone: string, settings: TwilioSettings): { To: string; From?: string } {
  const to = phone.trim();
  const whatsapp = settings.channel === 'whatsapp' || to.toLowerCase().startsWith(WHATSAPP);
  const bare = to.replace(/^whatsapp:/i, '').trim();
  if (bare === '') throw invalidAddress('twilio', 'the address is not a phone number');
  const prefix = (n: string) => (whatsapp && !n.toLowerCase().startsWith(WHATSAPP) ? `${WHATSAPP}${n}` : n);
  return { To: prefix(bare), ...(settings.from !== undefined && settings.messaging_service_sid === undefined ? { From: prefix(settings.from) } : {}) };
}

/**
 * The Create Message parameters: To, From or MessagingServiceSid, Body, and StatusCallback (the
 * setting's URL with `courier_message_id`) so Twilio's status callbacks name our message.
 */
export function twilioParams(message: ProviderSend<'sms'>, settings: TwilioSettings): Record<string, unknown> {
  const statusCallback = callbackWithMessageId(settings.status_callback_url, message.messageId);
  return {
    ...twilioAddresses(message.address, settings),
    ...(settings.messaging_service_sid !== undefined ? { MessagingServiceSid: settings.messaging_service_sid } : {}),
    Body: smsText(message.content),
    ...(statusCallback ? { StatusCallback: statusCallback } : {}),
  };
}

/** Form encoding as Twilio reads it: a list is the parameter repeated (MediaUrl), null or undefined leaves it out. */
export function formOf(params: Record<string, unknown>): string {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v === undefined || v === null) continue;
      form.append(key, typeof v === 'object' ? JSON.stringify(v) : String(v));
    }
  }
  return form.toString();
}

/**
 * SMS and WhatsApp through the Twilio Messages API (`POST /2010-04-01/Accounts/{sid}/Messages.json`),
 * Basic auth with the account SID and auth token or an API key SID and secret. Errors carry
 * Twilio's `code`: throttling (20429, and HTTP 429) and 5xx are retried; an invalid or unreachable
 * recipient (21211, 21614, ...) and every other 4xx are permanent.
 */
export class TwilioAdapter implements ProviderAdapter<'sms'> {
  constructor(private readonly http: HttpClient = sharedHttp()) {}

  async send(message: ProviderSend<'sms'>): Promise<ProviderResult> {
    const settings = parseSettings(twilioSettings, message.settings, 'twilio');
    const user = settings.api_key_sid ?? settings.account_sid;
    const password = settings.api_key_sid !== undefined ? settings.api_key_secret : settings.auth_token;
    const api = (settings.api_url ?? TWILIO_API).replace(/\/$/, '');
    const reply = await this.http.exchange(
      withOverride(
        {
          url: `${api}/2010-04-01/Accounts/${encodeURIComponent(settings.account_sid)}/Messages.json`,
          headers: {
            authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
          },
          body: formOf(deepMerge(twilioParams(message, settings), message.override?.body)),
          timeoutMs: message.timeoutMs,
          what: 'twilio',
        },
        message.override,
      ),
    );
    const json = parseJson(reply.text) as { sid?: unknown; code?: unknown } | undefined;
    if (reply.status < 200 || reply.status >= 300) {
      const code = typeof json?.code === 'number' || typeof json?.code === 'string' ? json.code : undefined;
      throw vendorFailure(
        'twilio',
        reply.status,
        code,
        { transient: TRANSIENT, invalidRecipient: INVALID_RECIPIENT },
        retryAfterMs(reply.headers.get('retry-after')),
      );
    }
    return { providerMessageId: typeof json?.sid === 'string' ? json.sid : undefined, status: 'SENT' };
  }
}
