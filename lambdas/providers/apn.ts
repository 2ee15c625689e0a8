import { createHash } from 'node:crypto';
import { importPKCS8, SignJWT } from 'jose';
import type { z } from 'zod';
import type { AddressOf } from '../domain/addresses';
import { deepMerge } from '../domain/overrides';
import { wallNow } from '../shared/clock';
import { apnSettings } from './catalog';
import { uuidFrom } from './ids';
import { sharedHttp2, type Http2Client } from './h2';
import { httpFailure, ProviderError, type ProviderAdapter, type ProviderResult, type ProviderSend } from './port';
import { invalidAddress, parseJson, parseSettings } from './transport';

const APNS_PRODUCTION = 'https://api.push.apple.com';
const APNS_SANDBOX = 'https://api.sandbox.push.apple.com';

/**
 * Apple refuses a provider token older than an hour and one refreshed more often than every 20
 * minutes (TooManyProviderTokenUpdates): a token is used for 50 minutes, then signed anew.
 */
export const PROVIDER_TOKEN_LIFETIME_MS = 50 * 60_000;

type ApnSettings = z.output<typeof apnSettings>;

/** The provider token: an ES256 JWT, `kid` the key id, `iss` the team id, `iat` when signed. */
export async function signProviderToken(settings: Pick<ApnSettings, 'key_id' | 'team_id' | 'private_key'>, nowSeconds: number): Promise<string> {
  let key: Awaited<ReturnType<typeof importPKCS8>>;
  try {
    key = await importPKCS8(settings.private_key, 'ES256');
  } catch {
    throw new ProviderError('apn settings.private_key is not a usable .p8 key', false);
  }
  return new SignJWT({ iss: settings.team_id, iat: nowSeconds }).setProtectedHeader({ alg: 'ES256', kid: settings.key_id }).sign(key);
}

/** Provider tokens by key, for the life of the function; keyed by a hash so the map holds no key material. */
const providerTokens = new Map<string, { token: string; signedAt: number }>();
const tokenKey = (s: ApnSettings) =>
  createHash('sha256')
    .update(JSON.stringify([s.key_id, s.team_id, s.private_key]))
    .digest('hex');

async function providerToken(settings: ApnSettings): Promise<string> {
  const key = tokenKey(settings);
  const at = wallNow();
  const cached = providerTokens.get(key);
  if (cached && at - cached.signedAt < PROVIDER_TOKEN_LIFETIME_MS) return cached.token;
  const token = await signProviderToken(settings, Math.floor(at / 1000));
  providerTokens.set(key, { token, signedAt: at });
  return token;
}

/** The profile's APNs device tokens (`apn`: one, or a list). */
export function apnTokens(address: AddressOf<'push'>): string[] {
  const value = address.apn;
  const list = (Array.isArray(value) ? value : [value]).filter((t): t is string => typeof t === 'string' && t.trim() !== '');
  if (list.length === 0) throw invalidAddress('apn', 'the profile has no apn device token');
  return [...new Set(list)];
}

/** The `apns-id` for a message: a UUID derived from our message id, so Apple's reports name it and a retry reuses it. */
export const apnsId = (messageId: string): string => uuidFrom(messageId);

/**
 * The notification payload: `aps.alert` from the rendered title and body, the push channel
 * override's `data` and `courier_message_id` as custom keys beside `aps`, then the provider
 * override's `body` deep-merged (any of Apple's `aps` keys: sound, badge, category, ...).
 */
export function apnPayload(message: ProviderSend<'push'>): Record<string, unknown> {
  const alert = Object.fromEntries(
    Object.entries({ title: message.content.title, body: message.content.body }).filter(([, v]) => typeof v === 'string' && v !== ''),
  );
  const aps = Object.keys(alert).length ? { alert } : { 'content-available': 1 };
  return deepMerge({ aps, ...message.data, courier_message_id: message.messageId } as Record<string, unknown>, message.override?.body);
}

/**
 * The request headers Apple documents: apns-push-type `alert` (priority 10) for a notification
 * with an alert, else `background` (priority 5, as Apple requires for background pushes);
 * apns-expiration 0 (deliver once, do not store); apns-id from our message id. A provider
 * override's headers may add others (apns-collapse-id) or replace these (apns-priority,
 * apns-expiration, apns-push-type); never authorization or apns-topic.
 */
