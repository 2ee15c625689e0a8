import type { z } from 'zod';
import { deepMerge } from '../domain/overrides';
import { postmarkSettings } from './catalog';
import { base, formatMailbox, MESSAGE_ID_KEY, partiesOf, postJson, refusedRecipient, vendorFailure } from './email-http';
import type { ProviderAdapter, ProviderResult, ProviderSend } from './port';
import { parseSettings, sharedHttp, type HttpClient } from './transport';

type PostmarkSettings = z.output<typeof postmarkSettings>;
const POSTMARK_API = 'https://api.postmarkapp.com';

/**
 * Postmark's `POST /email` body: From, To, Cc, Bcc, ReplyTo (comma-separated), Subject, TextBody,
 * HtmlBody, Headers, Attachments, the settings' MessageStream, and our message id in `Metadata`
 * (Postmark echoes metadata on every webhook).
 */
export function postmarkBody(message: ProviderSend<'email'>, settings: PostmarkSettings) {
  const p = partiesOf(message, 'postmark', settings.from);
  const list = (ms: { email: string; name?: string }[] | undefined) => ms?.map(formatMailbox).join(', ');
  const { subject, text, html } = message.content;
  return {
    From: formatMailbox(p.from),
    To: formatMailbox(p.to),
    ...(p.cc ? { Cc: list(p.cc) } : {}),
    ...(p.bcc ? { Bcc: list(p.bcc) } : {}),
    ...(p.replyTo ? { ReplyTo: list(p.replyTo) } : {}),
    Subject: subject ?? '',
    TextBody: text ?? '',
    ...(html ? { HtmlBody: html } : {}),
    Headers: Object.entries(p.headers).map(([Name, Value]) => ({ Name, Value })),
    ...(p.attachments
      ? { Attachments: p.attachments.map((a) => ({ Name: a.filename, Content: a.data, ContentType: a.contentType ?? 'application/octet-stream' })) }
      : {}),
    Metadata: { [MESSAGE_ID_KEY]: message.messageId },
    MessageStream: settings.message_stream,
  };
}

/** Postmark API error codes: 406 an inactive (bounced, unsubscribed, spam-complained) recipient; 300 an invalid email request. */
const INACTIVE_RECIPIENT = 406;

/**
 * Email through Postmark (`POST /email`, `X-Postmark-Server-Token`). 200 answers `{ MessageID,
 * ErrorCode: 0 }`. 429 and 5xx are retried; a 422's `ErrorCode` names the problem: 406 (inactive
 * recipient) is an invalid address, the others (300 invalid request, 10 bad token, 400/401 sender
 * signature, 405 no credits, 412 account pending) permanent.
 */
export class PostmarkAdapter implements ProviderAdapter<'email'> {
  constructor(private readonly http: HttpClient = sharedHttp()) {}

  async send(message: ProviderSend<'email'>): Promise<ProviderResult> {
    const settings = parseSettings(postmarkSettings, message.settings, 'postmark');
    const { reply, json } = await postJson(this.http, message, {
      url: `${base(settings.api_url ?? POSTMARK_API)}/email`,
      headers: { 'x-postmark-server-token': settings.server_token },
      body: deepMerge(postmarkBody(message, settings), message.override?.body),
      what: 'postmark',
    });
    const answer = json as { MessageID?: unknown; ErrorCode?: unknown } | undefined;
    const code = typeof answer?.ErrorCode === 'number' ? answer.ErrorCode : undefined;
    if (reply.status >= 200 && reply.status < 300 && !code) {
      return { providerMessageId: typeof answer?.MessageID === 'string' ? answer.MessageID : undefined, status: 'SENT' };
    }
    if (code === INACTIVE_RECIPIENT) throw refusedRecipient('postmark', code);
    throw vendorFailure(reply, 'postmark', code);
  }
}
