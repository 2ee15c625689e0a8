import type { z } from 'zod';
import { deepMerge } from '../domain/overrides';
import { sendgridSettings } from './catalog';
import { base, MESSAGE_ID_KEY, partiesOf, postJson, refusedRecipient, vendorFailure } from './email-http';
import type { ProviderAdapter, ProviderResult, ProviderSend } from './port';
import { parseSettings, sharedHttp, type HttpClient } from './transport';

type SendgridSettings = z.output<typeof sendgridSettings>;
const SENDGRID_API = 'https://api.sendgrid.com';

/**
 * The v3 Mail Send body: one personalization (the recipient, cc and bcc), from, reply_to (or
 * reply_to_list for several), subject, text and HTML content, attachments, headers, and our
 * message id in `custom_args` (SendGrid echoes custom args on every event webhook).
 */
export function sendgridBody(message: ProviderSend<'email'>, settings: SendgridSettings) {
  const p = partiesOf(message, 'sendgrid', settings.from);
  const { subject, text, html } = message.content;
  const content = [...(text || !html ? [{ type: 'text/plain', value: text ?? '' }] : []), ...(html ? [{ type: 'text/html', value: html }] : [])];
  return {
    personalizations: [{ to: [p.to], ...(p.cc ? { cc: p.cc } : {}), ...(p.bcc ? { bcc: p.bcc } : {}) }],
    from: p.from,
    ...(p.replyTo ? (p.replyTo.length === 1 ? { reply_to: p.replyTo[0] } : { reply_to_list: p.replyTo }) : {}),
    subject: subject ?? '',
    content,
    ...(p.attachments
      ? {
          attachments: p.attachments.map((a) => ({
            content: a.data,
            filename: a.filename,
            ...(a.contentType ? { type: a.contentType } : {}),
            disposition: 'attachment',
          })),
        }
      : {}),
    headers: p.headers,
    custom_args: { [MESSAGE_ID_KEY]: message.messageId },
  };
}

/** SendGrid's error list: `{ errors: [{ message, field }] }`. */
const firstField = (json: unknown): string | undefined =>
  (json as { errors?: { field?: unknown }[] } | undefined)?.errors?.find((e) => typeof e.field === 'string')?.field as string | undefined;

/**
 * Email through SendGrid's v3 Mail Send API (`POST /v3/mail/send`, `Authorization: Bearer`).
 * 202 is success, the id in `X-Message-Id`. 429 (rate limit) and 5xx are retried; other 4xx are
 * permanent, a 400 about a recipient's email (`personalizations.*.email`) an invalid address.
 */
export class SendgridAdapter implements ProviderAdapter<'email'> {
  constructor(private readonly http: HttpClient = sharedHttp()) {}

  async send(message: ProviderSend<'email'>): Promise<ProviderResult> {
    const settings = parseSettings(sendgridSettings, message.settings, 'sendgrid');
    const { reply, json } = await postJson(this.http, message, {
      url: `${base(settings.api_url ?? SENDGRID_API)}/v3/mail/send`,
      headers: { authorization: `Bearer ${settings.api_key}` },
      body: deepMerge(sendgridBody(message, settings), message.override?.body),
      what: 'sendgrid',
    });
    if (reply.status >= 200 && reply.status < 300) return { providerMessageId: reply.headers.get('x-message-id') ?? undefined, status: 'SENT' };
    const field = firstField(json);
    if (reply.status === 400 && field && /^personalizations\.\d+\.to\.\d+\.email$/.test(field)) throw refusedRecipient('sendgrid', field);
    throw vendorFailure(reply, 'sendgrid', field);
  }
}
