import type { z } from 'zod';
import { deepMerge } from '../domain/overrides';
import { sparkpostSettings } from './catalog';
import { base, formatMailbox, MESSAGE_ID_KEY, partiesOf, postJson, refusedRecipient, vendorFailure } from './email-http';
import type { ProviderAdapter, ProviderResult, ProviderSend } from './port';
import { parseSettings, sharedHttp, type HttpClient } from './transport';

type SparkpostSettings = z.output<typeof sparkpostSettings>;
const SPARKPOST_API = { us: 'https://api.sparkpost.com', eu: 'https://api.eu.sparkpost.com' } as const;

/**
 * The transmissions body (`POST /api/v1/transmissions`): the recipient, then cc and bcc as
 * recipients whose `header_to` is the recipient (the cc list also in the `CC` header, as SparkPost
 * documents for carbon copies), inline content (from, subject, text, html, reply_to, headers,
 * attachments), and our message id in the transmission's `metadata` (SparkPost echoes it on every
 * event).
 */
export function sparkpostBody(message: ProviderSend<'email'>, settings: SparkpostSettings) {
  const p = partiesOf(message, 'sparkpost', settings.from);
  const { subject, text, html } = message.content;
  const headerTo = formatMailbox(p.to);
  const copies = [...(p.cc ?? []), ...(p.bcc ?? [])].map((m) => ({ address: { email: m.email, ...(m.name ? { name: m.name } : {}), header_to: headerTo } }));
  return {
    recipients: [{ address: p.to }, ...copies],
    content: {
      from: p.from,
      subject: subject ?? '',
      text: text ?? '',
      ...(html ? { html } : {}),
      ...(p.replyTo ? { reply_to: p.replyTo.map(formatMailbox).join(', ') } : {}),
      headers: { ...p.headers, ...(p.cc ? { CC: p.cc.map(formatMailbox).join(', ') } : {}) },
      ...(p.attachments
        ? { attachments: p.attachments.map((a) => ({ name: a.filename, type: a.contentType ?? 'application/octet-stream', data: a.data })) }
        : {}),
    },
    metadata: { [MESSAGE_ID_KEY]: message.messageId },
  };
}

/** SparkPost's sending-limit codes (answered with 420 or 429): hourly and daily limits pass; 2101 (the sandbox's lifetime limit) does not. */
const LIMIT_PASSES = new Set(['2102', '2103']);
/** "At least one valid recipient is required". */
const NO_VALID_RECIPIENT = '5002';

/**
 * Email through SparkPost's transmissions API (`Authorization: <key>`, no scheme). 200 answers
 * `{ results: { id, total_accepted_recipients, total_rejected_recipients } }`; a transmission that
 * accepted nobody, or code 5002, is an invalid address. 429, 5xx and the hourly/daily sending
 * limits (2102, 2103, often answered 420) are retried; other 4xx are permanent.
 */
export class SparkpostAdapter implements ProviderAdapter<'email'> {
  constructor(private readonly http: HttpClient = sharedHttp()) {}

  async send(message: ProviderSend<'email'>): Promise<ProviderResult> {
    const settings = parseSettings(sparkpostSettings, message.settings, 'sparkpost');
    const { reply, json } = await postJson(this.http, message, {
      url: `${base(settings.api_url ?? SPARKPOST_API[settings.region])}/api/v1/transmissions`,
      headers: { authorization: settings.api_key },
      body: deepMerge(sparkpostBody(message, settings), message.override?.body),
      what: 'sparkpost',
    });
    const answer = json as { results?: { id?: unknown; total_accepted_recipients?: unknown }; errors?: { code?: unknown }[] } | undefined;
    if (reply.status >= 200 && reply.status < 300) {
      if (answer?.results?.total_accepted_recipients === 0) throw refusedRecipient('sparkpost', 'no recipient accepted');
      return { providerMessageId: typeof answer?.results?.id === 'string' ? answer.results.id : undefined, status: 'SENT' };
    }
    const code = answer?.errors?.map((e) => e.code).find((c) => typeof c === 'string') as string | undefined;
    if (code === NO_VALID_RECIPIENT) throw refusedRecipient('sparkpost', code);
    throw vendorFailure(reply, 'sparkpost', code, code !== undefined && LIMIT_PASSES.has(code) ? true : undefined);
  }
}
