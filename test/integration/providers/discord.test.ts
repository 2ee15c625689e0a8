import './allow-private-egress';
import { createHash } from 'node:crypto';
import type { RenderedOutput } from '../../../lambdas/domain/render';
import { REST } from '@discordjs/rest';
import {
  Routes,
  type RESTPostAPIChannelMessageJSONBody,
  type RESTPostAPICurrentUserCreateDMChannelJSONBody,
  type RESTPostAPIWebhookWithTokenJSONBody,
} from 'discord-api-types/v10';
import { DiscordAdapter } from '../../../lambdas/providers/discord';
import { contractCase, startRecorder, sendOf, type Recorder } from './recorder';

/**
 * The Discord adapter against a stand-in for Discord's API, and the contract test against
 * Discord's official REST client, @discordjs/rest (its `api` option moved to the stand-in, routes
 * from discord-api-types): a bot's channel message and a DM (open the DM channel, then post), and
 * the incoming-webhook form (read the webhook, then execute it with `wait=true`, both without auth:
 * `Routes.webhook(id, token)` with `auth: false`).
 */
let api: Recorder;
const [HOOK_ID, HOOK_TOKEN, HOOK_CHANNEL] = ['1187000000000000001', 'hook-Token_secret', '768866348853383208'];
const HOOK_PATH = `/api/v10/webhooks/${HOOK_ID}/${HOOK_TOKEN}`;
beforeAll(async () => {
  api = await startRecorder();
});
afterAll(() => api?.close());
beforeEach(() => {
  api.requests.length = 0;
  api.reply((req) => {
    if (req.path.endsWith('/users/@me/channels')) return { status: 200, body: { id: 'DM-77', type: 1 } };
    // Get Webhook with Token answers the webhook (its channel); Execute Webhook with wait=true the message.
    if (req.method === 'GET' && req.path.startsWith(HOOK_PATH))
      return { status: 200, body: { id: HOOK_ID, type: 1, channel_id: HOOK_CHANNEL, name: 'Deploys' } };
    if (req.path.startsWith(HOOK_PATH)) return { status: 200, body: { id: 'HOOK-MSG-1', channel_id: HOOK_CHANNEL, webhook_id: HOOK_ID } };
    return { status: 200, body: { id: 'MSG-1' } };
  });
});

const content: RenderedOutput = { channel: 'direct_message', title: 'Deploy done', text: 'Build 7 is live @everyone' };
const dm = (discord: Record<string, unknown>, settings: Record<string, unknown> = { bot_token: 'bot-secret', api_url: `${api.url}/api/v10` }) =>
  sendOf({ channel: 'direct_message', idempotencyKey: 'm-1:direct_message:discord', address: { discord }, content, settings });
const nonce = createHash('sha256').update('m-1:direct_message:discord').digest('base64url').slice(0, 25);
const expectedBody = {
  content: '**Deploy done**\n\nBuild 7 is live @everyone',
  allowed_mentions: { parse: [] },
  nonce,
  enforce_nonce: true,
};

