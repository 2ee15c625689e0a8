import { z } from 'zod';
import { PAGERDUTY_ACTIONS, PAGERDUTY_SEVERITIES } from '../domain/addresses';
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
const baseUrl = z.url({ protocol: /^https?$/ });
/**
 * Without `app_id` / `app_password` the provider posts to incoming webhooks and to existing
 * conversations unauthenticated (an emulator or a relay); with them it signs in as the bot and can
 * open conversations (`user_id`, `email`, `channel_id`, `channel_name` addresses).
 */
export const msteamsSettings = z
  .object({
    app_id: z.string().min(1).optional().describe("The bot's Microsoft App ID (the Azure app registration's client id)."),
    app_password: z.string().min(1).optional().describe("The bot's client secret."),
    app_tenant_id: z
      .string()
      .min(1)
      .optional()
      .describe("The bot's own tenant, for a single-tenant bot; unset: a multi-tenant bot (tokens from botframework.com)."),
    login_url: baseUrl.optional().describe('The Microsoft identity platform; unset: https://login.microsoftonline.com.'),
    graph_url: baseUrl.optional().describe("Microsoft Graph, which finds an email address's user (User.Read.All); unset: https://graph.microsoft.com."),
  })
  .refine((s) => (s.app_id === undefined) === (s.app_password === undefined), { message: 'app_id and app_password go together', path: ['app_password'] });
export const discordSettings = z.object({
  bot_token: z.string().min(1).describe('The bot token (Developer Portal, Bot); sent as `Authorization: Bot <token>`.'),
  api_url: baseUrl.optional().describe('The Discord API; unset: https://discord.com/api/v10.'),
});
export const pagerdutySettings = z.object({
  routing_key: z.string().min(1).optional().describe("The Events API v2 integration key; a recipient's pagerduty.routing_key wins."),
  event_action: z.enum(PAGERDUTY_ACTIONS).default('trigger'),
  severity: z.enum(PAGERDUTY_SEVERITIES).default('info'),
  source: z.string().min(1).optional().describe('The host or service the event is about; unset: `notifications`.'),
  api_url: baseUrl.optional().describe('The Events API; unset: https://events.pagerduty.com.'),
});
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
/** The email HTTP APIs (issue 16): a key, the default sender, and `api_url` for a regional endpoint or a test double. */
const apiUrl = (unset: string) => baseUrl.optional().describe(`The API's base URL; unset: ${unset}.`);
export const sendgridSettings = z.object({
  api_key: z.string().min(1).describe('A SendGrid API key with Mail Send access; sent as `Authorization: Bearer`.'),
  from: email.describe('The default sender (a verified sender or an authenticated domain); channels.email.override.from wins.'),
  api_url: apiUrl('https://api.sendgrid.com (EU subusers: https://api.eu.sendgrid.com)'),
});
export const mailgunSettings = z.object({
  api_key: z.string().min(1).describe('A Mailgun API key (or a domain sending key); sent as Basic auth, user `api`.'),
  domain: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[A-Za-z0-9.-]+$/, 'must be a domain name')
    .describe('The sending domain (`/v3/<domain>/messages`).'),
  from: email.describe('The default sender; channels.email.override.from wins.'),
  region: z.enum(['us', 'eu']).default('us').describe('us: https://api.mailgun.net; eu: https://api.eu.mailgun.net.'),
  api_url: apiUrl('by region'),
});
export const postmarkSettings = z.object({
  server_token: z.string().min(1).describe('The Postmark server API token; sent as `X-Postmark-Server-Token`.'),
  from: email.describe('The default sender (a confirmed sender signature); channels.email.override.from wins.'),
  message_stream: z.string().min(1).max(100).default('outbound').describe('The transactional message stream (`MessageStream`).'),
  api_url: apiUrl('https://api.postmarkapp.com'),
});
export const resendSettings = z.object({
  api_key: z.string().min(1).describe('A Resend API key; sent as `Authorization: Bearer`.'),
  from: email.describe('The default sender (a verified domain); channels.email.override.from wins.'),
  api_url: apiUrl('https://api.resend.com'),
});
export const sparkpostSettings = z.object({
  api_key: z.string().min(1).describe('A SparkPost API key with Transmissions: Read/Write; sent as `Authorization`.'),
  from: email.describe('The default sender (a verified sending domain); channels.email.override.from wins.'),
  region: z.enum(['us', 'eu']).default('us').describe('us: https://api.sparkpost.com; eu: https://api.eu.sparkpost.com.'),
  api_url: apiUrl('by region'),
});
export const mailjetSettings = z.object({
  api_key: z.string().min(1).describe('The Mailjet API key (Basic auth user).'),
  api_secret: z.string().min(1).describe('The Mailjet secret key (Basic auth password).'),
  from: email.describe('The default sender (a validated sender or domain); channels.email.override.from wins.'),
  api_url: apiUrl('https://api.mailjet.com (US: https://api.us.mailjet.com)'),
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
    provider: 'sendgrid',
    channel: 'email',
    title: 'SendGrid',
    description: "Email through Twilio SendGrid's v3 Mail Send API.",
    settings: sendgridSettings,
    secrets: ['api_key'],
  },
  {
    provider: 'mailgun',
    channel: 'email',
    title: 'Mailgun',
    description: "Email through Mailgun's messages API (US or EU region).",
    settings: mailgunSettings,
    secrets: ['api_key'],
  },
  {
    provider: 'postmark',
    channel: 'email',
    title: 'Postmark',
    description: "Email through Postmark's email API, on a server's message stream.",
    settings: postmarkSettings,
    secrets: ['server_token'],
  },
  {
    provider: 'resend',
    channel: 'email',
    title: 'Resend',
    description: "Email through Resend's emails API.",
    settings: resendSettings,
    secrets: ['api_key'],
  },
  {
    provider: 'sparkpost',
    channel: 'email',
    title: 'SparkPost',
    description: "Email through SparkPost's transmissions API (US or EU).",
    settings: sparkpostSettings,
    secrets: ['api_key'],
  },
  {
    provider: 'mailjet',
    channel: 'email',
    title: 'Mailjet',
    description: "Email through Mailjet's Send API v3.1.",
    settings: mailjetSettings,
    secrets: ['api_key', 'api_secret'],
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
    description: 'Microsoft Teams messages through an incoming webhook, or a Bot Framework bot (users, channels, conversations).',
    settings: msteamsSettings,
    secrets: ['app_password'],
  },
  {
    provider: 'discord',
    channel: 'direct_message',
    title: 'Discord',
    description: 'Discord messages from a bot, to a channel or as a direct message.',
    settings: discordSettings,
    secrets: ['bot_token'],
  },
  {
    provider: 'pagerduty',
    channel: 'direct_message',
    title: 'PagerDuty',
    description: 'PagerDuty alerts through the Events API v2.',
    settings: pagerdutySettings,
    secrets: ['routing_key'],
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
