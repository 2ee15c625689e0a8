import { createHash, createHmac, timingSafeEqual, verify } from 'node:crypto';
import type { EngagementEvent } from './status';

/**
 * Provider webhooks of delivery and engagement events (docs/decisions.md D19): each vendor's
 * signature check, and its events read as the status machine's (domain/status.ts), each with our
 * message id as the adapters hand it to the vendor (`courier_message_id`). Pure: the handlers
 * (lambdas/http/provider-events.ts) fetch certificates and read settings.
 */

/** One event of a webhook body: our message id (undefined when the vendor's event carries none) and what happened (undefined: an event kind we do not track). */
export interface ProviderEvent {
  messageId?: string;
  event?: EngagementEvent;
}

/** The body of a webhook that is not what the vendor documents (a 400). */
export class ProviderBodyError extends Error {}

const equalText = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);
/** A time in epoch ms from ISO-8601 text or epoch seconds; `fallback` when there is none. */
const timeOf = (v: unknown, fallback: number): number => {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.round(v * 1000);
  if (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const parsed = typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isNaN(parsed) ? fallback : parsed;
};

// ---- Amazon SES through SNS ------------------------------------------------------------------

/** The SNS message fields a signature covers, by message type, in the order SNS signs them. */
const SNS_SIGNED: Record<string, string[]> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};

export interface SnsMessage {
  Type: string;
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: string;
  Signature: string;
  SigningCertURL: string;
  Subject?: string;
  SubscribeURL?: string;
  Token?: string;
}

/** An SNS HTTP(S) notification body, its fields checked; a ProviderBodyError when it is not one. */
export function parseSnsMessage(body: unknown): SnsMessage {
  const b = obj(body);
  for (const f of ['Type', 'MessageId', 'TopicArn', 'Message', 'Timestamp', 'SignatureVersion', 'Signature', 'SigningCertURL'])
    if (typeof b[f] !== 'string') throw new ProviderBodyError(`Invalid request: body.${f} must be a string (an SNS message)`);
  if (!(String(b.Type) in SNS_SIGNED)) throw new ProviderBodyError(`Invalid request: body.Type ${String(b.Type)} is not an SNS message type`);
  if (b.Type !== 'Notification' && typeof b.SubscribeURL !== 'string') throw new ProviderBodyError('Invalid request: body.SubscribeURL must be a string');
  return b as unknown as SnsMessage;
}

/** The text SNS signs: each signed field present, as `name\nvalue\n`. */
export function snsStringToSign(m: SnsMessage): string {
  return SNS_SIGNED[m.Type]
    .flatMap((f) => {
      const v = (m as unknown as Record<string, unknown>)[f];
      return typeof v === 'string' ? [`${f}\n${v}\n`] : [];
    })
    .join('');
}

/**
 * Whether an SNS signing certificate may be fetched from `url`: https on `sns.<region>.amazonaws.com`
 * (`.com.cn` in China), a `.pem` path. `testOrigin` (SNS_TEST_CERT_ORIGIN, tests only) allows one
 * more origin besides.
 */
export function snsCertUrlAllowed(url: string, testOrigin?: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (testOrigin !== undefined && u.origin === new URL(testOrigin).origin) return true;
  return u.protocol === 'https:' && u.port === '' && /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(u.hostname) && u.pathname.endsWith('.pem');
}

/** Whether `m` is signed by the certificate `certPem` (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA). */
export function snsSignatureValid(m: SnsMessage, certPem: string): boolean {
  const algorithm = m.SignatureVersion === '1' ? 'RSA-SHA1' : m.SignatureVersion === '2' ? 'RSA-SHA256' : undefined;
  if (!algorithm) return false;
  try {
    return verify(algorithm, Buffer.from(snsStringToSign(m)), certPem, Buffer.from(m.Signature, 'base64'));
  } catch {
    return false;
  }
}

/**
 * An SES event (event publishing's `eventType`, or a notification's `notificationType`): Delivery,
 * a Permanent Bounce, Complaint, Open and Click; others (Send, a Transient bounce, DeliveryDelay...)
 * are not tracked. The message id is the SES message tag `courier_message_id` (lambdas/providers/ses.ts).
 */