describe('discord adapter against a stand-in Discord API', () => {
  it('posts Create Message to the channel with the bot token', async () => {
    const result = await new DiscordAdapter().send(dm({ channel_id: '768866348853383208' }));

    expect(result).toEqual({ status: 'SENT', providerMessageId: 'MSG-1' });
    const [req] = api.requests;
    expect([req.method, req.path, req.headers.authorization, req.headers['content-type']]).toEqual([
      'POST',
      '/api/v10/channels/768866348853383208/messages',
      'Bot bot-secret',
      'application/json',
    ]);
    expect(JSON.parse(req.body)).toEqual(expectedBody);
  });

  it('opens the DM channel for a user_id, then posts to it', async () => {
    await new DiscordAdapter().send(dm({ user_id: '617099137532932107' }));
    expect(api.requests.map((r) => [r.method, r.path, r.headers.authorization])).toEqual([
      ['POST', '/api/v10/users/@me/channels', 'Bot bot-secret'],
      ['POST', '/api/v10/channels/DM-77/messages', 'Bot bot-secret'],
    ]);
    expect(JSON.parse(api.requests[0].body)).toEqual({ recipient_id: '617099137532932107' });
    expect(JSON.parse(api.requests[1].body)).toEqual(expectedBody);
  });

  it('merges providers.discord.override into the message call only: body deep-merged, headers and query added', async () => {
    const message = {
      ...dm({ user_id: 'U-9' }),
      override: { body: { tts: true, allowed_mentions: { parse: ['users'] } }, headers: { 'x-audit': 'a1' }, query: { wait: 'true' } },
    };
    await new DiscordAdapter().send(message);
    const [open, post] = api.requests;
    expect([open.path, open.headers['x-audit']]).toEqual(['/api/v10/users/@me/channels', undefined]);
    expect([post.path, post.headers['x-audit'], post.headers.authorization]).toEqual(['/api/v10/channels/DM-77/messages?wait=true', 'a1', 'Bot bot-secret']);
    expect(JSON.parse(post.body)).toEqual({ ...expectedBody, tts: true, allowed_mentions: { parse: ['users'] } });
  });

  it('cuts content to Discord’s 2000 characters', async () => {
    await new DiscordAdapter().send({ ...dm({ channel_id: 'C1' }), content: { channel: 'direct_message', text: 'x'.repeat(2500) } });
    expect(JSON.parse(api.requests[0].body).content).toHaveLength(2000);
  });

  it('retries a 429 after the retry_after of its body (seconds, fractional)', async () => {
    api.reply(() => ({ status: 429, headers: { 'retry-after': '2' }, body: { message: 'You are being rate limited.', retry_after: 1.5, global: false } }));
    await expect(new DiscordAdapter().send(dm({ channel_id: 'C1' }))).rejects.toMatchObject({ transient: true, retryAfterMs: 1500, statusCode: 429 });
  });

  it('classifies 5xx as transient and 403 (no access, DMs closed) as permanent', async () => {
    api.reply(() => ({ status: 502, body: 'bad gateway' }));
    await expect(new DiscordAdapter().send(dm({ channel_id: 'C1' }))).rejects.toMatchObject({ transient: true, statusCode: 502 });
    api.reply(() => ({ status: 403, body: { message: 'Cannot send messages to this user', code: 50007 } }));
    await expect(new DiscordAdapter().send(dm({ user_id: 'U1' }))).rejects.toMatchObject({ transient: false, statusCode: 403 });
  });

  it('refuses settings without a bot token, naming the field only', async () => {
    await expect(new DiscordAdapter().send(dm({ channel_id: 'C1' }, { api_url: api.url }))).rejects.toMatchObject({
      transient: false,
      message: 'discord settings are invalid: settings.bot_token',
    });
    expect(api.requests).toHaveLength(0);
  });
});

