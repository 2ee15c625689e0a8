import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { teamsAddress, teamsForm } from '../domain/addresses';
import type { OutputBlock, RenderedOutput } from '../domain/render';
import { wallNow } from '../shared/clock';
import { msteamsSettings } from './catalog';
import { httpFailure, ProviderError, type ProviderAdapter, type ProviderResult, type ProviderSend } from './port';
import { invalidAddress, parseJson, parseSettings, sharedHttp, withOverride, type HttpClient } from './transport';
import { deepMerge } from '../domain/overrides';

type CardElement = Record<string, unknown>;

function cardElement(b: OutputBlock, separator: boolean): CardElement | undefined {
  const sep = separator ? { separator: true } : {};
  switch (b.type) {
    case 'text':
      return { type: 'TextBlock', text: b.text, wrap: true, ...sep };
    case 'quote':
      return { type: 'TextBlock', text: b.text, wrap: true, isSubtle: true, ...sep };
    case 'image':
      return b.src ? { type: 'Image', url: b.src, altText: b.text, ...sep } : undefined;
    default:
      return undefined; // actions become card actions, a divider a separator on what follows
  }
}

/**
 * The rendered direct message as a Teams message with one Adaptive Card (1.4): the title as a bold
 * heading, text and images in order, links as `Action.OpenUrl` buttons. Incoming webhooks (connector
 * and Workflows ones) and the Bot Framework both accept this activity shape.
 */
export function teamsActivity(content: RenderedOutput) {
  const blocks = content.blocks ?? [];
  const body: CardElement[] = content.title ? [{ type: 'TextBlock', text: content.title, weight: 'Bolder', size: 'Medium', wrap: true }] : [];
  let separator = false;
  for (const b of blocks) {
    if (b.type === 'divider') separator = true;
    const element = cardElement(b, separator);
    if (element) {
      body.push(element);
      separator = false;
    }
  }
  if (blocks.length === 0 && content.text) body.push({ type: 'TextBlock', text: content.text, wrap: true });
  const actions = blocks.filter((b) => b.type === 'action' && b.href).map((b) => ({ type: 'Action.OpenUrl', title: b.text, url: b.href }));
  return {
    type: 'message',
    summary: content.title ?? content.text?.slice(0, 100),
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          ...(actions.length > 0 ? { actions } : {}),
        },
      },
    ],
  };
}

const LOGIN_URL = 'https://login.microsoftonline.com';
const GRAPH_URL = 'https://graph.microsoft.com';
const BOT_SCOPE = 'https://api.botframework.com/.default';
const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
/** A token is used until this long before it expires, so none expires in flight. */
const TOKEN_MARGIN_MS = 5 * 60_000;

type Settings = z.output<typeof msteamsSettings>;
interface CachedToken {
  token: string;
  expiresAt: number;
}
/** Tokens by endpoint, tenant, app, secret (hashed) and scope, kept until shortly before they expire: one sign-in per hour, not per message. */
const tokens = new Map<string, CachedToken>();

/** Drops every cached token (tests that change what the sign-in endpoint answers). */
export const forgetTeamsTokens = (): void => tokens.clear();

/** The service URL joined with a Bot Framework path. */
const connector = (serviceUrl: string, path: string): string => `${serviceUrl.replace(/\/$/, '')}${path}`;

/**
 * Microsoft Teams: incoming webhooks, and a Bot Framework bot's proactive messages.
 * - `webhook_url`: the Adaptive Card is posted there.
 * - `conversation_id`: `POST {service_url}/v3/conversations/{id}/activities`, with the bot's token
 *   when the provider has `app_id` / `app_password`, else without (an emulator, or a relay that adds it).
 * - `channel_id`: a new thread in the channel, `POST {service_url}/v3/conversations` with
 *   `isGroup`, the channel and the tenant in `channelData`, and the activity.
 * - `channel_name` + `team_id`: the channel of that name among `GET {service_url}/v3/teams/{team_id}/conversations`
 *   (the General channel is listed without a name and matches "General"), then as `channel_id`.
 * - `user_id`: the 1:1 conversation is created (`POST /v3/conversations` with the user as member
 *   and the tenant), then the activity posted to it.
 * - `email`: the user's Entra object id from Microsoft Graph (`GET /v1.0/users/{email}`, which needs
 *   the app permission User.Read.All, with a Graph token for the recipient's `tenant_id`), then as `user_id`.
 * Bot tokens come from the Microsoft identity platform (client credentials) and are cached until
 * shortly before they expire. 429 and 5xx are retried, other 4xx are permanent.
 */
