import { z } from 'zod';
import {
  discordAddress,
  emailAddress,
  pagerdutyAddress,
  pushAddress,
  pushTokens,
  slackAddress,
  smsAddress,
  teamsAddress,
  webhookAddress,
  type Address,
  type Capabilities,
  teamsNeedsBot,
  type DirectMessageAddress,
  type DirectMessageKey,
  type PushTokenKey,
  type SlackAddress,
} from './addresses';

export const CHANNELS = ['email', 'sms', 'push', 'inbox', 'direct_message', 'webhook'] as const;
export type Channel = (typeof CHANNELS)[number];

export type RoutingMethod = 'single' | 'all';
export type RoutingNode = string | { method: RoutingMethod; channels: RoutingNode[] };
export interface Routing {
  method: RoutingMethod;
  channels: RoutingNode[];
}

/** A delivery target: a channel, optionally pinned to one provider. */
export interface Target {
  channel: Channel;
  provider?: string;
}

/** The channel each provider key delivers on; a routing entry naming a provider pins that provider. */
export const PROVIDER_CHANNELS: Record<string, Channel> = {
  sendgrid: 'email',
  ses: 'email',
  smtp: 'email',
  mailgun: 'email',
  postmark: 'email',
  resend: 'email',
  sparkpost: 'email',
  mailjet: 'email',
  twilio: 'sms',
  vonage: 'sms',
  messagebird: 'sms',
  plivo: 'sms',
  telnyx: 'sms',
  sns: 'sms',
  'firebase-fcm': 'push',
  apn: 'push',
  expo: 'push',
  onesignal: 'push',
  slack: 'direct_message',
  msteams: 'direct_message',
  // Courier files Discord under direct messages and PagerDuty under "other"; this stack has no
  // "other" channel, and both reach one recipient's chat or on-call service, so both are direct messages.
  discord: 'direct_message',
  pagerduty: 'direct_message',
  courier: 'inbox',
  inbox: 'inbox',
  webhook: 'webhook',
};

const isChannel = (entry: string): entry is Channel => (CHANNELS as readonly string[]).includes(entry);

/**
 * Maps a routing or custom-routing entry to a target: `'email'` -> `{ channel: 'email' }`,
 * `'slack'` -> `{ channel: 'direct_message', provider: 'slack' }`, anything else -> undefined.
 * A channel id wins over a provider key of the same name (`inbox`, `webhook`), so those keep
 * their channel's full provider list.
 */
export function toTarget(entry: string): Target | undefined {
  if (isChannel(entry)) return { channel: entry };
  // Own keys only: an entry such as 'constructor' must not find Object.prototype.
  return Object.hasOwn(PROVIDER_CHANNELS, entry) ? { channel: PROVIDER_CHANNELS[entry], provider: entry } : undefined;
}

export const targetKey = (t: Target): string => (t.provider ? `${t.channel}:${t.provider}` : t.channel);

/** A channel id or a provider key, as routing entries, custom routing and Elemental `channel(s)` use them. */
export const channelEntrySchema = z
  .string()
  .refine((entry) => toTarget(entry) !== undefined, { error: (issue) => `unknown channel or provider "${String(issue.input)}"` });

/**
 * A routing entry: a channel, a provider key this stack knows, or any other provider key (an SDK
 * user's routing may name a provider this stack does not have): such an entry is never reachable,
 * and a recipient that reaches nothing else ends UNROUTABLE naming it (RoutingStep.unknown), the
 * rest of the send going on. Only a malformed entry is a 400.
 */
const routingEntrySchema = z.string().regex(/^[a-z0-9][a-z0-9_.:-]{0,63}$/i, 'must be a channel or a provider key');

/** Routing groups nest at most this deep, the top-level group counting as 1. */
export const MAX_ROUTING_DEPTH = 4;

const groupShape = z.strictObject({
  method: z.enum(['single', 'all']),
  channels: z.array(z.unknown()).min(1, 'must list at least one channel'),
});

/**
 * Validates the tree by hand rather than with `z.union([entry, group])`: a zod union reports a bad
 * nested field only as "Invalid input" on the whole group, while this names the field
 * (`routing.channels.1.channels.0: unknown channel or provider "fax"`).
 */
function checkGroup(value: unknown, depth: number, path: (string | number)[], ctx: z.RefinementCtx): void {
  const shape = groupShape.safeParse(value);
  if (!shape.success) {
    for (const issue of shape.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: [...path, ...issue.path.map(String)] });
    return;
  }
  if (depth > MAX_ROUTING_DEPTH) {
    ctx.addIssue({ code: 'custom', message: `routing groups nest at most ${MAX_ROUTING_DEPTH} deep`, path });
    return;
  }
  shape.data.channels.forEach((child, i) => {
    const at = [...path, 'channels', i];
    if (typeof child === 'object' && child !== null && !Array.isArray(child)) return checkGroup(child, depth + 1, at, ctx);
    const entry = routingEntrySchema.safeParse(child);
    if (!entry.success) ctx.addIssue({ code: 'custom', message: entry.error.issues[0].message, path: at });
  });
}

