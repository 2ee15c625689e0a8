import addressparser from 'nodemailer/lib/addressparser';
import type { EmailEnvelope } from '../domain/overrides';
import { httpFailure, ProviderError, type ProviderSend } from './port';
import { emailRecipient, invalidAddress, parseJson, withOverride, type HttpClient, type HttpReply } from './transport';

/**
 * What the email HTTP APIs (SendGrid, Mailgun, Postmark, Resend, SparkPost, Mailjet) share: the
 * parties of the message, the call with the provider override applied, and errors that name the
 * vendor's code but never an address.
 */

/** The key, in each vendor's custom metadata, that carries our message id to its webhooks. */
export const MESSAGE_ID_KEY = 'courier_message_id';
/** The header every email adapter sets, as smtp.ts and ses.ts do. */
export const MESSAGE_ID_HEADER = 'X-Courier-Message-Id';

export interface Mailbox {
  email: string;
  name?: string;
}

/** `Ada <ada@x.test>` or `ada@x.test` as `{ email, name }` (a from or reply-to the settings or an override name). */
export function mailbox(value: string): Mailbox {
  const [first] = addressparser(value.trim());
  const email = first?.address || value.trim();
  return first?.name ? { email, name: first.name } : { email };
}

/** The one recipient of the message (transport.ts `emailRecipient`: anything else is an invalid address). */
export function recipientOf(message: ProviderSend<'email'>, provider: string): Mailbox {
  const to = emailRecipient(message.address, provider);
  return typeof to === 'string' ? { email: to } : { email: to.address, name: to.name };
}

/** A mailbox as one header-style address: `Ada <ada@x.test>`. */
export const formatMailbox = (m: Mailbox): string => (m.name ? `${JSON.stringify(m.name)} <${m.email}>` : m.email);

/** The parties of an email: from (the override's, else the settings'), to, cc, bcc, reply-to. */
export function partiesOf(message: ProviderSend<'email'>, provider: string, from: string) {
  const envelope: EmailEnvelope = message.email ?? {};
  return {
    from: mailbox(envelope.from ?? from),
    to: recipientOf(message, provider),
    cc: envelope.cc?.map(mailbox),
    bcc: envelope.bcc?.map(mailbox),
    replyTo: envelope.replyTo?.map(mailbox),
    headers: { ...envelope.headers, [MESSAGE_ID_HEADER]: message.messageId },
    attachments: envelope.attachments,
  };
}

/** `https://x/` -> `https://x`, so paths append cleanly. */
export const base = (url: string): string => url.replace(/\/+$/, '');

/**
 * A vendor's failure: transient as httpFailure says (408, 429, 5xx, `retry-after`) unless the
 * vendor's code says otherwise; the message names the status and the vendor's code only.
 */
export function vendorFailure(reply: HttpReply, what: string, code?: string | number, transient?: boolean): ProviderError {
  const classified = httpFailure(reply.status, reply.headers.get('retry-after'), what) ?? new ProviderError(`${what} answered ${reply.status}`, false);
  const message = `${classified.message}${code !== undefined && code !== '' ? ` (${code})` : ''}`;
  return new ProviderError(message, transient ?? classified.transient, classified.retryAfterMs, reply.status);
}

/** The vendor refused the recipient: permanent, and the message says so (for failover and the message's error). */
export const refusedRecipient = (what: string, code: string | number): ProviderError => invalidAddress(what, `the recipient address was refused (${code})`);

/** One JSON POST with the provider override (body deep-merged by the caller, headers and query here); the answer whatever its status. */
export async function postJson(
  http: HttpClient,
  message: ProviderSend<'email'>,
  call: { url: string; headers: Record<string, string>; body: unknown; what: string },
): Promise<{ reply: HttpReply; json: unknown }> {
  const reply = await http.exchange(
    withOverride(
      {
        url: call.url,
        headers: { 'content-type': 'application/json', accept: 'application/json', ...call.headers },
        body: JSON.stringify(call.body),
        timeoutMs: message.timeoutMs,
        what: call.what,
      },
      message.override,
    ),
  );
  return { reply, json: parseJson(reply.text) };
}

export const basicAuth = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
