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

/**
 * Discord messages from a bot: to `channel_id` with `POST /channels/{id}/messages`, or to `user_id`
 * by opening the DM channel (`POST /users/@me/channels`) and posting there, each with
 * `Authorization: Bot <token>`. 429 and 5xx are retried (429 after its `retry_after`); 401, 403
 * (no access to the channel, DMs closed) and 404 are permanent.
 */
export class DiscordAdapter implements ProviderAdapter<'direct_message'> {
  constructor(private readonly http: HttpClient = sharedHttp()) {}

  async send(message: ProviderSend<'direct_message'>): Promise<ProviderResult> {
    const settings = parseSettings(discordSettings, message.settings, 'discord');
    const parsed = discordAddress.safeParse(message.address.discord);
    if (!parsed.success) throw invalidAddress('discord', 'the profile has no usable discord object');
    const api = (settings.api_url ?? DISCORD_API).replace(/\/$/, '');
    const call = async (path: string, body: unknown, what: string, override?: ProviderSend['override']): Promise<Record<string, unknown>> => {
      const request = withOverride(
        {
          url: `${api}${path}`,
          headers: { authorization: `Bot ${settings.bot_token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
          timeoutMs: message.timeoutMs,
          what,
        },
        override,
      );
      const reply = await this.http.exchange(request);
      const failure = discordRateLimit(reply) ?? httpFailure(reply.status, reply.headers.get('retry-after'), what);
      if (failure) throw failure;
      return (parseJson(reply.text) as Record<string, unknown> | undefined) ?? {};
    };
    let channelId = parsed.data.channel_id;
    if (channelId === undefined) {
      const dm = await call('/users/@me/channels', { recipient_id: parsed.data.user_id }, 'discord dm channel');
      if (typeof dm.id !== 'string') throw new ProviderError('discord dm channel answered without a channel id', true);
      channelId = dm.id;
    }
    // The provider override applies to the message's own call (its body deep-merged into it), not to opening the DM channel.
    const sent = await call(
      `/channels/${encodeURIComponent(channelId)}/messages`,
      deepMerge(discordMessage(message), message.override?.body),
      'discord',
      message.override,
    );
    return { providerMessageId: typeof sent.id === 'string' ? sent.id : undefined, status: 'SENT' };
  }
}
