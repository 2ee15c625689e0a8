import { z } from 'zod';
import { conditionSchema, MESSAGE_SCOPE } from './conditions';
import { CHANNELS, routingSchema, type Channel, type Routing } from './routing';

/**
 * Routing strategies (`/routing-strategies`): a named routing tree with per-channel and
 * per-provider settings, which a notification template names by `routing.strategy_id`. At send
 * time the strategy's routing routes the recipient as a template's own routing would, and its
 * channel settings apply as a send's `message.channels` would. Of those settings only what
 * delivery honours is accepted (a channel's `providers`, its preferred providers in order, and
 * `if`, the condition of a channel or a provider, under the send's own); the
 * SDK's other fields must be absent or null (an `override` may also be `{}`, which overrides
 * nothing), and anything else is refused, never stored and ignored.
 */

const notSupported = (field: string) => z.null({ error: `${field} is not supported in a routing strategy: omit it or send null` }).optional();

/** An override that overrides nothing (absent, null or `{}`); overrides are not supported. */
const emptyOverride = z
  .record(z.string(), z.unknown())
  .nullish()
  .refine((v) => v == null || Object.keys(v).length === 0, 'override is not supported in a routing strategy: omit it, or send null or {}');

const providerKey = z.string().min(1).max(64);

/** The SDK's `Channel`: `providers` (the channel's providers, in order of preference) and `if` are honoured. */
const channelSettings = z.strictObject({
  providers: z.array(providerKey).max(10).nullish(),
  override: emptyOverride,
  brand_id: notSupported('brand_id'),
  if: conditionSchema(MESSAGE_SCOPE),
  metadata: notSupported('metadata'),
  routing_method: notSupported('routing_method'),
  timeouts: notSupported('timeouts'),
});

/** The SDK's `MessageProvidersType`: of its settings only `if` is honoured. */
const providerSettings = z.strictObject({
  override: emptyOverride,
  if: conditionSchema(MESSAGE_SCOPE),
  metadata: notSupported('metadata'),
  timeouts: notSupported('timeouts'),
});

/** The body of POST and PUT /routing-strategies[/:id]; PUT replaces the whole strategy. */
export const strategyBodySchema = z.object({
  name: z.string().min(1).max(256),
  routing: routingSchema,
  channels: z.partialRecord(z.enum(CHANNELS), channelSettings).nullish(),
  providers: z.record(providerKey, providerSettings).nullish(),
  description: z.string().max(4096).nullish(),
  tags: z.array(z.string().min(1).max(128)).max(50).nullish(),
});
export type StrategyBody = z.infer<typeof strategyBodySchema>;

/** A channel's settings as a strategy stores them: its preferred providers, in order, and its condition. */
export type StrategyChannels = Partial<Record<Channel, { providers?: string[]; if?: string }>>;
/** A provider's settings as a strategy stores them: an empty override as given, and its condition. */
export type StrategyProviders = Record<string, { override?: Record<string, never>; if?: string }>;

/**
 * What a strategy stores of a body: absent and null settings stored as not set, so a replace
 * clears what it omits; an empty `override` is kept as given.
 */
export function strategyOf(body: StrategyBody): {
  name: string;
  routing: Routing;
  channels: StrategyChannels;
  providers: StrategyProviders;
  description: string | null;
  tags: string[] | null;
} {
  const channels: StrategyChannels = {};
  for (const [channel, settings] of Object.entries(body.channels ?? {}) as [Channel, { providers?: string[] | null; if?: string | null } | undefined][]) {
    channels[channel] = { ...(settings?.providers ? { providers: settings.providers } : {}), ...(settings?.if ? { if: settings.if } : {}) };
  }
  return {
    name: body.name,
    routing: body.routing,
    channels,
    providers: Object.fromEntries(
      Object.entries(body.providers ?? {}).map(([key, settings]) => [
        key,
        { ...(settings.override ? { override: {} } : {}), ...(settings.if ? { if: settings.if } : {}) },
      ]),
    ),
    description: body.description ?? null,
    tags: body.tags ?? null,
  };
}

/**
 * The providers a channel prefers, in order, at send time: the message's `channels[ch].providers`,
 * else the template's routing strategy's; undefined when neither names any.
 */
export function preferredProviders(
  channel: Channel,
  message: Partial<Record<string, { providers?: string[] }>> | undefined,
  strategy: StrategyChannels | undefined,
): string[] | undefined {
  const own = message?.[channel]?.providers;
  if (own?.length) return own;
  const fromStrategy = strategy?.[channel]?.providers;
  return fromStrategy?.length ? fromStrategy : undefined;
}