export function apnHeaders(message: ProviderSend<'push'>, payload: Record<string, unknown>, settings: ApnSettings, bearer: string): Record<string, string> {
  const background = !(payload.aps as { alert?: unknown } | undefined)?.alert;
  const own = {
    'apns-push-type': background ? 'background' : 'alert',
    'apns-priority': background ? '5' : '10',
    'apns-expiration': '0',
    'apns-id': apnsId(message.messageId),
  };
  const extra = Object.fromEntries(
    Object.entries(message.override?.headers ?? {})
      .map(([k, v]) => [k.toLowerCase(), v])
      .filter(([k]) => k !== 'apns-topic' && k !== 'authorization'),
  );
  return { ...own, ...extra, 'content-type': 'application/json', authorization: `bearer ${bearer}`, 'apns-topic': settings.topic };
}

/** Apple's reasons that say the device token will never work again (410 Unregistered, 400 BadDeviceToken). */
const INVALID_TOKEN = new Set(['Unregistered', 'BadDeviceToken']);

/**
 * Push through APNs over HTTP/2, one request per device token. The push counts as sent when any
 * device took it; a token Apple reports Unregistered or BadDeviceToken is reported invalid.
 * 429 TooManyRequests and 5xx are transient; an expired provider token is signed anew and retried.
 */
export class ApnAdapter implements ProviderAdapter<'push'> {
  constructor(private readonly http: Http2Client = sharedHttp2()) {}

  async send(message: ProviderSend<'push'>): Promise<ProviderResult> {
    const settings = parseSettings(apnSettings, message.settings, 'apn');
    const targets = apnTokens(message.address);
    const bearer = await providerToken(settings);
    const origin = settings.api_url ?? (settings.environment === 'sandbox' ? APNS_SANDBOX : APNS_PRODUCTION);
    const payload = apnPayload(message);
    const headers = apnHeaders(message, payload, settings, bearer);
    const body = JSON.stringify(payload);
    const results = await Promise.allSettled(
      targets.map(async (token) => {
        const url = new URL(`${origin.replace(/\/$/, '')}/3/device/${encodeURIComponent(token)}`);
        for (const [k, v] of Object.entries(message.override?.query ?? {})) url.searchParams.set(k, v);
        const reply = await this.http.exchange({
          origin: url.origin,
          path: url.pathname + url.search,
          headers,
          body,
          timeoutMs: message.timeoutMs,
          what: 'apn',
        });
        const reason = (parseJson(reply.text) as { reason?: string } | undefined)?.reason;
        const failure = httpFailure(reply.status, reply.headers.get('retry-after'), 'apn');
        if (failure)
          throw Object.assign(
            new ProviderError(reason ? `${failure.message} ${reason}` : failure.message, failure.transient, failure.retryAfterMs, reply.status),
            { reason },
          );
        return reply.headers.get('apns-id') ?? headers['apns-id'];
      }),
    );
    const reasonOf = (r: PromiseSettledResult<string>) => (r.status === 'rejected' ? (r.reason as { reason?: string }).reason : undefined);
    const invalidTokens = targets.filter((_, i) => INVALID_TOKEN.has(reasonOf(results[i]) ?? ''));
    const sent = results.find((r): r is PromiseFulfilledResult<string> => r.status === 'fulfilled');
    if (sent) return { providerMessageId: sent.value, status: 'SENT', ...(invalidTokens.length ? { invalidTokens } : {}) };
    const errors = results.map((r) => (r as PromiseRejectedResult).reason as ProviderError);
    if (invalidTokens.length) errors.forEach((e) => (e.invalidTokens = invalidTokens));
    if (results.some((r) => reasonOf(r) === 'ExpiredProviderToken')) {
      // Apple found the token older than an hour (a clock skew): sign a new one on the retry.
      providerTokens.delete(tokenKey(settings));
      throw new ProviderError('apn answered 403 ExpiredProviderToken', true, undefined, 403);
    }
    throw errors.find((e) => e.transient) ?? errors[0];
  }
}
