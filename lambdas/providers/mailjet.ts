import type { z } from 'zod';
import { deepMerge } from '../domain/overrides';
import { mailjetSettings } from './catalog';
import { base, basicAuth, MESSAGE_ID_KEY, partiesOf, postJson, refusedRecipient, vendorFailure, type Mailbox } from './email-http';
import type { ProviderAdapter, ProviderResult, ProviderSend } from './port';
import { invalidAddress, parseSettings, sharedHttp, type HttpClient } from './transport';

type MailjetSettings = z.output<typeof mailjetSettings>;
const MAILJET_API = 'https://api.mailjet.com';

const party = (m: Mailbox) => ({ Email: m.email, ...(m.name ? { Name: m.name } : {}) });

/**
 * The Send API v3.1 body: one message with From, To, Cc, Bcc, ReplyTo, Subject, TextPart, HTMLPart,
 * Attachments, Headers, and our message id as `CustomID` and in `EventPayload` (JSON), which
 * Mailjet echoes on every event. Mailjet takes one ReplyTo: several are refused, not dropped.
 */
export function mailjetBody(message: ProviderSend<'email'>, settings: MailjetSettings) {
  const p = partiesOf(message, 'mailjet', settings.from);
  if (p.replyTo && p.replyTo.length > 1) throw invalidAddress('mailjet', 'Mailjet takes one reply-to address');
  const { subject, text, html } = message.content;
  return {
    Messages: [
      {
        From: party(p.from),
        To: [party(p.to)],
        ...(p.cc ? { Cc: p.cc.map(party) } : {}),
        ...(p.bcc ? { Bcc: p.bcc.map(party) } : {}),
        ...(p.replyTo ? { ReplyTo: party(p.replyTo[0]) } : {}),
        Subject: subject ?? '',
        TextPart: text ?? '',
        ...(html ? { HTMLPart: html } : {}),
        ...(p.attachments
          ? {
              Attachments: p.attachments.map((a) => ({
                ContentType: a.contentType ?? 'application/octet-stream',
                Filename: a.filename,
                Base64Content: a.data,
              })),
            }
          : {}),
        Headers: p.headers,
        CustomID: message.messageId,
        EventPayload: JSON.stringify({ [MESSAGE_ID_KEY]: message.messageId }),
      },
    ],
  };
}

interface MailjetAnswer {
  Messages?: { Status?: string; To?: { MessageID?: unknown; MessageUUID?: unknown }[]; Errors?: { ErrorCode?: unknown; ErrorRelatedTo?: unknown }[] }[];
  ErrorCode?: unknown;
}

/** "mj-0013": an address is not a valid email address. */
const INVALID_EMAIL = 'mj-0013';

/**
 * Email through Mailjet's Send API v3.1 (`POST /v3.1/send`, Basic auth key:secret). 200 answers
 * per message `{ Status: 'success', To: [{ MessageID, MessageUUID }] }`; the MessageID (what
 * Mailjet's events carry) is the provider id. 429 and 5xx are retried; a 400 whose error is
 * mj-0013 about `To` is an invalid address; other 4xx are permanent.
 */
export class MailjetAdapter implements ProviderAdapter<'email'> {
  constructor(private readonly http: HttpClient = sharedHttp()) {}

  async send(message: ProviderSend<'email'>): Promise<ProviderResult> {
    const settings = parseSettings(mailjetSettings, message.settings, 'mailjet');
    const { reply, json } = await postJson(this.http, message, {
      url: `${base(settings.api_url ?? MAILJET_API)}/v3.1/send`,
      headers: { authorization: basicAuth(settings.api_key, settings.api_secret) },
      body: deepMerge(mailjetBody(message, settings), message.override?.body),
      what: 'mailjet',
    });
    const first = (json as MailjetAnswer | undefined)?.Messages?.[0];
    if (reply.status >= 200 && reply.status < 300 && first?.Status === 'success') {
      const id = first.To?.[0]?.MessageID;
      return { providerMessageId: typeof id === 'number' || typeof id === 'string' ? String(id) : undefined, status: 'SENT' };
    }
    const error = first?.Errors?.[0];
    const code = typeof error?.ErrorCode === 'string' ? error.ErrorCode : undefined;
    const related = Array.isArray(error?.ErrorRelatedTo) ? (error.ErrorRelatedTo as unknown[]).map(String) : [];
    if (code === INVALID_EMAIL && related.some((r) => r.startsWith('To'))) throw refusedRecipient('mailjet', code);
    if (reply.status >= 200 && reply.status < 300) throw vendorFailure({ ...reply, status: 400 }, 'mailjet', code ?? 'no success');
    throw vendorFailure(reply, 'mailjet', code);
  }
}
