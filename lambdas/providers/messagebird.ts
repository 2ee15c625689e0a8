import type { z } from 'zod';
import { deepMerge } from '../domain/overrides';
import { messagebirdSettings } from './catalog';
import type { ProviderAdapter, ProviderResult, ProviderSend } from './port';
import { callbackWithMessageId, msisdn, smsText, vendorFailure } from './sms-common';
import { parseJson, parseSettings, retryAfterMs, sharedHttp, withOverride, type HttpClient } from './transport';

const MESSAGEBIRD_API = 'https://rest.messagebird.com';

/** MessageBird's documented error codes: 99 (internal error) is retried; the rest are permanent. */
const TRANSIENT = new Set(['99']);
/** Code 10 (invalid parameter) on `recipients` is the recipient's number. */
const INVALID_PARAMETER = 10;

/**
 * The `POST /messages` body: `recipients` the number as digits (a comma-separated string, as the
 * official client sends a list), `reference` our message id (MessageBird echoes it in every status
 * report), `reportUrl` the status URL with `courier_message_id` when the settings name one.
 */
export function messagebirdBody(message: ProviderSend<'sms'>, settings: z.output<typeof messagebirdSettings>): Record<string, unknown> {
  const reportUrl = callbackWithMessageId(settings.status_callback_url, message.messageId);
  return {
    originator: settings.originator,
    recipients: msisdn(message.address, 'messagebird'),
    body: smsText(message.content),
    reference: message.messageId,
    ...(reportUrl ? { reportUrl } : {}),
  };
}

interface MessageBirdReply {
  id?: unknown;
  errors?: { code?: unknown; parameter?: unknown }[];
}

/**
 * SMS through the MessageBird SMS API (`POST /messages`, `Authorization: AccessKey <key>`). An
 * error answer's first `errors[].code` is classified: 99 and HTTP 429 / 5xx transient, an invalid
 * `recipients` parameter an invalid recipient, everything else permanent.
 */
export class MessageBirdAdapter implements ProviderAdapter<'sms'> {
  constructor(private readonly http: HttpClient = sharedHttp()) {}

  async send(message: ProviderSend<'sms'>): Promise<ProviderResult> {
    const settings = parseSettings(messagebirdSettings, message.settings, 'messagebird');
    const reply = await this.http.exchange(
      withOverride(
        {
          url: `${(settings.api_url ?? MESSAGEBIRD_API).replace(/\/$/, '')}/messages`,
          headers: { authorization: `AccessKey ${settings.access_key}`, 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify(deepMerge(messagebirdBody(message, settings), message.override?.body)),
          timeoutMs: message.timeoutMs,
          what: 'messagebird',
        },
        message.override,
      ),
    );
    const json = parseJson(reply.text) as MessageBirdReply | undefined;
    if (reply.status < 200 || reply.status >= 300) {
      const error = json?.errors?.[0];
      const code = typeof error?.code === 'number' ? String(error.code) : undefined;
      const recipient = error?.code === INVALID_PARAMETER && error.parameter === 'recipients' ? [String(INVALID_PARAMETER)] : [];
      throw vendorFailure(
        'messagebird',
        reply.status,
        code,
        { transient: TRANSIENT, invalidRecipient: new Set(recipient) },
        retryAfterMs(reply.headers.get('retry-after')),
      );
    }
    return { providerMessageId: typeof json?.id === 'string' ? json.id : undefined, status: 'SENT' };
  }
}
