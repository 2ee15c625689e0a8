import { createHash } from 'node:crypto';
import { discordAddress } from '../domain/addresses';
import type { RenderedOutput } from '../domain/render';
import { discordSettings } from './catalog';
import { httpFailure, ProviderError, type ProviderAdapter, type ProviderResult, type ProviderSend } from './port';
import { invalidAddress, parseJson, parseSettings, sharedHttp, withOverride, type HttpClient, type HttpReply } from './transport';
import { deepMerge } from '../domain/overrides';

const DISCORD_API = 'https://discord.com/api/v10';
/** Discord refuses a message `content` over 2000 characters. */
const MAX_CONTENT = 2000;
/** Discord's `nonce` is at most 25 characters. */
const NONCE_LENGTH = 25;

/** The rendered direct message as Discord markdown: the title in bold, then the text, cut to 2000 characters. */
export function discordContent(content: RenderedOutput): string {
  const text = content.text ?? content.body ?? '';
  const whole = content.title ? `**${content.title}**${text ? `\n\n${text}` : ''}` : text;
  return whole.length > MAX_CONTENT ? `${whole.slice(0, MAX_CONTENT - 1)}…` : whole;
}

/**
 * The Create Message body. `allowed_mentions: { parse: [] }` keeps rendered data from pinging
 * `@everyone` or a role; `nonce` with `enforce_nonce` makes Discord answer a retry of the same
 * message (same idempotency key, within its few-minute window) with the message it already made.
 */
export const discordMessage = (message: ProviderSend<'direct_message'>) => ({
  content: discordContent(message.content),
  allowed_mentions: { parse: [] },
  nonce: createHash('sha256').update(message.idempotencyKey).digest('base64url').slice(0, NONCE_LENGTH),
  enforce_nonce: true,
});

/**
 * A 429 carries `retry_after` (seconds, fractional) in its JSON body as well as the header; the
 * body's is the more precise, and a global limit may send only the body.
 */
function discordRateLimit(reply: HttpReply): ProviderError | undefined {
  if (reply.status !== 429) return undefined;
  const seconds = (parseJson(reply.text) as { retry_after?: unknown } | undefined)?.retry_after;
  const header = Number(reply.headers.get('retry-after'));
  const retryAfter = typeof seconds === 'number' && Number.isFinite(seconds) ? seconds : Number.isFinite(header) ? header : undefined;
  return new ProviderError('discord answered 429', true, retryAfter === undefined ? undefined : Math.ceil(retryAfter * 1000), 429);
}

/** Discord's answer to an incoming webhook that no longer works: deleted (404), or its token wrong (401, 403). */
function deadWebhook(reply: HttpReply): ProviderError | undefined {
  if (![401, 403, 404].includes(reply.status)) return undefined;
  return new ProviderError(`discord webhook answered ${reply.status}: the webhook was deleted or its token is wrong`, false, undefined, reply.status);
}

/** The Execute Webhook body: the content as a bot posts it, no mentions parsed. A webhook message has no nonce (Discord documents none). */
export const discordWebhookMessage = (message: ProviderSend<'direct_message'>) => ({
  content: discordContent(message.content),
  allowed_mentions: { parse: [] },
});

/**
 * Discord messages from a bot, or through an incoming webhook (settings in catalog.ts
 * `discordSettings`).
 *
 * The bot: to `channel_id` with `POST /channels/{id}/messages`, or to `user_id` by opening the DM
 * channel (`POST /users/@me/channels`) and posting there, each with `Authorization: Bot <token>`.
 *
 * The webhook posts to its own channel only, so a `channel_id` recipient first reads the webhook
 * (`GET <webhook_url>`, no auth: Get Webhook with Token) and is sent through it only when that is
 * the webhook's channel: `POST <webhook_url>?wait=true` (no auth; `wait` makes Discord answer with
 * the message, whose id we keep). Another channel, or a `user_id` (a webhook cannot send a direct
 * message), goes through the bot, or fails permanently without one: never to a channel the
 * recipient did not name.
 *
 * 429 and 5xx are retried (429 after its `retry_after`); 401, 403 (no access to the channel, DMs
 * closed; for a webhook, a wrong token) and 404 (a deleted channel or webhook) are permanent.
 * Discord messages have no metadata field, so our message id is not carried (Discord sends no
 * delivery events to map back).
 */