/** `message.routing`: `{ method, channels }`, channels being channel ids, provider keys or nested groups. */
export const routingSchema = z.custom<Routing>().superRefine((value, ctx) => checkGroup(value, 1, [], ctx));

/**
 * Used when neither the message nor its template has routing. `single` so the recipient gets one
 * copy, not one per channel; email first as the channel nearly every profile has, then the channels
 * that need a device or workspace; inbox last because any recipient with a user_id reaches it, so
 * anywhere earlier it would shadow every channel after it.
 */
export const DEFAULT_ROUTING: Routing = { method: 'single', channels: ['email', 'sms', 'push', 'direct_message', 'webhook', 'inbox'] };

/** Custom routing from preferences replaces the message routing: all listed targets are delivered. */
export function customRouting(entries: string[]): Routing {
  return { method: 'all', channels: [...entries] };
}

type Obj = Record<string, unknown>;

/** The profile key of each push provider's token (`target_arn`, an SNS endpoint, is used by any). */
const PUSH_TOKEN_KEYS: Record<string, PushTokenKey> = { 'firebase-fcm': 'firebaseToken', apn: 'apn', expo: 'expo', onesignal: 'onesignalPlayerID' };

/** What a target's reachability depends on besides the profile. */
export interface Reach extends Capabilities {
  /** The recipient has a user id (all the inbox needs). */
  hasUserId: boolean;
}

/** A Slack address reaches the recipient with a token: its own `access_token`, or the Slack provider's `bot_token`. */
const slackReachable = (address: SlackAddress, reach: Reach): boolean => address.access_token !== undefined || reach.slackBotToken;

/** The direct-message provider of each profile key: a target pinned to a provider reads only its key. */
export const DIRECT_MESSAGE_PROVIDERS: Record<DirectMessageKey, string> = { slack: 'slack', ms_teams: 'msteams', discord: 'discord', pagerduty: 'pagerduty' };

/** The usable direct-message address under one profile key, or undefined. */
function directMessagePart(key: DirectMessageKey, value: unknown, reach: Reach): DirectMessageAddress[DirectMessageKey] {
  switch (key) {
    case 'slack': {
      const slack = slackAddress.safeParse(value).data;
      return slack && slackReachable(slack, reach) ? slack : undefined;
    }
    case 'ms_teams': {
      const teams = teamsAddress.safeParse(value).data;
      return teams && (!teamsNeedsBot(teams) || reach.teamsBot) ? teams : undefined;
    }
    case 'discord': {
      const discord = discordAddress.safeParse(value).data;
      return discord && (reach.discordBot || (reach.discordWebhook && discord.channel_id !== undefined)) ? discord : undefined;
    }
    case 'pagerduty': {
      const pagerduty = pagerdutyAddress.safeParse(value).data;
      return pagerduty && (typeof pagerduty.routing_key === 'string' || reach.pagerdutyRoutingKey) ? pagerduty : undefined;
    }
  }
}

/**
 * The address a profile offers a target, parsed with its channel's schema (domain/addresses.ts),
 * or undefined when the target cannot reach it:
 * - email: the `email` string; sms: `phone_number`;
 * - push: the usable tokens among `firebaseToken`, `apn`, `expo`, `onesignalPlayerID`, `target_arn`
 *   (only the pinned provider's token when a push provider is pinned);
 * - inbox: `true` when the recipient has a user id, the only thing the inbox needs;
 * - direct_message: `{ slack?, ms_teams?, discord?, pagerduty? }`, each present only when usable
 *   (Slack: one of `channel` / `user_id` / `email`, and a token: its `access_token` or a configured
 *   Slack `bot_token`; Teams: one of its forms (addresses.ts `teamsAddress`), those that open a
 *   conversation only with a Teams bot; Discord: `channel_id` or `user_id` with a Discord bot, `channel_id` with a Discord webhook;
 *   PagerDuty: the object, with a `routing_key` of its own or the provider's), and only the pinned
 *   provider's key for `slack` / `msteams` / `discord` / `pagerduty`;
 * - webhook: the `webhook` object when it has an http(s) `url`.
 */
