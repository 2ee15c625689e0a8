import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import {
  basicCredentialsValid,
  mailgunEvent,
  mailgunSignatureValid,
  mailgunSigned,
  parseSnsMessage,
  postmarkEvent,
  ProviderBodyError,
  sendgridEvents,
  sendgridSignatureValid,
  sesEvent,
  snsCertUrlAllowed,
  snsSignatureValid,
  twilioEvent,
  twilioSignatureValid,
  vonageEvent,
  vonageSignatureValid,
  type ProviderEvent,
  type SnsMessage,
} from '../domain/provider-events';
import { apiHandler } from '../shared/api';
import { now as clockNow } from '../shared/clock';
import { config } from '../shared/config';
import { AuthenticationError, ConflictError, ValidationError } from '../shared/errors';
import { logger } from '../shared/logger';
import { mapLimit } from '../shared/pool';
import { ok, route, type Reply } from '../shared/router';
import { secretSetting } from '../shared/secrets';
import { applyProviderEvent, type Applied } from '../services/engagement';
import { recordToken, tokenSeen } from '../store/webhook-tokens';

/**
 * Provider webhooks of delivery and engagement events (docs/decisions.md D19, README "Delivery and
 * engagement events"): no API key; each request's signature (or credentials) is checked against
 * its setting before anything in it is read as true, then each event is applied to the message it
 * names through the status machine. An event for a message not known here is answered 200 and
 * ignored (logged); a message not sent yet (its worker has not saved the provider's answer) makes
 * the request a retryable 409, so the vendor sends it again (applying it again changes nothing).
 */

/** A signed timestamp older (or further ahead) than this is a replay: refused. Mailgun tokens are kept twice as long. */
export const SIGNED_AGE_LIMIT_MS = 3600_000;
const EVENTS_AT_ONCE = 8;

const header = (event: APIGatewayProxyEventV2, name: string): string | undefined =>
  Object.entries(event.headers ?? {}).find(([k]) => k.toLowerCase() === name)?.[1] ?? undefined;

const rawBody = (event: APIGatewayProxyEventV2): string => {
  const body = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
  if (Buffer.byteLength(text) > config.MAX_BODY_BYTES) throw new ValidationError(`Invalid request: body is over ${config.MAX_BODY_BYTES} bytes`);
  return text;
};

const json = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ValidationError(`Invalid request: body is not valid JSON (${(e as Error).message})`);
  }
};

/** Form parameters (`application/x-www-form-urlencoded`), the last of a repeated name. */
const formParams = (text: string): Record<string, string> => Object.fromEntries(new URLSearchParams(text));

const refuse = (why: string): never => {
  throw new AuthenticationError(`Unauthorized: ${why}`);
};

async function mustSecret(name: string, value: string | undefined, parameter: string | undefined): Promise<string> {
  const secret = await secretSetting(value, parameter);
  return secret ?? refuse(`this provider webhook is not configured (${name})`);
}

/** A signed time (epoch ms) within SIGNED_AGE_LIMIT_MS of now, or a refusal. */
function fresh(at: number, what: string): void {
  if (!Number.isFinite(at) || Math.abs(clockNow() - at) > SIGNED_AGE_LIMIT_MS)
    refuse(`${what} is more than an hour away from now (a replayed or delayed request)`);
}

const parsed = <T>(read: () => T): T => {
  try {
    return read();
  } catch (e) {
    if (e instanceof ProviderBodyError) throw new ValidationError(e.message);
    throw e;
  }
};

/** Each event applied to its message; the summary, or a retryable 409 when one of them named a message not sent yet. */
async function applyAll(provider: string, events: ProviderEvent[]): Promise<Reply> {
  const results = await mapLimit(events, EVENTS_AT_ONCE, async (e): Promise<Applied | 'untracked'> => {
    if (!e.event) return 'untracked';
    if (!e.messageId) {
      logger.info('provider event without courier_message_id: ignored', { provider, kind: e.event.kind });
      return 'unknown';
    }
    return applyProviderEvent(e.messageId, e.event);
  });
  const count = (o: string) => results.filter((r) => r === o).length;
  if (count('early')) throw new ConflictError(`${count('early')} event(s) name messages whose send is not recorded yet; send them again`, true);
  return ok({
    received: events.length,
    applied: count('moved'),
    unchanged: count('unchanged'),
    ignored: count('ignored') + count('untracked'),
    unknown: count('unknown'),
  });
}

// ---- SES through SNS -------------------------------------------------------------------------

/** Signing certificates by URL, for the life of the function (a failed fetch is not kept). */
const certificates = new Map<string, Promise<string>>();

