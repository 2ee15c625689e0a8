import { createHmac } from 'node:crypto';
import type { z } from 'zod';
import { webhookAddress } from '../domain/addresses';
import { webhookSettings } from './catalog';
import type { ProviderAdapter, ProviderResult, ProviderSend } from './port';
import { invalidAddress, parseSettings, sharedHttp, type HttpClient } from './transport';
import { deepMerge } from '../domain/overrides';
import { wallNow } from '../shared/clock';

type WebhookSettings = z.output<typeof webhookSettings>;

/**
 * `sha256=` + hex HMAC-SHA256 of `${timestamp}.${rawBody}`. Signing the timestamp with the body lets
 * a receiver reject a replayed request whose timestamp is old.
 */
export const webhookSignature = (secret: string, timestamp: number, rawBody: string): string =>
  `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;

/** Headers the adapter owns: a profile's `headers` cannot replace them. */
const RESERVED = new Set(['content-type', 'content-length', 'host', 'x-courier-timestamp', 'x-courier-signature', 'idempotency-key']);

export interface WebhookRequest {
  url: string;
  method: 'POST' | 'PUT';
  headers: Record<string, string>;
  body: string;
}

/**
 * The recipient's profile as an `expanded` webhook request carries it: the merged profile (stored
 * and inline) without its `webhook` key, which is this request's own addressing and credentials.
 */
const expandedProfile = (profile: Record<string, unknown> | undefined): Record<string, unknown> =>
  Object.fromEntries(Object.entries(profile ?? {}).filter(([k]) => k !== 'webhook'));

/**
 * The request for one message: JSON `{ messageId, channel, recipient, content, metadata, timestamp }`
 * (`timestamp` ISO 8601, the same instant as the `x-courier-timestamp` header's epoch seconds), with
 * `profile` after `recipient` when the address says `profile: 'expanded'` (Courier's "profile data
 * merged from the profile database"; `limited`, the default, sends the ids only), signed when the
 * provider has a signing secret, with the profile's headers and authentication, to the provider's
 * url when its settings name one, else the profile's.
 */
export function webhookRequest(message: ProviderSend<'webhook'>, settings: WebhookSettings, nowSeconds: number): WebhookRequest {
  const parsed = webhookAddress.safeParse(message.address);
  if (!parsed.success) throw invalidAddress('webhook', `the webhook object is invalid (${parsed.error.issues.map((i) => i.path.join('.')).join(', ')})`);
  const address = parsed.data;
  // A provider that names a url owns the target: its signature and the place it goes belong
  // together, so a profile cannot redirect a configured provider's signed requests elsewhere. The
  // profile's url is used when the provider names none (the unconfigured webhook channel, or a
  // provider that only signs).
  // A send's provider override (`url`, `method`, `query`, `headers`, `body`) comes from the API key
  // that could reconfigure the provider itself, so it may point this message elsewhere; the egress
  // policy still applies to wherever it points.
  const override = message.override;
  const target = override?.url ?? settings.url ?? address.url;
  if (!target) throw invalidAddress('webhook', 'no url in the profile and none in the settings');
  let url = target;
  if (override?.query) {
    const u = new URL(target);
    for (const [k, v] of Object.entries(override.query)) u.searchParams.set(k, v);
    url = u.toString();
  }
  const body = JSON.stringify(
    deepMerge(
      {
        messageId: message.messageId,
        channel: message.channel,
        recipient: message.recipient,
        ...(address.profile === 'expanded' ? { profile: expandedProfile(message.profile) } : {}),
        content: message.content,
        metadata: message.metadata ?? {},
        timestamp: new Date(nowSeconds * 1000).toISOString(),
      } as Record<string, unknown>,
      override?.body,
    ),
  );
  const custom = Object.entries({ ...address.headers, ...override?.headers }).map(([k, v]) => [k.toLowerCase(), v] as const);
  const auth = address.authentication;
  return {
    url,
    method: override?.method ?? address.method ?? settings.method,
    headers: {
      ...Object.fromEntries(custom.filter(([k]) => !RESERVED.has(k))),
      ...(auth?.mode === 'basic' ? { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` } : {}),
      ...(auth?.mode === 'bearer' ? { authorization: `Bearer ${auth.token}` } : {}),
      'content-type': 'application/json',
      'x-courier-timestamp': String(nowSeconds),
      ...(settings.signing_secret ? { 'x-courier-signature': webhookSignature(settings.signing_secret, nowSeconds, body) } : {}),
      'idempotency-key': message.idempotencyKey,
    },
    body,
  };
}

/** Signed HTTP webhooks: a 2xx answer means the receiver has the message, so it counts as DELIVERED. */
export class WebhookAdapter implements ProviderAdapter<'webhook'> {
  constructor(private readonly http: HttpClient = sharedHttp()) {}

  async send(message: ProviderSend<'webhook'>): Promise<ProviderResult> {
    const settings = parseSettings(webhookSettings, message.settings, 'webhook');
    const req = webhookRequest(message, settings, Math.floor(wallNow() / 1000));
    await this.http.request({ ...req, timeoutMs: message.timeoutMs, what: 'webhook' });
    return { status: 'DELIVERED' };
  }
}
