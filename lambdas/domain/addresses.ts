import { z } from 'zod';
import type { Channel } from './routing';

/*
 * One address schema per channel: what a recipient profile must hold for the channel to reach it.
 * Routing parses the profile with these (`channelAddress` in routing.ts decides reachability) and
 * hands the parsed value to the provider adapters, whose port (providers/port.ts) is typed by the
 * channel's address type. So routing and the adapters read the same address and cannot drift: a
 * field an adapter needs is a field of the schema.
 *
 * The schemas describe the address; what a configured provider may add to it (a Slack bot token)
 * is a `Capability`, passed to routing by the worker. What one vendor alone refuses (an email
 * field holding two mailboxes) stays the adapter's check.
 */

const nonBlank = z.string().refine((s) => s.trim() !== '', 'must not be blank');
const httpUrl = z.url({ protocol: /^https?$/ });
const nonEmptyString = (v: unknown): v is string => typeof v === 'string' && v !== '';
/** Any value but undefined, null, '' and []: a token whose shape no adapter reads yet. */
const present = z.unknown().refine((v) => v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0), 'must be present');

/** `profile.email`. The email adapters also require exactly one mailbox (transport.ts `emailRecipient`). */
export const emailAddress = z.string().refine((s) => s.includes('@'), 'must be an email address');

/** `profile.phone_number`. */
export const smsAddress = nonBlank;

/** FCM registration tokens: one, or a list (one per device) holding at least one. */
export const firebaseToken = z
  .union([z.string(), z.array(z.unknown())])
  .refine((v) => (Array.isArray(v) ? v.some(nonEmptyString) : v !== ''), 'must hold a token');

/**
 * Push tokens by profile key, each read by its provider's adapter: `firebaseToken` (FCM), `apn`
 * (one or a list), `expo` (`{ token }`, `{ tokens }`), `onesignalPlayerID` (one or a list);
 * `target_arn` is an SNS endpoint any push provider may use. Besides FCM's, they only need to be
 * present here: the adapter reports a value it cannot use.
 */
export const pushTokens = z.object({ firebaseToken, apn: present, expo: present, onesignalPlayerID: present, target_arn: present });
export type PushTokenKey = keyof typeof pushTokens.shape;
/** `AddressOf<'push'>`: the usable tokens of the profile, at least one. */
export const pushAddress = pushTokens.partial();

const tokenList = (v: unknown): string[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]).filter(nonEmptyString);

/**
 * The profile with a user's stored device tokens (`/users/:id/tokens`, by provider key) added to
 * its own, each once: FCM's to `firebaseToken`, APNs' to `apn`, Expo's to `expo.tokens`,
 * OneSignal's to `onesignalPlayerID`.
 */
export function withStoredTokens<P extends Record<string, unknown>>(
  profile: P,
  stored: Partial<Record<'firebase-fcm' | 'apn' | 'expo' | 'onesignal', string[]>>,
): P {
  const out: Record<string, unknown> = { ...profile };
  const merge = (key: string, tokens: string[] | undefined) => {
    if (tokens?.length) out[key] = [...new Set([...tokenList(profile[key]), ...tokens])];
  };
  merge('firebaseToken', stored['firebase-fcm']);
  merge('apn', stored.apn);
  merge('onesignalPlayerID', stored.onesignal);
  if (stored.expo?.length) {
    const own = profile.expo;
    const expo = typeof own === 'object' && own !== null && !Array.isArray(own) ? (own as Record<string, unknown>) : nonEmptyString(own) ? { token: own } : {};
    out.expo = { ...expo, tokens: [...new Set([...tokenList(expo.tokens), ...stored.expo])] };
  }
  return out as P;
}

/** The inbox needs nothing but the recipient's user id: its address is `true` when there is one. */
export const inboxAddress = z.literal(true);

/**
 * `profile.slack`: where to post (a channel, a user id, or an email to look the user up by) and,
 * optionally, the workspace token. Without `access_token` the Slack provider's `bot_token` posts,
 * so the token is not part of the address (see `Capabilities.slackBotToken`).
 */
