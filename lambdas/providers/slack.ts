import { slackAddress } from '../domain/addresses';
import type { OutputBlock, RenderedOutput } from '../domain/render';
import { config } from '../shared/config';
import { slackSettings } from './catalog';
import { httpFailure, ProviderError, type ProviderAdapter, type ProviderResult, type ProviderSend } from './port';
import { invalidAddress, parseJson, parseSettings, retryAfterMs, sharedHttp, withOverride, type HttpClient, type HttpReply } from './transport';
import { deepMerge, type ProviderOverride } from '../domain/overrides';

const SLACK_API = 'https://slack.com/api';

/** Slack reads `&`, `<` and `>` as markup (`<!channel>`, `<url|label>`); user content must not mention or link anyone. */
const escapeMrkdwn = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** Block Kit rejects a whole message with a field over its limit; cutting keeps the message deliverable. */
const cut = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
const plain = (text: string, max: number) => ({ type: 'plain_text', text: cut(text, max), emoji: true });
const mrkdwn = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text: cut(escapeMrkdwn(text), 3000) } });

function slackBlock(b: OutputBlock): Record<string, unknown> | undefined {
  switch (b.type) {
    case 'text':
      return mrkdwn(b.text);
    case 'quote':
      return mrkdwn(b.text.replace(/^/gm, '> '));
    case 'action':
      return b.href ? { type: 'actions', elements: [{ type: 'button', text: plain(b.text, 75), url: b.href }] } : mrkdwn(b.text);
    case 'image':
      return b.src ? { type: 'image', image_url: b.src, alt_text: cut(b.text || 'image', 2000) } : undefined;
    case 'divider':
      return { type: 'divider' };
    default:
      return undefined;
  }
}

/**
 * The rendered direct message as Block Kit: the title as a header, then one block per element.
 * `text` is the notification fallback (and what clients without blocks show): title and text.
 */
export function slackPayload(channel: string, content: RenderedOutput) {
  const blocks = [
    ...(content.title ? [{ type: 'header', text: plain(content.title, 150) }] : []),
    ...(content.blocks ?? []).map(slackBlock).filter((b) => b !== undefined),
  ];
  const text = [content.title, content.text].filter((s): s is string => typeof s === 'string' && s !== '').join('\n\n');
  return { channel, text: escapeMrkdwn(text), ...(blocks.length > 0 ? { blocks } : {}) };
}

/** Slack errors a retry can get past; every other `error` code (invalid_auth, channel_not_found ...) is permanent. */
const TRANSIENT_ERRORS = new Set(['ratelimited', 'rate_limited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

/**
 * Slack answers most failures with 200 and `{ ok: false, error }`, and rate limits with 429 and
 * `retry-after`; both are classified here. The error code names the problem without any secret.
 */
export function slackOutcome(method: string, reply: HttpReply): Record<string, unknown> {
  const retryAfter = reply.headers.get('retry-after');
  const failure = httpFailure(reply.status, retryAfter, `slack ${method}`);
  if (failure) throw failure;
  const body = parseJson(reply.text) as { ok?: unknown; error?: unknown } | undefined;
  if (body?.ok === true) return body as Record<string, unknown>;
  const code = typeof body?.error === 'string' ? body.error : 'unknown_error';
  const transient = TRANSIENT_ERRORS.has(code);
  throw new ProviderError(`slack ${method} failed: ${code}`, transient, transient ? retryAfterMs(retryAfter) : undefined, reply.status);
}

interface SlackCall {
  http: HttpClient;
  api: string;
  token: string;
  timeoutMs: number;
}

/**
 * One Web API call, a POST with the token as `Bearer`: `json` arguments as a JSON body (what Slack
 * recommends for chat.postMessage's blocks), `form` arguments form-encoded (what the read methods
 * such as users.lookupByEmail take, and what Slack's own client, @slack/web-api, sends for every method).
 */
async function callSlack(
  c: SlackCall,
  method: string,
  init: { json: unknown; override?: ProviderOverride } | { form: Record<string, string> },
): Promise<Record<string, unknown>> {
  const [contentType, body] =
    'json' in init
      ? ['application/json; charset=utf-8', JSON.stringify(init.json)]
      : ['application/x-www-form-urlencoded', String(new URLSearchParams(init.form))];
  const reply = await c.http.exchange(
    withOverride(
      {
        url: `${c.api}/${method}`,
        method: 'POST',
        headers: { authorization: `Bearer ${c.token}`, 'content-type': contentType },
        body,
        timeoutMs: c.timeoutMs,
        what: `slack ${method}`,
      },
      'json' in init ? init.override : undefined,
    ),
  );
  return slackOutcome(method, reply);
}

/** An email-only slack address: the workspace's user with that email (users.lookupByEmail, scope users:read.email). */
async function userIdByEmail(c: SlackCall, email: string): Promise<string> {
  const found = await callSlack(c, 'users.lookupByEmail', { form: { email } });
  const id = (found.user as { id?: unknown } | undefined)?.id;
  if (typeof id !== 'string') throw new ProviderError('slack users.lookupByEmail answered without a user id', false);
  return id;
}

/** Direct messages through the Slack Web API (`chat.postMessage`) with the profile's token or a bot token. */
export class SlackAdapter implements ProviderAdapter<'direct_message'> {
  constructor(private readonly http: HttpClient = sharedHttp()) {}

  async send(message: ProviderSend<'direct_message'>): Promise<ProviderResult> {
    const settings = parseSettings(slackSettings, message.settings, 'slack');
    const parsed = slackAddress.safeParse(message.address.slack);
    if (!parsed.success) throw invalidAddress('slack', 'the profile has no usable slack object');
    const address = parsed.data;
    const token = address.access_token ?? settings.bot_token;
    if (!token) throw invalidAddress('slack', 'no access_token in the profile and no bot_token in the settings');
    const c: SlackCall = {
      http: this.http,
      api: (settings.api_url ?? config.SLACK_API_URL ?? SLACK_API).replace(/\/$/, ''),
      token,
      timeoutMs: message.timeoutMs,
    };
    const channel = address.channel ?? address.user_id ?? (address.email ? await userIdByEmail(c, address.email) : undefined);
    if (!channel) throw invalidAddress('slack', 'the slack object names no channel, user_id or email');
    // The provider override applies to the message's own call (its body deep-merged into the chat.postMessage arguments), not to the user lookup.
    const posted = await callSlack(c, 'chat.postMessage', {
      json: deepMerge(slackPayload(channel, message.content), message.override?.body),
      override: message.override,
    });
    return { providerMessageId: typeof posted.ts === 'string' ? posted.ts : undefined, status: 'SENT' };
  }
}