export function sesEvent(message: unknown, received: number): ProviderEvent {
  const m = obj(message);
  const mail = obj(m.mail);
  const tag = obj(mail.tags).courier_message_id;
  const messageId = Array.isArray(tag) ? str(tag[0]) : undefined;
  const type = str(m.eventType) ?? str(m.notificationType);
  const at = (section: unknown) => timeOf(obj(section).timestamp, received);
  const base = { provider: 'ses' };
  switch (type) {
    case 'Delivery':
      return { messageId, event: { ...base, kind: 'DELIVERED', at: at(m.delivery) } };
    case 'Open':
      return { messageId, event: { ...base, kind: 'OPENED', at: at(m.open) } };
    case 'Click':
      return { messageId, event: { ...base, kind: 'CLICKED', at: at(m.click) } };
    case 'Bounce': {
      const bounce = obj(m.bounce);
      if (bounce.bounceType !== 'Permanent') return { messageId };
      return {
        messageId,
        event: {
          ...base,
          kind: 'UNDELIVERABLE',
          at: at(bounce),
          reason: 'BOUNCED',
          detail: `bounce: Permanent/${str(bounce.bounceSubType) ?? 'General'}`,
          suppress: 'hard_bounce',
        },
      };
    }
    case 'Complaint': {
      const complaint = obj(m.complaint);
      return {
        messageId,
        event: {
          ...base,
          kind: 'UNDELIVERABLE',
          at: at(complaint),
          reason: 'UNSUBSCRIBED',
          detail: `complaint: ${str(complaint.complaintFeedbackType) ?? 'abuse'}`,
          suppress: 'complaint',
        },
      };
    }
    default:
      return { messageId };
  }
}

// ---- SendGrid Event Webhook ------------------------------------------------------------------

/**
 * SendGrid's signed Event Webhook: `X-Twilio-Email-Event-Webhook-Signature` is the base64 ECDSA
 * (P-256, SHA-256, DER) signature of the `-Timestamp` header's value followed by the raw body,
 * under the verification key (base64 DER public key, as SendGrid shows it).
 */
export function sendgridSignatureValid(publicKey: string, timestamp: string | undefined, rawBody: string, signature: string | undefined): boolean {
  if (!timestamp || !signature) return false;
  try {
    return verify(
      'sha256',
      Buffer.from(timestamp + rawBody),
      { key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' },
      Buffer.from(signature, 'base64'),
    );
  } catch {
    return false;
  }
}

/**
 * SendGrid's events (a JSON array): delivered, open, click, bounce, dropped, spamreport; the message
 * id from `custom_args` (top-level fields of each event). A bounce of `type` bounce is a hard bounce;
 * one of `type` blocked (the receiving server refused this message, not the address) and a message
 * SendGrid dropped end it undelivered without suppressing the address; `deferred` (a soft bounce
 * SendGrid retries) is not an event.
 */
export function sendgridEvents(body: unknown, received: number): ProviderEvent[] {
  if (!Array.isArray(body)) throw new ProviderBodyError('Invalid request: body must be an array of SendGrid events');
  return body.map((raw) => {
    const e = obj(raw);
    const messageId = str(e.courier_message_id);
    const at = timeOf(e.timestamp, received);
    const base = { provider: 'sendgrid', at };
    switch (e.event) {
      case 'delivered':
        return { messageId, event: { ...base, kind: 'DELIVERED' } };
      case 'open':
        return { messageId, event: { ...base, kind: 'OPENED' } };
      case 'click':
        return { messageId, event: { ...base, kind: 'CLICKED' } };
      case 'bounce':
      case 'dropped': {
        const hard = e.event === 'bounce' && e.type !== 'blocked';
        const detail = `${e.event === 'bounce' && e.type === 'blocked' ? 'blocked' : String(e.event)}: ${str(e.reason) ?? str(e.type) ?? ''}`.trim();
        return { messageId, event: { ...base, kind: 'UNDELIVERABLE', reason: 'BOUNCED', detail, ...(hard ? { suppress: 'hard_bounce' as const } : {}) } };
      }
      case 'spamreport':
        return { messageId, event: { ...base, kind: 'UNDELIVERABLE', reason: 'UNSUBSCRIBED', detail: 'complaint: spamreport', suppress: 'complaint' } };
      default:
        return { messageId };
    }
  });
}

// ---- Mailgun ---------------------------------------------------------------------------------

/** Mailgun's webhook signature: hex HMAC-SHA256 of `timestamp` + `token` under the webhook signing key. */
export const mailgunSignature = (signingKey: string, timestamp: string, token: string): string =>
  createHmac('sha256', signingKey)
    .update(timestamp + token)
    .digest('hex');

/** A Mailgun webhook body's `signature` object (timestamp, token, signature), or a ProviderBodyError. */
export function mailgunSigned(body: unknown): { timestamp: string; token: string; signature: string } {
  const s = obj(obj(body).signature);
  const [timestamp, token, signature] = [str(s.timestamp), str(s.token), str(s.signature)];
  if (!timestamp || !token || !signature) throw new ProviderBodyError('Invalid request: body.signature must have timestamp, token and signature');
  return { timestamp, token, signature };
}

export function mailgunSignatureValid(signingKey: string, s: { timestamp: string; token: string; signature: string }): boolean {
  return equalText(mailgunSignature(signingKey, s.timestamp, s.token), s.signature.toLowerCase());
}

/** Mailgun permanent failures that are not the address's: the ESP blocked the message, or Mailgun stopped retrying a message too old. */
const MAILGUN_NOT_ADDRESS = new Set(['espblock', 'old']);

/**
 * Mailgun's `event-data`: delivered, opened, clicked, failed (permanent; a temporary failure is
 * retried by Mailgun and not an event), complained; the message id from the `v:courier_message_id`
 * user-variable. A permanent failure suppresses the address unless its reason is not the address's.
 */
export function mailgunEvent(body: unknown, received: number): ProviderEvent {
  const d = obj(obj(body)['event-data']);
  const messageId = str(obj(d['user-variables']).courier_message_id);
  const base = { provider: 'mailgun', at: timeOf(d.timestamp, received) };
  switch (d.event) {
    case 'delivered':
      return { messageId, event: { ...base, kind: 'DELIVERED' } };
    case 'opened':
      return { messageId, event: { ...base, kind: 'OPENED' } };
    case 'clicked':
      return { messageId, event: { ...base, kind: 'CLICKED' } };
    case 'failed':
      if (d.severity !== 'permanent') return { messageId };
      return {
        messageId,
        event: {
          ...base,
          kind: 'UNDELIVERABLE',
          reason: 'BOUNCED',
          detail: `failed: ${str(d.reason) ?? 'permanent'}`,
          ...(MAILGUN_NOT_ADDRESS.has(String(d.reason)) ? {} : { suppress: 'hard_bounce' as const }),
        },
      };
    case 'complained':
      return { messageId, event: { ...base, kind: 'UNDELIVERABLE', reason: 'UNSUBSCRIBED', detail: 'complaint', suppress: 'complaint' } };
    default:
      return { messageId };
  }
}

// ---- Postmark --------------------------------------------------------------------------------

/** Postmark bounce types that end the message (the others are transient). */
const POSTMARK_HARD = new Set(['HardBounce', 'BadEmailAddress', 'ManuallyDeactivated', 'Blocked', 'SpamNotification', 'DMARCPolicy', 'AddressChange']);
/** Of those, the ones that say the address itself does not exist: they suppress it (a block, a DMARC refusal or a spam filter are about the message). */
const POSTMARK_BAD_ADDRESS = new Set(['HardBounce', 'BadEmailAddress']);

/** Whether `authorization` is Basic auth with exactly `credentials` (`user:password`). */
export function basicCredentialsValid(credentials: string, authorization: string | undefined): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  return m !== null && equalText(Buffer.from(m[1], 'base64').toString('utf8'), credentials);
}