export const slackAddress = z
  .object({ access_token: nonBlank.optional(), channel: nonBlank.optional(), user_id: nonBlank.optional(), email: nonBlank.optional() })
  .refine((a) => a.channel !== undefined || a.user_id !== undefined || a.email !== undefined, 'must name a channel, user_id or email');
export type SlackAddress = z.output<typeof slackAddress>;

/**
 * `profile.ms_teams`, in the forms the SDK types (`MsTeams`): an incoming `webhook_url`; or a Bot
 * Framework `service_url` with one of `conversation_id` (an existing conversation), `channel_id`,
 * `channel_name` with `team_id`, `user_id` or `email`. The last four need `tenant_id` (the SDK's
 * `MsTeamsBaseProperties`): the bot opens the conversation in that tenant. A `conversation_id`
 * does not, as posting to an existing conversation names no tenant.
 */
export const teamsAddress = z
  .object({
    webhook_url: httpUrl.optional(),
    service_url: httpUrl.optional(),
    tenant_id: nonBlank.optional(),
    conversation_id: nonBlank.optional(),
    channel_id: nonBlank.optional(),
    channel_name: nonBlank.optional(),
    team_id: nonBlank.optional(),
    user_id: nonBlank.optional(),
    email: emailAddress.optional(),
  })
  .superRefine((a, ctx) => {
    if (a.webhook_url !== undefined) return;
    const need = (field: keyof typeof a, message: string) => ctx.addIssue({ code: 'custom', message, path: [field] });
    if (a.conversation_id === undefined && a.channel_id === undefined && a.channel_name === undefined && a.user_id === undefined && a.email === undefined) {
      return ctx.addIssue({
        code: 'custom',
        message: 'needs a webhook_url, or a service_url with a conversation_id, channel_id, channel_name (with team_id), user_id or email',
      });
    }
    if (a.service_url === undefined) return need('service_url', 'is required (the Bot Framework service URL of the tenant) without a webhook_url');
    if (a.conversation_id !== undefined) return;
    if (a.tenant_id === undefined) need('tenant_id', 'is required to reach a channel_id, channel_name, user_id or email');
    if (a.channel_id === undefined && a.channel_name !== undefined && a.team_id === undefined) need('team_id', 'is required with channel_name');
  });
export type TeamsAddress = z.output<typeof teamsAddress>;

/** How a Teams address is reached, in the order the forms are tried when a profile holds several. */
export type TeamsForm = 'webhook' | 'conversation' | 'channel' | 'channel_name' | 'user' | 'email';
export function teamsForm(a: TeamsAddress): TeamsForm {
  if (a.webhook_url !== undefined) return 'webhook';
  if (a.conversation_id !== undefined) return 'conversation';
  if (a.channel_id !== undefined) return 'channel';
  if (a.channel_name !== undefined && a.team_id !== undefined) return 'channel_name';
  return a.user_id !== undefined ? 'user' : 'email';
}
/** The forms a Bot Framework bot must open or find a conversation for: they need the provider's app credentials. */
export const teamsNeedsBot = (a: TeamsAddress): boolean => !['webhook', 'conversation'].includes(teamsForm(a));

/**
 * `profile.discord` (the SDK's `Discord = SendToChannel | SendDirectMessage`): a `channel_id` the
 * bot posts in, or a `user_id` it opens a direct message with. The bot token is the provider's.
 */
export const discordAddress = z
  .object({ channel_id: nonBlank.optional(), user_id: nonBlank.optional() })
  .refine((a) => a.channel_id !== undefined || a.user_id !== undefined, 'must name a channel_id or user_id');
export type DiscordAddress = z.output<typeof discordAddress>;

export const PAGERDUTY_ACTIONS = ['trigger', 'acknowledge', 'resolve'] as const;
export const PAGERDUTY_SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
/**
 * `profile.pagerduty` (the SDK's `Pagerduty`): each field optional, overriding the PagerDuty
 * provider's setting of the same name (`routing_key`, the integration key, is the credential, so
 * a recipient is reached when it or the provider has one). `null` is "not set", as the SDK types it.
 */
/** One of `values`, refused with a message that lists them (a zod enum inside `to`'s union would read "Invalid input"). */
const oneOf = <T extends string>(values: readonly T[]) =>
  z.string().refine((v): v is T => (values as readonly string[]).includes(v), `must be one of ${values.join(', ')}`) as unknown as z.ZodType<T>;