export function channelAddress(target: Target, profile: Obj, reach: Reach): Address | undefined {
  const parse = <T>(schema: z.ZodType<T>, value: unknown): T | undefined => schema.safeParse(value).data;
  switch (target.channel) {
    case 'email':
      return parse(emailAddress, profile.email);
    case 'sms':
      return parse(smsAddress, profile.phone_number);
    case 'push': {
      const pinned = target.provider && Object.hasOwn(PUSH_TOKEN_KEYS, target.provider) ? PUSH_TOKEN_KEYS[target.provider] : undefined;
      const keys = pinned ? [pinned] : (Object.keys(pushTokens.shape) as PushTokenKey[]);
      const usable = keys.filter((key) => pushTokens.shape[key].safeParse(profile[key]).success);
      return usable.length > 0 ? pushAddress.parse(Object.fromEntries(usable.map((key) => [key, profile[key]]))) : undefined;
    }
    case 'inbox':
      return reach.hasUserId ? true : undefined;
    case 'direct_message': {
      const keys = (Object.keys(DIRECT_MESSAGE_PROVIDERS) as DirectMessageKey[]).filter(
        (k) => !target.provider || DIRECT_MESSAGE_PROVIDERS[k] === target.provider,
      );
      const parts = keys.map((k) => [k, directMessagePart(k, profile[k], reach)] as const).filter(([, part]) => part !== undefined);
      return parts.length > 0 ? (Object.fromEntries(parts) as DirectMessageAddress) : undefined;
    }
    case 'webhook': {
      const webhook = parse(webhookAddress, profile.webhook);
      return webhook?.url !== undefined ? webhook : undefined;
    }
  }
}

export type Outcome = 'delivered' | 'failed' | 'pending';
export interface RoutingState {
  /** By target key (`email`, `direct_message:slack`). A target without an entry was never attempted. */
  outcomes: Record<string, Outcome>;
}
export interface RoutingStep {
  /** Targets to attempt now: reachable and never attempted. */
  start: Target[];
  /** Nothing more will be attempted. */
  done: boolean;
  /** The tree as a whole succeeded (meaningful when done). */
  delivered: boolean;
  /** Targets skipped because the profile lacks their address. */
  unreachable: Target[];
  /** Entries the walk met that name no channel or provider this stack has. */
  unknown: string[];
}

/**
 * How a node stands: `skipped` means it holds no reachable target (unknown entries included), so a
 * `single` parent moves past it without it counting as a failure.
 */
type NodeStatus = 'delivered' | 'failed' | 'pending' | 'skipped';

interface Walk {
  reachable: (t: Target) => boolean;
  outcomes: Record<string, Outcome>;
  start: Map<string, Target>;
  unreachable: Map<string, Target>;
  unknown: Set<string>;
}

function visit(node: RoutingNode, walk: Walk): NodeStatus {
  if (typeof node !== 'string') return visitGroup(node, walk);
  const target = toTarget(node);
  if (!target) {
    walk.unknown.add(node);
    return 'skipped';
  }
  const key = targetKey(target);
  // A recorded outcome wins over reachability: the attempt was made, whatever the profile says now.
  const outcome = walk.outcomes[key];
  if (outcome) return outcome;
  if (!walk.reachable(target)) {
    walk.unreachable.set(key, target);
    return 'skipped';
  }
  walk.start.set(key, target);
  return 'pending';
}

function visitGroup(group: Routing, walk: Walk): NodeStatus {
  if (group.method === 'single') {
    // Children after the first one that delivered or is under way are not visited at all, so they
    // are neither started nor reported unreachable.
    let failed = false;
    for (const child of group.channels) {
      const status = visit(child, walk);
      if (status === 'delivered' || status === 'pending') return status;
      failed ||= status === 'failed';
    }
    return failed ? 'failed' : 'skipped';
  }
  // `all` succeeds when at least one child delivered: the recipient was notified, and one provider
  // outage on a secondary channel should not turn the message UNDELIVERABLE. It settles only once no
  // child is under way, so a parent `single` does not fall back while a sibling may still deliver.
  const statuses = group.channels.map((child) => visit(child, walk));
  if (statuses.includes('pending')) return 'pending';
  if (statuses.includes('delivered')) return 'delivered';
  return statuses.includes('failed') ? 'failed' : 'skipped';
}

/**
 * One step of delivery over a routing tree. Delivery is asynchronous (retries go through the
 * queue), so the worker calls this again whenever an outcome changes; it is pure and idempotent:
 * a target with any recorded outcome, `pending` included, is never started again.
 *
 * `single` tries children in order, skipping unreachable ones and moving on when a child fails,
 * and stops at the first that delivers. `all` attempts every reachable child (see `visitGroup` for
 * when it counts as delivered). A nested group succeeds or fails as a whole. A tree with no
 * reachable target at all is done and not delivered, with nothing to start: the caller reports
 * UNROUTABLE (`NO_CHANNELS`).
 */
export function nextSteps(routing: Routing, reachable: (t: Target) => boolean, state: RoutingState): RoutingStep {
  const walk: Walk = { reachable, outcomes: state.outcomes, start: new Map(), unreachable: new Map(), unknown: new Set() };
  const status = visitGroup(routing, walk);
  return {
    start: [...walk.start.values()],
    done: status !== 'pending',
    delivered: status === 'delivered',
    unreachable: [...walk.unreachable.values()],
    unknown: [...walk.unknown],
  };
}
