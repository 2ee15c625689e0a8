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
 * Push tokens by profile key. `firebaseToken` is what the FCM adapter reads; `apn`, `expo` and
 * `onesignalPlayerID` belong to providers without an adapter yet, and `target_arn` is an SNS
 * endpoint any push provider may use: they only need to be present.
 */
export const pushTokens = z.object({ firebaseToken, apn: present, expo: present, onesignalPlayerID: present, target_arn: present });
export type PushTokenKey = keyof typeof pushTokens.shape;
/** `AddressOf<'push'>`: the usable tokens of the profile, at least one. */
export const pushAddress = pushTokens.partial();

/** The profile with `tokens` (a user's stored FCM device tokens) added to its own `firebaseToken`(s), each once. */
export function withFirebaseTokens<P extends Record<string, unknown>>(profile: P, tokens: string[]): P {
  const own = profile.firebaseToken;
  const mine = (Array.isArray(own) ? own : own === undefined || own === null ? [] : [own]).filter((t): t is string => typeof t === 'string' && t !== '');
  return { ...profile, firebaseToken: [...new Set([...mine, ...tokens])] };
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

/** `profile.ms_teams`: an incoming webhook URL, or a Bot Framework service URL with a conversation or user id. */
export const teamsAddress = z
  .object({ webhook_url: httpUrl.optional(), service_url: httpUrl.optional(), conversation_id: nonBlank.optional(), user_id: nonBlank.optional() })
  .refine(
    (a) => a.webhook_url !== undefined || (a.service_url !== undefined && (a.conversation_id !== undefined || a.user_id !== undefined)),
    'needs a webhook_url, or a service_url with a conversation_id or user_id',
  );
export type TeamsAddress = z.output<typeof teamsAddress>;

/** The direct-message address: Slack and/or Teams, each present only when usable. */
export const directMessageAddress = z.object({ slack: slackAddress.optional(), ms_teams: teamsAddress.optional() });
export type DirectMessageAddress = z.output<typeof directMessageAddress>;

// Checked here rather than when sending: fetch would refuse a malformed header only when called,
// which reads as a network failure and would be retried in vain.
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name');
const headerValue = z.string().regex(/^[^\r\n\0]*$/, 'must not hold line breaks');

/**
 * `profile.webhook`, as Courier defines it (its `profile` option is not used). `url` is optional as
 * a webhook provider's settings may name one, but routing reaches the webhook channel only through
 * a profile `url` (a provider-wide url does not make every recipient reachable).
 */
export const webhookAddress = z.object({
  url: httpUrl.optional(),
  method: z.enum(['POST', 'PUT']).optional(),
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
}
export const NO_CAPABILITIES: Capabilities = { slackBotToken: false };
