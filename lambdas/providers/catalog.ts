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
/** A Discord webhook's URL: `.../webhooks/{webhook id}/{webhook token}`, no query (the adapter adds `wait=true`). */
const discordWebhookUrl = baseUrl.refine((u) => /\/webhooks\/\d+\/[\w-]+$/.test(new URL(u).pathname) && !/[?#]/.test(u), {
  message: 'must be a Discord webhook URL, https://discord.com/api/webhooks/{id}/{token}',
});
/**
 * A bot (`bot_token`), an incoming webhook (`webhook_url`), or both. The webhook posts to its own
 * channel only: a recipient's `channel_id` that is the webhook's channel goes through the webhook
 * (even when there is a bot too); a direct message (`user_id`) and any other channel need the bot.
 */
export const discordSettings = z
  .object({
    bot_token: z
      .string()
      .min(1)
      .optional()
      .describe(
        "The bot token (Developer Portal, Bot); sent as `Authorization: Bot <token>`. Needed for direct messages (user_id) and channels other than the webhook's; bot_token or webhook_url is required.",
      ),
    webhook_url: discordWebhookUrl
      .optional()
      .describe(
        "An incoming webhook (channel settings, Integrations, Webhooks): posts to its own channel without a bot. When both are set, a recipient's channel_id that is the webhook's channel goes through the webhook, everything else through the bot.",
      ),
    api_url: baseUrl.optional().describe('The Discord API, for the bot; unset: https://discord.com/api/v10. The webhook_url is used as it is.'),
  })
  .refine((s) => s.bot_token !== undefined || s.webhook_url !== undefined, { message: 'bot_token or webhook_url is required', path: ['bot_token'] });
export const pagerdutySettings = z.object({
  routing_key: z.string().min(1).optional().describe("The Events API v2 integration key; a recipient's pagerduty.routing_key wins."),
  event_action: z.enum(PAGERDUTY_ACTIONS).default('trigger'),
  severity: z.enum(PAGERDUTY_SEVERITIES).default('info'),
  source: z.string().min(1).optional().describe('The host or service the event is about; unset: `notifications`.'),
  api_url: baseUrl.optional().describe('The Events API; unset: https://events.pagerduty.com.'),
});
const statusCallbackUrl = baseUrl
  .optional()
  .describe('Where the vendor posts delivery status; each message adds `courier_message_id=<message id>` to its query.');
/**
 * Twilio Messages API. Basic auth with the account SID and auth token, or an API key SID and
 * secret (the account SID still names the account in the path). `from` or `messaging_service_sid`.
 * `channel: whatsapp` sends every message as WhatsApp (`whatsapp:` on From and To); a recipient
 * whose phone_number is written `whatsapp:+...` gets WhatsApp whatever the setting.
 */
export const twilioSettings = z
  .object({
    account_sid: z.string().min(1).describe('The account SID (AC...).'),
    auth_token: z.string().min(1).optional().describe("The account's auth token; or api_key_sid and api_key_secret."),
    api_key_sid: z.string().min(1).optional().describe('An API key SID (SK...), with api_key_secret, in place of the auth token.'),
    api_key_secret: z.string().min(1).optional(),
    from: z.string().min(1).optional().describe('The sender: a phone number, short code or alphanumeric sender id.'),
    messaging_service_sid: z.string().min(1).optional().describe('A Messaging Service (MG...) that picks the sender; wins over `from`.'),
    channel: z.enum(['sms', 'whatsapp']).default('sms').describe('whatsapp: every message goes as WhatsApp (`whatsapp:` on From and To).'),
    status_callback_url: statusCallbackUrl,
    api_url: baseUrl.optional().describe('The API; unset: https://api.twilio.com.'),
  })
  .refine((s) => s.from !== undefined || s.messaging_service_sid !== undefined, { message: 'from or messaging_service_sid is required', path: ['from'] })
  .refine((s) => (s.api_key_sid === undefined) === (s.api_key_secret === undefined), {
    message: 'api_key_sid and api_key_secret go together',
    path: ['api_key_secret'],
  })
  .refine((s) => s.auth_token !== undefined || s.api_key_sid !== undefined, {
    message: 'auth_token, or api_key_sid and api_key_secret, is required',
    path: ['auth_token'],
  });