export const pagerdutyAddress = z.object({
  routing_key: nonBlank.nullish(),
  event_action: oneOf(PAGERDUTY_ACTIONS).nullish(),
  severity: oneOf(PAGERDUTY_SEVERITIES).nullish(),
  source: nonBlank.nullish(),
});
export type PagerdutyAddress = z.output<typeof pagerdutyAddress>;

/** The direct-message address: Slack, Teams, Discord and/or PagerDuty, each present only when usable. */
export const directMessageAddress = z.object({
  slack: slackAddress.optional(),
  ms_teams: teamsAddress.optional(),
  discord: discordAddress.optional(),
  pagerduty: pagerdutyAddress.optional(),
});
export type DirectMessageAddress = z.output<typeof directMessageAddress>;
/** The profile keys of the direct-message address. */
export type DirectMessageKey = keyof DirectMessageAddress;

// Checked here rather than when sending: fetch would refuse a malformed header only when called,
// which reads as a network failure and would be retried in vain.
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name');
const headerValue = z.string().regex(/^[^\r\n\0]*$/, 'must not hold line breaks');

/** Courier's `WebhookProfileType`: what of the recipient's profile the request carries (`limited`, the default: none of it here). */
export const WEBHOOK_PROFILE_TYPES = ['limited', 'expanded'] as const;

/**
 * `profile.webhook`, as Courier defines it. `url` is optional as a webhook provider's settings may
 * name one, but routing reaches the webhook channel only through a profile `url` (a provider-wide
 * url does not make every recipient reachable). `profile: 'expanded'` puts the recipient's merged
 * profile in the request body (providers/webhook.ts); `limited` or null is the default.
 */
export const webhookAddress = z.object({
  url: httpUrl.optional(),
  method: z.enum(['POST', 'PUT']).optional(),
  profile: z.enum(WEBHOOK_PROFILE_TYPES).nullish(),
  headers: z.record(headerName, headerValue).optional(),
  authentication: z
    .discriminatedUnion('mode', [
      z.object({ mode: z.literal('none') }),
      z.object({ mode: z.literal('basic'), username: z.string(), password: z.string() }),
      z.object({ mode: z.literal('bearer'), token: headerValue }),
    ])
    .optional(),
});
export type WebhookAddress = z.output<typeof webhookAddress>;

/** The address schema of every channel. */
export const ADDRESS_SCHEMAS = {
  email: emailAddress,
  sms: smsAddress,
  push: pushAddress,
  inbox: inboxAddress,
  direct_message: directMessageAddress,
  webhook: webhookAddress,
} as const satisfies Record<Channel, z.ZodType>;

/** The address a channel's providers receive: `AddressOf<'email'>` is a string, `AddressOf<'direct_message'>` the slack / ms_teams objects. */
export type AddressOf<C extends Channel> = z.output<(typeof ADDRESS_SCHEMAS)[C]>;
export type Address = AddressOf<Channel>;

/**
 * What the configured providers bring that a profile may lack; the worker derives it from the
 * providers' settings (providers/registry.ts `capabilities`), routing reads it.
 */
export interface Capabilities {
  /** A configured Slack provider has a `bot_token`, so a Slack address needs no `access_token`. */
  slackBotToken: boolean;
  /** A Teams bot (a configured msteams provider with `app_id` and `app_password`, or the local capture) can open conversations. */
  teamsBot: boolean;
  /** A Discord bot (a configured discord provider with a `bot_token`, or the local capture) posts for any Discord address. */
  discordBot: boolean;
  /** A configured discord provider has an incoming webhook, which posts for a Discord `channel_id` (its own channel; the adapter checks which). */
  discordWebhook: boolean;
  /** A configured PagerDuty provider has a `routing_key` (or the local capture stands in), so a PagerDuty address needs none. */
  pagerdutyRoutingKey: boolean;
}
export const NO_CAPABILITIES: Capabilities = { slackBotToken: false, teamsBot: false, discordBot: false, discordWebhook: false, pagerdutyRoutingKey: false };
