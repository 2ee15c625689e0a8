import { z } from 'zod';
import type { Channel } from '../domain/routing';

/**
 * Every provider this platform can send through: its channel, a zod schema for its `settings`, and
 * which settings are secrets (never echoed back in full, never logged).
 */
export interface CatalogEntry {
  provider: string;
  channel: Channel;
  title: string;
  description: string;
  settings: z.ZodType<Record<string, unknown>>;
  secrets: readonly string[];
}

const email = z.string().min(3).max(320).includes('@', { message: 'must be an email address' });

// One named schema per provider, so each adapter parses its settings into a typed value.
export const smtpSettings = z.object({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(587),
  secure: z.boolean().default(false),
  username: z.string().optional(),
  password: z.string().optional(),
  from: email,
  require_tls: z
    .boolean()
    .optional()
    .describe(
      'Refuse to send (and to log in) unless the connection is encrypted: STARTTLS, or `secure`. Unset: required for every server but one on loopback. false: STARTTLS only when the server offers it.',
    ),
});
export const sesSettings = z.object({ from: email, region: z.string().optional(), configuration_set: z.string().optional() });
export const snsSettings = z.object({
  region: z.string().optional(),
  sender_id: z.string().max(11).optional(),
  sms_type: z.enum(['Transactional', 'Promotional']).default('Transactional'),
});
/** `service_account` is the service account's JSON key file, as text. */
export const fcmSettings = z.object({
  project_id: z.string().min(1),
  service_account: z.string().min(1),
  endpoint: z.url({ protocol: /^https?$/ }).optional(),
});
export const slackSettings = z.object({ bot_token: z.string().optional(), api_url: z.url({ protocol: /^https?$/ }).optional() });
export const msteamsSettings = z.object({});
/**
 * Without a `signing_secret` requests go unsigned: that is what the webhook channel uses when no
 * provider is configured, posting to the URL in the recipient's profile. A `url` here wins over the
 * profile's: a profile cannot send a configured provider's signed requests somewhere else.
 */
export const webhookSettings = z.object({
  url: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe("Where every request goes; when set, a recipient profile's webhook.url is ignored. Unset: the profile's webhook.url."),
  signing_secret: z.string().min(16).optional(),
  method: z.enum(['POST', 'PUT']).default('POST'),
});
export const inboxSettings = z.object({});
/**
 * The local stack's sms/push target (lambdas/local/capture.ts). Not in CATALOG: it is never
 * configured through /providers, only chosen by the registry's local fallback.
 */
export const localCaptureSettings = z.object({ url: z.url() });

export const CATALOG: readonly CatalogEntry[] = [
  {
    provider: 'smtp',
    channel: 'email',
    title: 'SMTP',
    description: 'Email through any SMTP server (STARTTLS or TLS).',
    settings: smtpSettings,
    secrets: ['password'],
  },
  {
    provider: 'ses',
    channel: 'email',
    title: 'Amazon SES',
    description: 'Email through Amazon SES in your own AWS account.',
    settings: sesSettings,
    secrets: [],
  },
  {
    provider: 'sns',
    channel: 'sms',
    title: 'Amazon SNS (SMS)',
    description: 'SMS through Amazon SNS in your own AWS account.',
    settings: snsSettings,
    secrets: [],
  },
  {
    provider: 'firebase-fcm',
    channel: 'push',
    title: 'Firebase Cloud Messaging (HTTP v1)',
    description: 'Push notifications to Android, iOS and web through FCM.',
    settings: fcmSettings,
    secrets: ['service_account'],
  },
  {
    provider: 'slack',
    channel: 'direct_message',
    title: 'Slack',
    description: 'Slack messages through a bot token or an incoming webhook.',
    settings: slackSettings,
    secrets: ['bot_token'],
  },
  {
    provider: 'msteams',
    channel: 'direct_message',
    title: 'Microsoft Teams',
    description: 'Microsoft Teams messages through an incoming webhook.',
    settings: msteamsSettings,
    secrets: [],
  },
  {
    provider: 'webhook',
    channel: 'webhook',
    title: 'Signed HTTP webhook',
    description: 'A JSON POST to your endpoint, signed with HMAC-SHA256.',
    settings: webhookSettings,
    secrets: ['signing_secret'],
  },
  {
    provider: 'inbox',
    channel: 'inbox',
    title: 'Built-in inbox',
    description: 'The in-app inbox this platform keeps per user.',
    settings: inboxSettings,
    secrets: [],
  },
];

export const catalogEntry = (provider: string): CatalogEntry | undefined => CATALOG.find((c) => c.provider === provider);

/**
 * A secret of 20 characters or more shows its last 4 (`********3456`): enough to recognise it,
 * never enough to use it. A shorter one shows nothing, since 4 characters of it would be too much.
 */
const SHOW_TAIL_FROM = 20;

export function redactSettings(entry: CatalogEntry | undefined, settings: Record<string, unknown>): Record<string, unknown> {
  const out = { ...settings };
  for (const key of entry?.secrets ?? []) {
    const v = out[key];
    if (typeof v === 'string' && v) out[key] = `${'*'.repeat(8)}${v.length >= SHOW_TAIL_FROM ? v.slice(-4) : ''}`;
  }
  return out;
}

/** One field of a provider's settings as the SDK's catalog lists it (`ProvidersCatalogEntry.Settings`). */
export interface CatalogSetting {
  type: string;
  required: boolean;
  values?: string[];
  description?: string;
}

interface JsonSchemaField {
  type?: string;
  enum?: unknown[];
  description?: string;
}

/** A provider's settings schema in the catalog's shape: each field's type (`enum` with its values), whether it is required, what it does. */
export function catalogSettings(entry: CatalogEntry): Record<string, CatalogSetting> {
  const schema = z.toJSONSchema(entry.settings, { io: 'input' }) as { properties?: Record<string, JsonSchemaField>; required?: string[] };
  return Object.fromEntries(
    Object.entries(schema.properties ?? {}).map(([key, field]) => [
      key,
      {
        type: field.enum ? 'enum' : (field.type ?? 'object'),
        required: schema.required?.includes(key) ?? false,
        ...(field.enum ? { values: field.enum.map(String) } : {}),
        ...(field.description ? { description: field.description } : {}),
      },
    ]),
  );
}
