import net from 'node:net';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import type { z } from 'zod';
import { configuredPolicy, EgressRefused, isLoopback, resolveEgress, type EgressPolicy } from '../shared/egress';
import { smtpSettings } from './catalog';
import { ProviderError, type ProviderAdapter, type ProviderResult, type ProviderSend } from './port';
import { emailRecipient, parseSettings, refusedEgress } from './transport';

type SmtpSettings = z.output<typeof smtpSettings>;

/**
 * The message nodemailer composes: the rendered email to its one recipient, tagged with the message
 * id; the channel override's envelope (from, reply-to, cc, bcc, attachments, headers) on it, then
 * the provider override's `body` merged over it (Courier: "merged with Courier's generated message
 * and passed directly to NodeMailer"), its headers added to ours.
 */
export function smtpMail(message: ProviderSend<'email'>, settings: SmtpSettings) {
  const to = emailRecipient(message.address, 'smtp');
  const envelope = message.email ?? {};
  const from = envelope.from ?? settings.from;
  const domain = from.slice(from.lastIndexOf('@') + 1).replace(/>$/, '');
  const body = (message.override?.body ?? {}) as Record<string, unknown> & { headers?: Record<string, string> };
  return {
    from,
    to,
    ...(envelope.replyTo ? { replyTo: envelope.replyTo } : {}),
    ...(envelope.cc ? { cc: envelope.cc } : {}),
    ...(envelope.bcc ? { bcc: envelope.bcc } : {}),
    subject: message.content.subject ?? '',
    text: message.content.text ?? '',
    html: message.content.html,
    ...(envelope.attachments
      ? { attachments: envelope.attachments.map((a) => ({ filename: a.filename, content: a.data, encoding: 'base64', contentType: a.contentType })) }
      : {}),
    ...body,
    // The same Message-ID on every retry of this message, so a receiving server can drop a copy
    // that a retry after a lost 250 reply delivers twice.
    messageId: `<${message.messageId}@${domain}>`,
    headers: { ...envelope.headers, ...body.headers, 'X-Courier-Message-Id': message.messageId },
  };
}

/**
 * The settings with the provider override's `config` (Courier's nodemailer transport names) over
 * them. A config that moves the host drops the stored credentials unless it brings its own: they
 * belong to the configured server, not to wherever a send points.
 */
export function smtpSettingsFor(settings: SmtpSettings, config: Record<string, unknown> | undefined): SmtpSettings {
  if (!config) return settings;
  const c = config as { host?: string; port?: number; secure?: boolean; requireTLS?: boolean; auth?: { user: string; pass: string } };
  const moved = c.host !== undefined && c.host !== settings.host;
  return {
    ...settings,
    ...(c.host !== undefined ? { host: c.host } : {}),
    ...(c.port !== undefined ? { port: c.port } : {}),
    ...(c.secure !== undefined ? { secure: c.secure } : {}),
    ...(c.requireTLS !== undefined ? { require_tls: c.requireTLS } : {}),
    ...(c.auth ? { username: c.auth.user, password: c.auth.pass } : moved ? { username: undefined, password: undefined } : {}),
  };
}

/**
 * How to reach the server: at `address`, the one its host resolved to and the egress check passed
 * (so the connection goes exactly there), verifying TLS against the host name. TLS is required
 * (STARTTLS, or `secure` from the first byte) unless the server is on loopback, so a man in the
 * middle who strips STARTTLS gets a failed send instead of the password; `require_tls` in the
 * settings overrides that either way.
 */
export function smtpConnection(settings: Pick<SmtpSettings, 'host' | 'port' | 'secure' | 'require_tls'>, address: string) {
  const named = net.isIP(settings.host.replace(/^\[(.*)\]$/, '$1')) === 0;
  const requireTLS = !settings.secure && (settings.require_tls ?? !isLoopback(address));
  return {
    host: address,
    port: settings.port,
    secure: settings.secure,
    requireTLS,
    tls: { servername: named ? settings.host : undefined },
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
  if (error instanceof EgressRefused) return refusedEgress('smtp');
  const e = error as { code?: string; name?: string; responseCode?: number; permanent?: boolean };
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError' || e?.code === 'EABORT') return new ProviderError(`smtp timed out after ${timeoutMs} ms`, true);
  if (typeof e?.responseCode === 'number') {
    return new ProviderError(`smtp answered ${e.responseCode}${e.code ? ` (${e.code})` : ''}`, e.permanent !== true, undefined, e.responseCode);
  }
  return new ProviderError(`smtp failed${e?.code ? ` (${e.code})` : ''}`, !PERMANENT_CODES.has(e?.code ?? ''));
}

/** `promise`, or the signal's reason once it aborts (a DNS lookup has no timeout of its own). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Email through any SMTP server; a new connection per message (no pool), closed when done. */
export class SmtpAdapter implements ProviderAdapter<'email'> {
  /** `egress`: where the adapter may connect (default: the configured policy). */
  constructor(private readonly egress: EgressPolicy = configuredPolicy()) {}

  async send(message: ProviderSend<'email'>): Promise<ProviderResult> {
    const settings = smtpSettingsFor(parseSettings(smtpSettings, message.settings, 'smtp'), message.override?.config);
    const mail = smtpMail(message, settings);
    const signal = AbortSignal.timeout(message.timeoutMs);
    let transport: Transporter<SMTPTransport.SentMessageInfo> | undefined;
    try {
      const { address } = await abortable(resolveEgress(settings.host, this.egress), signal);
      transport = nodemailer.createTransport({
        ...smtpConnection(settings, address),
        auth: settings.username ? { user: settings.username, pass: settings.password ?? '' } : undefined,
        connectionTimeout: message.timeoutMs,
        greetingTimeout: message.timeoutMs,
        socketTimeout: message.timeoutMs,
      });
      const info = await transport.sendMail({ ...mail, signal });
      return { providerMessageId: info.messageId, status: 'SENT' };
    } catch (e) {
      throw smtpFailure(e, message.timeoutMs);
    } finally {
      transport?.close();
    }
  }
}
