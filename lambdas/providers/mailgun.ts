import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { mailgunSettings } from './catalog';
import { base, basicAuth, formatMailbox, MESSAGE_ID_KEY, partiesOf, refusedRecipient, vendorFailure } from './email-http';
import type { ProviderAdapter, ProviderResult, ProviderSend } from './port';
import { parseJson, parseSettings, sharedHttp, withOverride, type HttpClient } from './transport';

type MailgunSettings = z.output<typeof mailgunSettings>;
const MAILGUN_API = { us: 'https://api.mailgun.net', eu: 'https://api.eu.mailgun.net' } as const;

type Field = string | string[];
export interface MailgunFile {
  filename: string;
  contentType?: string;
  data: Buffer;
}

/**
 * The messages API's form fields: from, to, cc, bcc, subject, text, html, the headers as `h:`
 * fields (Reply-To among them) and our message id as the user variable `v:courier_message_id`
 * (Mailgun echoes user variables in every event), then the provider override's fields over them.
 */
export function mailgunFields(message: ProviderSend<'email'>, settings: MailgunSettings): Record<string, Field> {
  const p = partiesOf(message, 'mailgun', settings.from);
  const { subject, text, html } = message.content;
  const fields: Record<string, Field> = {
    from: formatMailbox(p.from),
    to: formatMailbox(p.to),
    ...(p.cc ? { cc: p.cc.map(formatMailbox).join(', ') } : {}),
    ...(p.bcc ? { bcc: p.bcc.map(formatMailbox).join(', ') } : {}),
    subject: subject ?? '',
    text: text ?? '',
    ...(html ? { html } : {}),
    ...(p.replyTo ? { 'h:Reply-To': p.replyTo.map(formatMailbox).join(', ') } : {}),
    ...Object.fromEntries(Object.entries(p.headers).map(([k, v]) => [`h:${k}`, v])),
    [`v:${MESSAGE_ID_KEY}`]: message.messageId,
  };
  return { ...fields, ...(message.override?.body as Record<string, Field> | undefined) };
}

const quoted = (s: string) => `"${s.replace(/["\\\r\n]/g, (c) => (c === '"' || c === '\\' ? `\\${c}` : ' '))}"`;

/** A multipart/form-data body (RFC 7578): the fields, a list as one part per value, then the attachments. */
export function multipart(fields: Record<string, Field>, files: MailgunFile[], boundary = `----courier${randomBytes(12).toString('hex')}`) {
  const parts: Buffer[] = [];
  const part = (head: string, data: Buffer) => parts.push(Buffer.from(`--${boundary}\r\n${head}\r\n\r\n`), data, Buffer.from('\r\n'));
  for (const [name, value] of Object.entries(fields)) {
    for (const v of Array.isArray(value) ? value : [value]) part(`Content-Disposition: form-data; name=${quoted(name)}`, Buffer.from(v));
  }
  for (const f of files) {
    part(
      `Content-Disposition: form-data; name="attachment"; filename=${quoted(f.filename)}\r\nContent-Type: ${f.contentType ?? 'application/octet-stream'}`,
      f.data,
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(parts) };
}

/**
 * Email through Mailgun's messages API (`POST /v3/<domain>/messages`, Basic auth `api:<key>`,
 * multipart form). 200 answers `{ id, message }`. 429 and 5xx are retried; other 4xx are
 * permanent, a 400 saying the `to` parameter is not a valid address an invalid address.
 */
export class MailgunAdapter implements ProviderAdapter<'email'> {
  constructor(private readonly http: HttpClient = sharedHttp()) {}

  async send(message: ProviderSend<'email'>): Promise<ProviderResult> {
    const settings = parseSettings(mailgunSettings, message.settings, 'mailgun');
    const files = (message.email?.attachments ?? []).map((a) => ({ filename: a.filename, contentType: a.contentType, data: Buffer.from(a.data, 'base64') }));
    const form = multipart(mailgunFields(message, settings), files);
    const reply = await this.http.exchange(
      withOverride(
        {
          url: `${base(settings.api_url ?? MAILGUN_API[settings.region])}/v3/${encodeURIComponent(settings.domain)}/messages`,
          headers: { authorization: basicAuth('api', settings.api_key), 'content-type': form.contentType, accept: 'application/json' },
          body: form.body,
          timeoutMs: message.timeoutMs,
          what: 'mailgun',
        },
        message.override,
      ),
    );
    const json = parseJson(reply.text) as { id?: unknown; message?: unknown } | undefined;
    if (reply.status >= 200 && reply.status < 300) return { providerMessageId: typeof json?.id === 'string' ? json.id : undefined, status: 'SENT' };
    const text = typeof json?.message === 'string' ? json.message : reply.text;
    if (reply.status === 400 && /\bto\b.*not a valid address/i.test(text)) throw refusedRecipient('mailgun', 'to');
    throw vendorFailure(reply, 'mailgun');
  }
}