describe('discord adapter, incoming-webhook form', () => {
  const hookUrl = () => `${api.url}${HOOK_PATH}`;
  const viaHook = (discord: Record<string, unknown>, settings: Record<string, unknown> = {}) => dm(discord, { webhook_url: hookUrl(), ...settings });
  const webhookBody = { content: expectedBody.content, allowed_mentions: { parse: [] } };

  it("reads the webhook, then executes it with wait=true and no auth for a channel_id that is the webhook's channel", async () => {
    const result = await new DiscordAdapter().send(viaHook({ channel_id: HOOK_CHANNEL }));

    expect(result).toEqual({ status: 'SENT', providerMessageId: 'HOOK-MSG-1' });
    expect(api.requests.map((r) => [r.method, r.path, r.headers.authorization])).toEqual([
      ['GET', HOOK_PATH, undefined],
      ['POST', `${HOOK_PATH}?wait=true`, undefined],
    ]);
    expect(api.requests[1].headers['content-type']).toBe('application/json');
    expect(JSON.parse(api.requests[1].body)).toEqual(webhookBody);
  });

  it('never posts through the webhook to a channel the recipient did not name: another channel or a user_id fails permanently without a bot', async () => {
    await expect(new DiscordAdapter().send(viaHook({ channel_id: '999' }))).rejects.toMatchObject({
      transient: false,
      message: `discord: the webhook posts to channel ${HOOK_CHANNEL}, not 999, and there is no bot_token for other channels`,
    });
    expect(api.requests.map((r) => r.method)).toEqual(['GET']);
    api.requests.length = 0;
    await expect(new DiscordAdapter().send(viaHook({ user_id: 'U1' }))).rejects.toMatchObject({
      transient: false,
      message: 'discord: a webhook cannot send a direct message: user_id needs a bot_token',
    });
    expect(api.requests).toHaveLength(0);
  });

  it("with a bot too: the webhook's channel through the webhook, another channel and a DM through the bot", async () => {
    const both = { bot_token: 'bot-secret', api_url: `${api.url}/api/v10` };
    await new DiscordAdapter().send(viaHook({ channel_id: HOOK_CHANNEL }, both));
    await new DiscordAdapter().send(viaHook({ channel_id: '999' }, both));
    await new DiscordAdapter().send(viaHook({ user_id: 'U1' }, both));
    expect(api.requests.map((r) => [r.method, r.path, r.headers.authorization])).toEqual([
      ['GET', HOOK_PATH, undefined],
      ['POST', `${HOOK_PATH}?wait=true`, undefined],
      ['GET', HOOK_PATH, undefined],
      ['POST', '/api/v10/channels/999/messages', 'Bot bot-secret'],
      ['POST', '/api/v10/users/@me/channels', 'Bot bot-secret'],
      ['POST', '/api/v10/channels/DM-77/messages', 'Bot bot-secret'],
    ]);
  });

  it('merges providers.discord.override into the execute call: embeds deep-merged, a thread_id query added beside wait', async () => {
    const embeds = [{ title: 'Build 7', description: 'live' }];
    await new DiscordAdapter().send({
      ...viaHook({ channel_id: HOOK_CHANNEL }),
      override: { body: { embeds, username: 'CI' }, headers: { 'x-audit': 'a1' }, query: { thread_id: 'T-1' } },
    });
    const [read, post] = api.requests;
    expect([read.path, read.headers['x-audit']]).toEqual([HOOK_PATH, undefined]);
    expect([post.path, post.headers['x-audit']]).toEqual([`${HOOK_PATH}?wait=true&thread_id=T-1`, 'a1']);
    expect(JSON.parse(post.body)).toEqual({ ...webhookBody, embeds, username: 'CI' });
  });

  it('classifies a deleted webhook (404) and a wrong token (401) as permanent, 429 (after retry_after) and 5xx as transient', async () => {
    for (const status of [404, 401]) {
      api.reply(() => ({ status, body: { message: 'Unknown Webhook', code: 10015 } }));
      await expect(new DiscordAdapter().send(viaHook({ channel_id: HOOK_CHANNEL }))).rejects.toMatchObject({
        transient: false,
        statusCode: status,
        message: `discord webhook answered ${status}: the webhook was deleted or its token is wrong`,
      });
    }
    api.reply((req) =>
      req.method === 'GET'
        ? { status: 200, body: { id: HOOK_ID, channel_id: HOOK_CHANNEL } }
        : { status: 429, body: { message: 'rate limited', retry_after: 0.25 } },
    );
    await expect(new DiscordAdapter().send(viaHook({ channel_id: HOOK_CHANNEL }))).rejects.toMatchObject({
      transient: true,
      retryAfterMs: 250,
      statusCode: 429,
    });
    api.reply(() => ({ status: 503, body: 'unavailable' }));
    await expect(new DiscordAdapter().send(viaHook({ channel_id: HOOK_CHANNEL }))).rejects.toMatchObject({ transient: true, statusCode: 503 });
  });

  it('refuses settings with neither a bot nor a webhook, and a webhook_url that is not a webhook, naming the field only', async () => {
    await expect(new DiscordAdapter().send(dm({ channel_id: 'C1' }, {}))).rejects.toMatchObject({
      message: 'discord settings are invalid: settings.bot_token',
    });
    await expect(new DiscordAdapter().send(dm({ channel_id: 'C1' }, { webhook_url: `${api.url}/api/v10/channels/1/messages` }))).rejects.toMatchObject({
      message: 'discord settings are invalid: settings.webhook_url',
    });
    await expect(new DiscordAdapter().send(dm({ channel_id: 'C1' }, { webhook_url: `${hookUrl()}?thread_id=1` }))).rejects.toMatchObject({
      message: 'discord settings are invalid: settings.webhook_url',
    });
    expect(api.requests).toHaveLength(0);
  });
});