/** A Postmark webhook: Delivery, Open, Click, Bounce (hard kinds), SpamComplaint; the message id from `Metadata`. */
export function postmarkEvent(body: unknown, received: number): ProviderEvent {
  const b = obj(body);
  if (typeof b.RecordType !== 'string') throw new ProviderBodyError('Invalid request: body.RecordType must be a string (a Postmark webhook)');
  const messageId = str(obj(b.Metadata).courier_message_id);
  const base = { provider: 'postmark' };
  switch (b.RecordType) {
    case 'Delivery':
      return { messageId, event: { ...base, kind: 'DELIVERED', at: timeOf(b.DeliveredAt, received) } };
    case 'Open':
      return { messageId, event: { ...base, kind: 'OPENED', at: timeOf(b.ReceivedAt, received) } };
    case 'Click':
      return { messageId, event: { ...base, kind: 'CLICKED', at: timeOf(b.ReceivedAt, received) } };
    case 'Bounce':
      if (!POSTMARK_HARD.has(String(b.Type))) return { messageId };
      return {
        messageId,
        event: {
          ...base,
          kind: 'UNDELIVERABLE',
          at: timeOf(b.BouncedAt, received),
          reason: 'BOUNCED',
          detail: `bounce: ${String(b.Type)}`,
          ...(POSTMARK_BAD_ADDRESS.has(String(b.Type)) ? { suppress: 'hard_bounce' as const } : {}),
        },
      };
    case 'SpamComplaint':
      return {
        messageId,
        event: {
          ...base,
          kind: 'UNDELIVERABLE',
          at: timeOf(b.BouncedAt, received),
          reason: 'UNSUBSCRIBED',
          detail: 'complaint: SpamComplaint',
          suppress: 'complaint',
        },
      };
    default:
      return { messageId };
  }
}