export class MsTeamsAdapter implements ProviderAdapter<'direct_message'> {
  constructor(private readonly http: HttpClient = sharedHttp()) {}

  async send(message: ProviderSend<'direct_message'>): Promise<ProviderResult> {
    const settings = parseSettings(msteamsSettings, message.settings, 'msteams');
    const parsed = teamsAddress.safeParse(message.address.ms_teams);
    if (!parsed.success) throw invalidAddress('msteams', 'the profile has no usable ms_teams object');
    const address = parsed.data;
    // The provider override: its body deep-merged into the activity, its headers and query on the activity's call.
    const activity = deepMerge(teamsActivity(message.content), message.override?.body);
    const override = message.override;
    const form = teamsForm(address);
    if (form === 'webhook') return this.post(address.webhook_url!, undefined, activity, message.timeoutMs, 'msteams', override);
    const serviceUrl = address.service_url!;
    const token = settings.app_id ? await this.botToken(settings, message.timeoutMs) : undefined;
    if (form === 'conversation') {
      return this.post(
        connector(serviceUrl, `/v3/conversations/${encodeURIComponent(address.conversation_id!)}/activities`),
        token,
        activity,
        message.timeoutMs,
        'msteams',
        override,
      );
    }
    if (!token) throw invalidAddress('msteams', `reaching a ${form.replace('_', ' ')} needs the provider's app_id and app_password (a Teams bot)`);
    const tenant = { id: address.tenant_id! };
    if (form === 'channel' || form === 'channel_name') {
      const channelId = address.channel_id ?? (await this.channelByName(serviceUrl, address.team_id!, address.channel_name!, token, message.timeoutMs));
      const reply = await this.json(
        connector(serviceUrl, '/v3/conversations'),
        token,
        { isGroup: true, channelData: { channel: { id: channelId }, tenant }, activity },
        message.timeoutMs,
        'msteams',
      );
      const id = reply.activityId ?? reply.id;
      return { providerMessageId: typeof id === 'string' ? id : undefined, status: 'SENT' };
    }
    const userId = address.user_id ?? (await this.userByEmail(settings, address.tenant_id!, address.email!, message.timeoutMs));
    const conversation = await this.json(
      connector(serviceUrl, '/v3/conversations'),
      token,
      { bot: { id: `28:${settings.app_id}` }, members: [{ id: userId }], channelData: { tenant }, tenantId: tenant.id, isGroup: false },
      message.timeoutMs,
      'msteams conversation',
    );
    if (typeof conversation.id !== 'string') throw new ProviderError('msteams conversation answered without a conversation id', true);
    return this.post(
      connector(serviceUrl, `/v3/conversations/${encodeURIComponent(conversation.id)}/activities`),
      token,
      activity,
      message.timeoutMs,
      'msteams',
      override,
    );
  }

  private async post(
    url: string,
    token: string | undefined,
    activity: unknown,
    timeoutMs: number,
    what: string,
    override: ProviderSend['override'],
  ): Promise<ProviderResult> {
    const id = (await this.json(url, token, activity, timeoutMs, what, 'POST', override)).id;
    return { providerMessageId: typeof id === 'string' ? id : undefined, status: 'SENT' };
  }