describe('discord contract: @discordjs/rest and the adapter send the same requests', () => {
  const rest = () => new REST({ api: `${api.url}/api`, version: '10', retries: 0 }).setToken('bot-secret');
  // Discord's documented bodies, typed by discord-api-types: a field name the vendor does not know fails to compile.
  const message: RESTPostAPIChannelMessageJSONBody = {
    content: expectedBody.content,
    allowed_mentions: { parse: [] },
    nonce: expectedBody.nonce,
    enforce_nonce: expectedBody.enforce_nonce,
  };
  const openDm: RESTPostAPICurrentUserCreateDMChannelJSONBody = { recipient_id: '617099137532932107' };

  it('a bot message to a channel: same method, path, auth scheme, content type and body fields', async () => {
    await contractCase({
      api,
      vendor: async () => expect(await rest().post(Routes.channelMessages('768866348853383208'), { body: message })).toEqual({ id: 'MSG-1' }),
      ours: () => new DiscordAdapter().send(dm({ channel_id: '768866348853383208' })),
      headers: ['authorization', 'content-type'],
    });
    expect(api.requests[1].headers.authorization).toBe('Bot bot-secret');
  });

  it('a DM: the DM channel opened, then the message posted to it, alike', async () => {
    const vendor = async () => {
      const channel = (await rest().post(Routes.userChannels(), { body: openDm })) as { id: string };
      await rest().post(Routes.channelMessages(channel.id), { body: message });
    };
    const { ours } = await contractCase({
      api,
      vendor,
      ours: () => new DiscordAdapter().send(dm({ user_id: '617099137532932107' })),
      headers: ['authorization', 'content-type'],
    });
    expect(ours.map((r) => r.path)).toEqual(['/api/v10/users/@me/channels', '/api/v10/channels/DM-77/messages']);
  });

  it('the webhook form: the webhook read, then executed with wait=true, both without auth, alike', async () => {
    const execute: RESTPostAPIWebhookWithTokenJSONBody = { content: expectedBody.content, allowed_mentions: { parse: [] } };
    const vendor = async () => {
      const client = rest();
      expect(await client.get(Routes.webhook(HOOK_ID, HOOK_TOKEN), { auth: false })).toMatchObject({ channel_id: HOOK_CHANNEL });
      expect(
        await client.post(Routes.webhook(HOOK_ID, HOOK_TOKEN), { auth: false, query: new URLSearchParams({ wait: 'true' }), body: execute }),
      ).toMatchObject({
        id: 'HOOK-MSG-1',
      });
    };
    const { ours } = await contractCase({
      api,
      vendor,
      ours: () => new DiscordAdapter().send(dm({ channel_id: HOOK_CHANNEL }, { webhook_url: `${api.url}${HOOK_PATH}` })),
      headers: ['authorization', 'content-type'],
      body: (r) => (r.body === '' ? undefined : (JSON.parse(r.body) as unknown)),
    });
    expect(ours.map((r) => [r.method, r.path, r.headers.authorization])).toEqual([
      ['GET', HOOK_PATH, undefined],
      ['POST', `${HOOK_PATH}?wait=true`, undefined],
    ]);
  });
});