// ---- Twilio ----------------------------------------------------------------------------------

/** Twilio's `X-Twilio-Signature`: base64 HMAC-SHA1 of the full URL followed by each POST parameter, sorted by name, as name then value. */
export function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
  const data =
    url +
    Object.keys(params)
      .sort()
      .map((k) => k + params[k])
      .join('');
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

export const twilioSignatureValid = (authToken: string, url: string, params: Record<string, string>, signature: string | undefined): boolean =>
  signature !== undefined && equalText(twilioSignature(authToken, url, params), signature);

/** An SMS carrier's failure: UNDELIVERABLE FAILED with the status and error code, suppressing the number when the code says it cannot take messages. */
const smsFailure = (base: { provider: string; at: number }, status: string, code: string | undefined, badNumber: ReadonlySet<string>): EngagementEvent => ({
  ...base,
  kind: 'UNDELIVERABLE',
  reason: 'FAILED',
  detail: `${status}: ${code ?? ''}`.trim(),
  ...(badNumber.has(code ?? '') ? { suppress: 'hard_bounce' as const } : {}),
});

/** Twilio's error codes saying the number cannot take messages: 30005 unknown destination handset, 30006 landline or unreachable carrier (the hard bounces of sms). */
const TWILIO_BAD_NUMBER = new Set(['30005', '30006']);

/**
 * A Twilio status callback: MessageStatus delivered, read (WhatsApp: opened), undelivered and
 * failed (with ErrorCode; TWILIO_BAD_NUMBER suppresses the number); the message id from the
 * callback URL's `courier_message_id` query. Twilio sends no event time: the time it arrives is used.
 */
export function twilioEvent(params: Record<string, string>, messageId: string | undefined, received: number): ProviderEvent {
  const base = { provider: 'twilio', at: received };
  switch (params.MessageStatus) {
    case 'delivered':
      return { messageId, event: { ...base, kind: 'DELIVERED' } };
    case 'read':
      return { messageId, event: { ...base, kind: 'OPENED' } };
    case 'undelivered':
    case 'failed':
      return { messageId, event: smsFailure(base, params.MessageStatus, params.ErrorCode, TWILIO_BAD_NUMBER) };
    default:
      return { messageId };
  }
}

// ---- Vonage ----------------------------------------------------------------------------------

export type VonageAlgorithm = 'md5hash' | 'md5' | 'sha1' | 'sha256' | 'sha512';

/**
 * Vonage's signed-request signature (`sig`): the parameters but `sig`, sorted by name, each as
 * `&name=value` with `&` and `=` in values replaced by `_`; then MD5 of that followed by the
 * signature secret (`md5hash`, Vonage's default), or its HMAC under the secret. Hex; compared
 * without regard to case.
 */
export function vonageSignature(secret: string, params: Record<string, string>, algorithm: VonageAlgorithm): string {
  const text = Object.keys(params)
    .filter((k) => k !== 'sig')
    .sort()
    .map((k) => `&${k}=${params[k].replace(/[&=]/g, '_')}`)
    .join('');
  if (algorithm === 'md5hash')
    return createHash('md5')
      .update(text + secret)
      .digest('hex');
  return createHmac(algorithm, secret).update(text).digest('hex');
}

export const vonageSignatureValid = (secret: string, params: Record<string, string>, algorithm: VonageAlgorithm): boolean =>
  typeof params.sig === 'string' && equalText(vonageSignature(secret, params, algorithm), params.sig.toLowerCase());

/** Vonage's delivery receipt error codes saying the number cannot take messages: 3 absent subscriber (permanent), 9 illegal number. */
const VONAGE_BAD_NUMBER = new Set(['3', '9']);

/** A Vonage SMS delivery receipt: status delivered, or failed / rejected / expired (with err-code; VONAGE_BAD_NUMBER suppresses the number); the message id from `client-ref`. */
export function vonageEvent(params: Record<string, string>, received: number): ProviderEvent {
  const messageId = params['client-ref'] || undefined;
  // message-timestamp: `YYYY-MM-DD HH:MM:SS`, UTC.
  const stamp = params['message-timestamp'];
  const at = stamp && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(stamp) ? Date.parse(`${stamp.replace(' ', 'T')}Z`) : received;
  const base = { provider: 'vonage', at };
  switch (params.status) {
    case 'delivered':
      return { messageId, event: { ...base, kind: 'DELIVERED' } };
    case 'failed':
    case 'rejected':
    case 'expired':
      return { messageId, event: smsFailure(base, params.status, params['err-code'], VONAGE_BAD_NUMBER) };
    default:
      return { messageId };
  }
}