function certificate(url: string): Promise<string> {
  let pem = certificates.get(url);
  if (!pem) {
    pem = (async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000), redirect: 'error' });
      if (!res.ok) throw new Error(`the SNS signing certificate ${url} answered ${res.status}`);
      return res.text();
    })();
    certificates.set(url, pem);
    pem.catch(() => certificates.delete(url));
  }
  return pem;
}

/** Whether a SubscribeURL is SNS's own (https on sns.<region>.amazonaws.com), or the tests' origin. */
function subscribeUrlAllowed(url: string): boolean {
  try {
    const u = new URL(url);
    if (config.SNS_TEST_CERT_ORIGIN !== undefined && u.origin === new URL(config.SNS_TEST_CERT_ORIGIN).origin) return true;
    return u.protocol === 'https:' && u.port === '' && /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(u.hostname);
  } catch {
    return false;
  }
}

async function verifiedSns(event: APIGatewayProxyEventV2): Promise<SnsMessage> {
  if (!config.SES_EVENTS_TOPIC_ARNS.length) refuse('the SES events webhook is not configured (SES_EVENTS_TOPIC_ARNS)');
  let m: SnsMessage;
  try {
    m = parseSnsMessage(json(rawBody(event)));
  } catch (e) {
    return refuse(`not a signed SNS message (${(e as Error).message})`);
  }
  if (!config.SES_EVENTS_TOPIC_ARNS.includes(m.TopicArn)) refuse(`topic ${m.TopicArn} is not one of SES_EVENTS_TOPIC_ARNS`);
  if (!snsCertUrlAllowed(m.SigningCertURL, config.SNS_TEST_CERT_ORIGIN))
    refuse('SigningCertURL is not an SNS certificate (https://sns.<region>.amazonaws.com/...pem)');
  let pem: string;
  try {
    pem = await certificate(m.SigningCertURL);
  } catch (e) {
    logger.warn('SNS signing certificate not fetched', { url: m.SigningCertURL, error: e as Error });
    return refuse('the SNS signing certificate could not be fetched');
  }
  if (!snsSignatureValid(m, pem)) refuse('the SNS message signature does not verify');
  fresh(Date.parse(m.Timestamp), 'the SNS message Timestamp');
  return m;
}

async function ses(event: APIGatewayProxyEventV2): Promise<Reply> {
  const m = await verifiedSns(event);
  if (m.Type === 'SubscriptionConfirmation') {
    if (!subscribeUrlAllowed(m.SubscribeURL!)) refuse('SubscribeURL is not an SNS URL');
    const res = await fetch(m.SubscribeURL!, { signal: AbortSignal.timeout(5000), redirect: 'error' });
    if (!res.ok) throw new Error(`confirming the subscription to ${m.TopicArn} answered ${res.status}`);
    logger.info('SNS subscription confirmed', { topicArn: m.TopicArn });
    return ok({ confirmed: m.TopicArn });
  }
  if (m.Type === 'UnsubscribeConfirmation') {
    logger.info('SNS unsubscribe confirmation: ignored', { topicArn: m.TopicArn });
    return ok({ received: 0 });
  }
  const message = parsed(() => {
    try {
      return JSON.parse(m.Message) as unknown;
    } catch {
      throw new ProviderBodyError('Invalid request: body.Message is not an SES event (JSON)');
    }
  });
  return applyAll('ses', [sesEvent(message, clockNow())]);
}

// ---- SendGrid, Mailgun, Postmark -------------------------------------------------------------

async function sendgrid(event: APIGatewayProxyEventV2): Promise<Reply> {
  const key = await mustSecret(
    'SENDGRID_WEBHOOK_VERIFICATION_KEY',
    config.SENDGRID_WEBHOOK_VERIFICATION_KEY,
    config.SENDGRID_WEBHOOK_VERIFICATION_KEY_PARAMETER,
  );
  const text = rawBody(event);
  const timestamp = header(event, 'x-twilio-email-event-webhook-timestamp');
  if (!sendgridSignatureValid(key, timestamp, text, header(event, 'x-twilio-email-event-webhook-signature')))
    refuse('X-Twilio-Email-Event-Webhook-Signature must be the ECDSA signature of the timestamp and body under the verification key');
  fresh(Number(timestamp) * 1000, 'X-Twilio-Email-Event-Webhook-Timestamp');
  return applyAll(
    'sendgrid',
    parsed(() => sendgridEvents(json(text), clockNow())),
  );
}

