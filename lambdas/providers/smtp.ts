import nodemailer from 'nodemailer';
import type { z } from 'zod';
import { smtpSettings } from './catalog';
import { ProviderError, type ProviderAdapter, type ProviderResult, type ProviderSend } from './port';
import { invalidAddress, parseSettings } from './transport';

type SmtpSettings = z.output<typeof smtpSettings>;

/** The message nodemailer composes: the rendered email, tagged with the message id. */
export function smtpMail(message: ProviderSend, settings: SmtpSettings) {
  if (typeof message.address !== 'string' || !message.address.includes('@')) throw invalidAddress('smtp', 'the address is not an email address');
  const domain = settings.from.slice(settings.from.lastIndexOf('@') + 1).replace(/>$/, '');
  return {
    from: settings.from,
    to: message.address,
    subject: message.content.subject ?? '',
    text: message.content.text ?? '',
    html: message.content.html,
    // The same Message-ID on every retry of this message, so a receiving server can drop a copy
    // that a retry after a lost 250 reply delivers twice.
    messageId: `<${message.messageId}@${domain}>`,
    headers: { 'X-Courier-Message-Id': message.messageId },
  };
}

/** Error codes nodemailer sets for problems a retry cannot fix (credentials, addresses, the message itself). */
const PERMANENT_CODES = new Set(['EAUTH', 'ENOAUTH', 'ECONFIG', 'EENVELOPE', 'EMESSAGE', 'EREQUIRETLS', 'EMAXRECIPIENTS']);

/**
 * SMTP's own classes decide when the server replied (5xx permanent, 4xx transient, as nodemailer's
 * `permanent` flag says); without a reply, connection problems are transient. The server's reply
 * text stays out of the message: it often echoes the recipient's address.
 */
export function smtpFailure(error: unknown, timeoutMs: number): ProviderError {
  const e = error as { code?: string; name?: string; responseCode?: number; permanent?: boolean };
  if (e?.name === 'AbortError' || e?.code === 'EABORT') return new ProviderError(`smtp timed out after ${timeoutMs} ms`, true);
  if (typeof e?.responseCode === 'number') {
    return new ProviderError(`smtp answered ${e.responseCode}${e.code ? ` (${e.code})` : ''}`, e.permanent !== true, undefined, e.responseCode);
  }
  return new ProviderError(`smtp failed${e?.code ? ` (${e.code})` : ''}`, !PERMANENT_CODES.has(e?.code ?? ''));
}

/** Email through any SMTP server; a new connection per message (no pool), closed when done. */
export class SmtpAdapter implements ProviderAdapter {
  async send(message: ProviderSend): Promise<ProviderResult> {
    const settings = parseSettings(smtpSettings, message.settings, 'smtp');
    const mail = smtpMail(message, settings);
    const transport = nodemailer.createTransport({
      host: settings.host,
      port: settings.port,
      secure: settings.secure,
      auth: settings.username ? { user: settings.username, pass: settings.password ?? '' } : undefined,
      connectionTimeout: message.timeoutMs,
      greetingTimeout: message.timeoutMs,
      socketTimeout: message.timeoutMs,
    });
    try {
      const info = await transport.sendMail({ ...mail, signal: AbortSignal.timeout(message.timeoutMs) });
      return { providerMessageId: info.messageId, status: 'SENT' };
    } catch (e) {
      throw smtpFailure(e, message.timeoutMs);
    } finally {
      transport.close();
    }
  }
}