export class DiscordAdapter implements ProviderAdapter<'direct_message'> {
  constructor(private readonly http: HttpClient = sharedHttp()) {}

  async send(message: ProviderSend<'direct_message'>): Promise<ProviderResult> {
    const settings = parseSettings(discordSettings, message.settings, 'discord');
    const parsed = discordAddress.safeParse(message.address.discord);
    if (!parsed.success) throw invalidAddress('discord', 'the profile has no usable discord object');
    const call = async (
      request: { url: string; method?: 'GET'; headers?: Record<string, string>; body?: unknown; what: 'discord' | 'discord dm channel' | 'discord webhook' },
      override?: ProviderSend['override'],
    ): Promise<Record<string, unknown>> => {
      const { body, ...rest } = request;
      const reply = await this.http.exchange(
        withOverride(
          {
            ...rest,
            ...(body === undefined ? {} : { headers: { ...rest.headers, 'content-type': 'application/json' }, body: JSON.stringify(body) }),
            timeoutMs: message.timeoutMs,
          },
          override,
        ),
      );
      const failure =
        discordRateLimit(reply) ??
        (request.what === 'discord webhook' ? deadWebhook(reply) : undefined) ??
        httpFailure(reply.status, reply.headers.get('retry-after'), request.what);
      if (failure) throw failure;
      return (parseJson(reply.text) as Record<string, unknown> | undefined) ?? {};
    };
    const { channel_id: channelId, user_id: userId } = parsed.data;
    const sentAs = (sent: Record<string, unknown>): ProviderResult => ({
      providerMessageId: typeof sent.id === 'string' ? sent.id : undefined,
      status: 'SENT',
    });

    if (settings.webhook_url !== undefined && channelId !== undefined) {
      const hook = await call({ url: settings.webhook_url, method: 'GET', what: 'discord webhook' });
      if (typeof hook.channel_id !== 'string') throw new ProviderError('discord webhook answered without its channel_id', true);
      if (hook.channel_id === channelId) {
        const url = new URL(settings.webhook_url);
        url.searchParams.set('wait', 'true');
        return sentAs(
          await call(
            { url: url.toString(), body: deepMerge(discordWebhookMessage(message), message.override?.body), what: 'discord webhook' },
            message.override,
          ),
        );
      }
      if (settings.bot_token === undefined)
        throw invalidAddress('discord', `the webhook posts to channel ${hook.channel_id}, not ${channelId}, and there is no bot_token for other channels`);
    }
    if (settings.bot_token === undefined) throw invalidAddress('discord', 'a webhook cannot send a direct message: user_id needs a bot_token');

    const api = (settings.api_url ?? DISCORD_API).replace(/\/$/, '');
    const bot = { authorization: `Bot ${settings.bot_token}` };
    let channel = channelId;
    if (channel === undefined) {
      const dm = await call({ url: `${api}/users/@me/channels`, headers: bot, body: { recipient_id: userId }, what: 'discord dm channel' });
      if (typeof dm.id !== 'string') throw new ProviderError('discord dm channel answered without a channel id', true);
      channel = dm.id;
    }
    // The provider override applies to the message's own call (its body deep-merged into it), not to opening the DM channel or reading the webhook.
    return sentAs(
      await call(
        {
          url: `${api}/channels/${encodeURIComponent(channel)}/messages`,
          headers: bot,
          body: deepMerge(discordMessage(message), message.override?.body),
          what: 'discord',
        },
        message.override,
      ),
    );
  }
}