async function mailgun(event: APIGatewayProxyEventV2): Promise<Reply> {
  const key = await mustSecret('MAILGUN_WEBHOOK_SIGNING_KEY', config.MAILGUN_WEBHOOK_SIGNING_KEY, config.MAILGUN_WEBHOOK_SIGNING_KEY_PARAMETER);
  const body = (() => {
    try {
      return JSON.parse(rawBody(event)) as unknown;
    } catch {
      return undefined;
    }
  })();
  let signed: ReturnType<typeof mailgunSigned>;
  try {
    signed = mailgunSigned(body);
  } catch {
    return refuse('body.signature must hold timestamp, token and signature');
  }
  if (!mailgunSignatureValid(key, signed)) refuse('body.signature.signature must be the HMAC-SHA256 of timestamp and token under the signing key');
  fresh(Number(signed.timestamp) * 1000, 'body.signature.timestamp');
  if (await tokenSeen('mailgun', signed.token)) refuse('body.signature.token was used before (a replayed request)');
  const reply = await applyAll('mailgun', [mailgunEvent(body, clockNow())]);
  await recordToken('mailgun', signed.token, clockNow(), 2 * SIGNED_AGE_LIMIT_MS);
  return reply;
}

async function postmark(event: APIGatewayProxyEventV2): Promise<Reply> {
  const credentials = await mustSecret('POSTMARK_WEBHOOK_CREDENTIALS', config.POSTMARK_WEBHOOK_CREDENTIALS, config.POSTMARK_WEBHOOK_CREDENTIALS_PARAMETER);
  if (!basicCredentialsValid(credentials, header(event, 'authorization'))) refuse('Authorization must be Basic auth with the webhook credentials');
  const text = rawBody(event);
  return applyAll('postmark', [parsed(() => postmarkEvent(json(text), clockNow()))]);
}

// ---- Twilio, Vonage --------------------------------------------------------------------------

/** The URL Twilio requested (what it signs): scheme from X-Forwarded-Proto (https when absent), host, path and query. */
function requestUrl(event: APIGatewayProxyEventV2): string {
  const proto = header(event, 'x-forwarded-proto')?.split(',')[0].trim() || 'https';
  const query = event.rawQueryString ? `?${event.rawQueryString}` : '';
  return `${proto}://${header(event, 'host') ?? ''}${event.rawPath}${query}`;
}

async function twilio(event: APIGatewayProxyEventV2): Promise<Reply> {
  const token = await mustSecret('TWILIO_AUTH_TOKEN', config.TWILIO_AUTH_TOKEN, config.TWILIO_AUTH_TOKEN_PARAMETER);
  const params = formParams(rawBody(event));
  if (!twilioSignatureValid(token, requestUrl(event), params, header(event, 'x-twilio-signature')))
    refuse('X-Twilio-Signature must be the HMAC-SHA1 of the URL and the sorted parameters under the auth token');
  const messageId = new URLSearchParams(event.rawQueryString ?? '').get('courier_message_id') ?? undefined;
  return applyAll('twilio', [twilioEvent(params, messageId, clockNow())]);
}

async function vonage(event: APIGatewayProxyEventV2): Promise<Reply> {
  const secret = await mustSecret('VONAGE_SIGNATURE_SECRET', config.VONAGE_SIGNATURE_SECRET, config.VONAGE_SIGNATURE_SECRET_PARAMETER);
  let params: Record<string, string>;
  if (event.requestContext.http.method === 'GET') params = Object.fromEntries(new URLSearchParams(event.rawQueryString ?? ''));
  else {
    const text = rawBody(event);
    const body = /json/i.test(header(event, 'content-type') ?? '')
      ? (() => {
          try {
            return JSON.parse(text) as unknown;
          } catch {
            return undefined;
          }
        })()
      : formParams(text);
    params = Object.fromEntries(
      Object.entries(typeof body === 'object' && body !== null ? body : {}).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    );
  }
  if (!vonageSignatureValid(secret, params, config.VONAGE_SIGNATURE_ALGORITHM))
    refuse('sig must be the signature of the parameters under the signature secret');
  fresh(Number(params.timestamp) * 1000, 'timestamp');
  return applyAll('vonage', [vonageEvent(params, clockNow())]);
}

export const routes = [
  route({ method: 'POST', path: '/inbound/providers/ses', handler: ({ event }) => ses(event) }),
  route({ method: 'POST', path: '/inbound/providers/sendgrid', handler: ({ event }) => sendgrid(event) }),
  route({ method: 'POST', path: '/inbound/providers/mailgun', handler: ({ event }) => mailgun(event) }),
  route({ method: 'POST', path: '/inbound/providers/postmark', handler: ({ event }) => postmark(event) }),
  route({ method: 'POST', path: '/inbound/providers/twilio', handler: ({ event }) => twilio(event) }),
  route({ method: 'POST', path: '/inbound/providers/vonage', handler: ({ event }) => vonage(event) }),
  route({ method: 'GET', path: '/inbound/providers/vonage', handler: ({ event }) => vonage(event) }),
];

/** Every route checks its own signature (they differ by provider) and reads its own body (JSON or form). */
export const handler = apiHandler(routes, { auth: 'none' });