/** Vonage SMS API: key and secret in the body; `from` a number or an alphanumeric sender id. */
export const vonageSettings = z.object({
  api_key: z.string().min(1),
  api_secret: z.string().min(1),
  from: z.string().min(1).describe('The sender: a number or an alphanumeric sender id.'),
  status_callback_url: statusCallbackUrl,
  api_url: baseUrl.optional().describe('The SMS API; unset: https://rest.nexmo.com.'),
});
/** MessageBird SMS API (`Authorization: AccessKey <key>`). */
export const messagebirdSettings = z.object({
  access_key: z.string().min(1),
  originator: z.string().min(1).describe('The sender: a number or an alphanumeric sender id (11 characters at most).'),
  status_callback_url: statusCallbackUrl.describe('The reportUrl for status reports; each message adds `courier_message_id=<message id>` to its query.'),
  api_url: baseUrl.optional().describe('The REST API; unset: https://rest.messagebird.com.'),
});
/** Plivo Message API: Basic auth with the auth id and token; `src` or a Powerpack. */
export const plivoSettings = z
  .object({
    auth_id: z.string().min(1),
    auth_token: z.string().min(1),
    from: z.string().min(1).optional().describe('The sender (`src`): a number or an alphanumeric sender id.'),
    powerpack_uuid: z.string().min(1).optional().describe('A Powerpack that picks the sender; wins over `from`.'),
    status_callback_url: statusCallbackUrl,
    api_url: baseUrl.optional().describe('The API; unset: https://api.plivo.com.'),
  })
  .refine((s) => s.from !== undefined || s.powerpack_uuid !== undefined, { message: 'from or powerpack_uuid is required', path: ['from'] });
/** Telnyx Messaging API v2 (`Authorization: Bearer <api key>`). */
export const telnyxSettings = z
  .object({
    api_key: z.string().min(1),
    from: z.string().min(1).optional().describe('The sender: a number on the messaging profile, or an alphanumeric sender id.'),
    messaging_profile_id: z.string().min(1).optional().describe('The messaging profile; required with an alphanumeric `from`, or alone (number pool).'),
    status_callback_url: statusCallbackUrl.describe('The webhook_url for delivery events; each message adds `courier_message_id=<message id>` to its query.'),
    api_url: baseUrl.optional().describe('The API; unset: https://api.telnyx.com.'),
  })
  .refine((s) => s.from !== undefined || s.messaging_profile_id !== undefined, { message: 'from or messaging_profile_id is required', path: ['from'] });
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
/** Apple Push Notification service, token-based: the `.p8` key signs the ES256 provider token. */
export const apnSettings = z.object({
  key_id: z.string().min(1).describe('The ID of the APNs auth key (.p8), from the Apple Developer account.'),
  team_id: z.string().min(1).describe('Your Apple Developer Team ID.'),
  private_key: z.string().min(1).describe('The .p8 auth key file, as text (PEM).'),
  topic: z.string().min(1).describe("The app's bundle ID (apns-topic)."),
  environment: z.enum(['production', 'sandbox']).default('production').describe('api.push.apple.com or api.sandbox.push.apple.com.'),
  api_url: baseUrl.optional().describe('The APNs endpoint (HTTP/2); wins over `environment`.'),
});
export const expoSettings = z.object({
  access_token: z.string().min(1).optional().describe("An Expo access token, when the project's enhanced push security requires one."),
  api_url: baseUrl.optional().describe('The Expo push API; unset: https://exp.host.'),
});
export const onesignalSettings = z.object({
  app_id: z.string().min(1).describe('The OneSignal App ID.'),
  api_key: z.string().min(1).describe("The app's REST API key; sent as `Authorization: Key <api_key>`."),
  api_url: baseUrl.optional().describe('The OneSignal API; unset: https://api.onesignal.com.'),
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
    provider: 'twilio',
    channel: 'sms',
    title: 'Twilio',
    description: 'SMS and WhatsApp through the Twilio Messages API.',
    settings: twilioSettings,
    secrets: ['auth_token', 'api_key_secret'],
  },
  {
    provider: 'vonage',
    channel: 'sms',
    title: 'Vonage (Nexmo)',
    description: 'SMS through the Vonage SMS API.',
    settings: vonageSettings,
    secrets: ['api_secret'],
  },
  {
    provider: 'messagebird',
    channel: 'sms',
    title: 'MessageBird (Bird)',
    description: 'SMS through the MessageBird SMS API.',
    settings: messagebirdSettings,
    secrets: ['access_key'],
  },
  {
    provider: 'plivo',
    channel: 'sms',
    title: 'Plivo',
    description: 'SMS through the Plivo Message API.',
    settings: plivoSettings,
    secrets: ['auth_token'],
  },
  {
    provider: 'telnyx',
    channel: 'sms',
    title: 'Telnyx',
    description: 'SMS through the Telnyx Messaging API v2.',
    settings: telnyxSettings,
    secrets: ['api_key'],
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
    provider: 'apn',
    channel: 'push',
    title: 'Apple Push Notification service',
    description: 'Push notifications to iOS, iPadOS and macOS devices through APNs (token-based auth).',
    settings: apnSettings,
    secrets: ['private_key'],
  },
  {
    provider: 'expo',
    channel: 'push',
    title: 'Expo push notifications',
    description: "Push notifications to Expo apps through Expo's push API.",
    settings: expoSettings,
    secrets: ['access_token'],
  },
  {
    provider: 'onesignal',
    channel: 'push',
    title: 'OneSignal',
    description: "Push notifications to OneSignal subscriptions through OneSignal's REST API.",
    settings: onesignalSettings,
    secrets: ['api_key'],
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
    description: "Discord messages from a bot, to a channel or as a direct message, or through an incoming webhook to the webhook's channel.",
    settings: discordSettings,
    secrets: ['bot_token', 'webhook_url'],
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
