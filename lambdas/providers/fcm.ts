import { createHash } from 'node:crypto';
import { importPKCS8, SignJWT } from 'jose';
import { z } from 'zod';
import type { AddressOf } from '../domain/addresses';
import { fcmSettings } from './catalog';
import { ProviderError, type ProviderAdapter, type ProviderResult, type ProviderSend } from './port';
import { invalidAddress, parseJson, parseSettings, sharedHttp, withOverride, type HttpClient } from './transport';
import { deepMerge } from '../domain/overrides';
import { wallNow } from '../shared/clock';

const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';
const FCM_ENDPOINT = 'https://fcm.googleapis.com';

/**
 * The fields of a Google service account key file this adapter uses. `token_uri` is part of every
 * key file; taking it from there (rather than hard-coding Google's) is what lets a test or an
 * emulator stand in for the token endpoint.
 */
const serviceAccountSchema = z.object({
  client_email: z.string().min(1),
  private_key: z.string().min(1),
  private_key_id: z.string().optional(),
  token_uri: z.url().default(GOOGLE_TOKEN_URI),
});
export type ServiceAccount = z.output<typeof serviceAccountSchema>;

export function parseServiceAccount(text: string): ServiceAccount {
  const parsed = serviceAccountSchema.safeParse(parseJson(text));
  if (!parsed.success) throw new ProviderError('firebase-fcm settings.service_account is not a service account key file', false);
  return parsed.data;
}

/** The claims of the OAuth 2.0 JWT bearer assertion Google's token endpoint expects. */
export const assertionClaims = (sa: ServiceAccount, nowSeconds: number) => ({
  iss: sa.client_email,
  scope: FCM_SCOPE,
  aud: sa.token_uri,
  iat: nowSeconds,
  exp: nowSeconds + 3600,
});

export async function signAssertion(sa: ServiceAccount, nowSeconds: number): Promise<string> {
  let key: Awaited<ReturnType<typeof importPKCS8>>;
  try {
    key = await importPKCS8(sa.private_key, 'RS256');
  } catch {
    throw new ProviderError('firebase-fcm settings.service_account holds no usable private key', false);
  }
  return new SignJWT(assertionClaims(sa, nowSeconds))
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(sa.private_key_id ? { kid: sa.private_key_id } : {}) })
    .sign(key);
}

/**
 * Access tokens by service account, for the life of the function: Google limits token exchanges,
 * and a token is good for an hour. Keyed by a hash so the map holds no key material as its key.
 */
const tokens = new Map<string, { token: string; expiresAt: number }>();
const tokenKey = (sa: ServiceAccount) =>
  createHash('sha256')
    .update(JSON.stringify([sa.client_email, sa.token_uri, sa.private_key]))
    .digest('hex');

const tokenReply = z.object({ access_token: z.string().min(1), expires_in: z.number().positive().default(3600) });

async function accessToken(http: HttpClient, sa: ServiceAccount, timeoutMs: number): Promise<string> {
  const key = tokenKey(sa);
  const cached = tokens.get(key);
  // A minute of margin so a token never expires between this check and FCM reading it.
  if (cached && cached.expiresAt - 60_000 > wallNow()) return cached.token;
  const now = Math.floor(wallNow() / 1000);
  const reply = await http.request({
    url: sa.token_uri,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: await signAssertion(sa, now) }).toString(),
    timeoutMs,
    what: 'firebase-fcm token endpoint',
  });
  const parsed = tokenReply.safeParse(parseJson(reply.text));
  if (!parsed.success) throw new ProviderError('firebase-fcm token endpoint answered without an access token', true);
  tokens.set(key, { token: parsed.data.access_token, expiresAt: now * 1000 + parsed.data.expires_in * 1000 });
  return parsed.data.access_token;
}

/** The profile's FCM registration tokens (`firebaseToken`, one or a list): a push address may hold only other providers' tokens. */
export function fcmTokens(address: AddressOf<'push'>): string[] {
  const value = address.firebaseToken;
  const list = (Array.isArray(value) ? value : [value]).filter((t): t is string => typeof t === 'string' && t !== '');
  if (list.length === 0) throw invalidAddress('firebase-fcm', 'the profile has no firebaseToken');
  return list;
}

/**
 * The FCM HTTP v1 `messages:send` body for one device: the push channel override's `data` with our
 * `messageId`, then the provider override's `body` deep-merged into `message` (notification,
 * data, android, apns, webpush, fcm_options: FCM's own fields, which FCM checks).
 */
export const fcmMessage = (token: string, message: ProviderSend<'push'>) => ({
  message: deepMerge(
    {
      token,
      notification: { title: message.content.title, body: message.content.body },
      data: { ...message.data, messageId: message.messageId },
    } as Record<string, unknown>,
    message.override?.body,
  ),
});

/**
 * Push through FCM HTTP v1. A profile may hold several tokens (devices): the push counts as sent
 * when any device took it. When none did, the failure is transient if any device's was, so the
 * retry reaches the devices that were only briefly unreachable.
 */
export class FcmAdapter implements ProviderAdapter<'push'> {
  constructor(private readonly http: HttpClient = sharedHttp()) {}

  async send(message: ProviderSend<'push'>): Promise<ProviderResult> {
    const settings = parseSettings(fcmSettings, message.settings, 'firebase-fcm');
    const targets = fcmTokens(message.address);
    const sa = parseServiceAccount(settings.service_account);
    const bearer = await accessToken(this.http, sa, message.timeoutMs);
    const url = `${(settings.endpoint ?? FCM_ENDPOINT).replace(/\/$/, '')}/v1/projects/${encodeURIComponent(settings.project_id)}/messages:send`;
    const results = await Promise.allSettled(
      targets.map((token) =>
        this.http.request(
          withOverride(
            {
              url,
              headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
              body: JSON.stringify(fcmMessage(token, message)),
              timeoutMs: message.timeoutMs,
              what: 'firebase-fcm',
            },
            message.override,
          ),
        ),
      ),
    );
    // FCM answers 404 UNREGISTERED for a token that is no longer valid (the app was removed, the token rotated).
    const invalidTokens = targets.filter((_, i) => {
      const r = results[i];
      return r.status === 'rejected' && r.reason instanceof ProviderError && (r.reason.statusCode === 404 || /UNREGISTERED/.test(r.reason.message));
    });
    const sent = results.find((r) => r.status === 'fulfilled');
    if (sent)
      return {
        providerMessageId: (parseJson(sent.value.text) as { name?: string } | undefined)?.name,
        status: 'SENT',
        ...(invalidTokens.length ? { invalidTokens } : {}),
      };
    const errors = results.map((r) => (r as PromiseRejectedResult).reason as ProviderError);
    if (invalidTokens.length) errors.forEach((e) => (e.invalidTokens = invalidTokens));
    if (errors.some((e) => e.statusCode === 401)) {
      // The cached access token was revoked or expired early: forget it, and let the retry
      // exchange a new one. Bad credentials fail there, permanently, at the token endpoint.
      tokens.delete(tokenKey(sa));
      throw new ProviderError('firebase-fcm rejected the access token (401)', true, undefined, 401);
    }
    throw errors.find((e) => e.transient) ?? errors[0];
  }
}
