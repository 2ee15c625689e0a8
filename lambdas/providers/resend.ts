import type { z } from 'zod';
import { deepMerge } from '../domain/overrides';
import { resendSettings } from './catalog';
import { base, formatMailbox, MESSAGE_ID_KEY, partiesOf, postJson, refusedRecipient, vendorFailure } from './email-http';
import type { ProviderAdapter, ProviderResult, ProviderSend } from './port';
import { parseSettings, sharedHttp, type HttpClient } from './transport';

type ResendSettings = z.output<typeof resendSettings>;
const RESEND_API = 'https://api.resend.com';

/**
 * Resend tag values allow only ASCII letters, digits, `_` and `-`; a message id has dots. The tag
 * carries the id in base64url (no padding), which `messageIdFromResendTag` reads back.
 */
export const resendTagValue = (messageId: string): string => Buffer.from(messageId).toString('base64url');
export const messageIdFromResendTag = (value: string): string => Buffer.from(value, 'base64url').toString('utf8');

/**
 * Resend's `POST /emails` body: from, to, cc, bcc, reply_to, subject, text, html, headers,
 * attachments, and our message id as the tag `courier_message_id` (Resend echoes tags on every
 * webhook event).
 */
export function resendBody(message: ProviderSend<'email'>, settings: ResendSettings) {
  const p = partiesOf(message, 'resend', settings.from);
  const { subject, text, html } = message.content;
  return {
    from: formatMailbox(p.from),
    to: [formatMailbox(p.to)],
    ...(p.cc ? { cc: p.cc.map(formatMailbox) } : {}),
    ...(p.bcc ? { bcc: p.bcc.map(formatMailbox) } : {}),
    ...(p.replyTo ? { reply_to: p.replyTo.map(formatMailbox) } : {}),
    subject: subject ?? '',
    text: text ?? '',
    ...(html ? { html } : {}),
    headers: p.headers,
    ...(p.attachments
      ? { attachments: p.attachments.map((a) => ({ filename: a.filename, content: a.data, ...(a.contentType ? { content_type: a.contentType } : {}) })) }
      : {}),
    tags: [{ name: MESSAGE_ID_KEY, value: resendTagValue(message.messageId) }],
  };
}

/**
 * Email through Resend (`POST /emails`, `Authorization: Bearer`, `Idempotency-Key` = the
 * message's idempotency key, so a retried send is one email). 200 answers `{ id }`. Errors are
 * `{ statusCode, name, message }`: 429 (rate_limit_exceeded, daily_quota_exceeded) and 5xx are
 * retried, and so is 409 `concurrent_idempotent_requests` (the first attempt is still running);
 * a `validation_error` about the `to` field is an invalid address; other 4xx are permanent.
 */
export class ResendAdapter implements ProviderAdapter<'email'> {
  constructor(private readonly http: HttpClient = sharedHttp()) {}

  async send(message: ProviderSend<'email'>): Promise<ProviderResult> {
    const settings = parseSettings(resendSettings, message.settings, 'resend');
    const { reply, json } = await postJson(this.http, message, {
      url: `${base(settings.api_url ?? RESEND_API)}/emails`,
      headers: { authorization: `Bearer ${settings.api_key}`, 'idempotency-key': message.idempotencyKey.slice(0, 256) },
      body: deepMerge(resendBody(message, settings), message.override?.body),
      what: 'resend',
    });
    const answer = json as { id?: unknown; name?: unknown; message?: unknown } | undefined;
    if (reply.status >= 200 && reply.status < 300) return { providerMessageId: typeof answer?.id === 'string' ? answer.id : undefined, status: 'SENT' };
    const name = typeof answer?.name === 'string' ? answer.name : undefined;
    if (name === 'validation_error' && typeof answer?.message === 'string' && /`to`/.test(answer.message)) throw refusedRecipient('resend', name);
    throw vendorFailure(reply, 'resend', name, name === 'concurrent_idempotent_requests' ? true : undefined);
  }
}