  private async json(
    url: string,
    token: string | undefined,
    body: unknown,
    timeoutMs: number,
    what: string,
    method: 'GET' | 'POST' = 'POST',
    override?: ProviderSend['override'],
  ) {
    const reply = await this.http.request(
      withOverride(
        {
          url,
          method,
          headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: body === undefined ? undefined : JSON.stringify(body),
          timeoutMs,
          what,
        },
        override,
      ),
    );
    const parsed = parseJson(reply.text);
    return (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  }

  /** The id of the team's channel named `name`; the General channel is listed without a name. */
  private async channelByName(serviceUrl: string, teamId: string, name: string, token: string, timeoutMs: number): Promise<string> {
    const listed = await this.json(
      connector(serviceUrl, `/v3/teams/${encodeURIComponent(teamId)}/conversations`),
      token,
      undefined,
      timeoutMs,
      'msteams channels',
      'GET',
    );
    const channels = Array.isArray(listed.conversations) ? (listed.conversations as { id?: unknown; name?: unknown }[]) : [];
    const wanted = name.trim().toLowerCase();
    const found = channels.find((c) => (typeof c.name === 'string' && c.name !== '' ? c.name : 'General').trim().toLowerCase() === wanted);
    if (typeof found?.id !== 'string') throw invalidAddress('msteams', 'the team has no channel of that channel_name');
    return found.id;
  }

  /** The Entra object id of the user with this email (or user principal name), through Microsoft Graph. */
  private async userByEmail(settings: Settings, tenantId: string, email: string, timeoutMs: number): Promise<string> {
    const token = await this.token(settings, tenantId, GRAPH_SCOPE, timeoutMs);
    const url = `${(settings.graph_url ?? GRAPH_URL).replace(/\/$/, '')}/v1.0/users/${encodeURIComponent(email)}?$select=id`;
    const reply = await this.http.exchange({ url, method: 'GET', headers: { authorization: `Bearer ${token}` }, timeoutMs, what: 'msteams graph' });
    if (reply.status === 404) throw invalidAddress('msteams', 'no user with that email in the tenant');
    const failure = httpFailure(reply.status, reply.headers.get('retry-after'), 'msteams graph');
    if (failure) throw failure;
    const id = (parseJson(reply.text) as { id?: unknown } | undefined)?.id;
    if (typeof id !== 'string') throw new ProviderError('msteams graph answered without a user id', true);
    return id;
  }

  private botToken(settings: Settings, timeoutMs: number): Promise<string> {
    return this.token(settings, settings.app_tenant_id ?? 'botframework.com', BOT_SCOPE, timeoutMs);
  }

  /** A client-credentials token of the bot's app for `scope`, from the cache while it is fresh. */
  private async token(settings: Settings, tenant: string, scope: string, timeoutMs: number): Promise<string> {
    const loginUrl = (settings.login_url ?? LOGIN_URL).replace(/\/$/, '');
    const secret = createHash('sha256')
      .update(settings.app_password ?? '')
      .digest('base64url');
    const key = JSON.stringify([loginUrl, tenant, settings.app_id, secret, scope]);
    const cached = tokens.get(key);
    if (cached && cached.expiresAt > wallNow()) return cached.token;
    const reply = await this.http.request({
      url: `${loginUrl}/${encodeURIComponent(tenant)}/oauth2/v2.0/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: settings.app_id ?? '',
        client_secret: settings.app_password ?? '',
        scope,
      }).toString(),
      timeoutMs,
      what: 'msteams token endpoint',
    });
    const answer = parseJson(reply.text) as { access_token?: unknown; expires_in?: unknown } | undefined;
    if (typeof answer?.access_token !== 'string') throw new ProviderError('msteams token endpoint answered without an access_token', true);
    const expiresIn = typeof answer.expires_in === 'number' ? answer.expires_in : Number(answer.expires_in ?? 3600);
    tokens.set(key, {
      token: answer.access_token,
      expiresAt: wallNow() + Math.max(0, (Number.isFinite(expiresIn) ? expiresIn : 3600) * 1000 - TOKEN_MARGIN_MS),
    });
    return answer.access_token;
  }
}
