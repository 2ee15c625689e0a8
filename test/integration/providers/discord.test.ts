import './allow-private-egress';
import { createHash } from 'node:crypto';
import type { RenderedOutput } from '../../../lambdas/domain/render';
import { REST } from '@discordjs/rest';
import { Routes, type RESTPostAPIChannelMessageJSONBody, type RESTPostAPICurrentUserCreateDMChannelJSONBody } from 'discord-api-types/v10';
import { DiscordAdapter } from '../../../lambdas/providers/discord';
import { contractCase, startRecorder, sendOf, type Recorder } from './recorder';

/**
 * The Discord adapter against a stand-in for Discord's API, and the contract test against
 * Discord's official REST client, @discordjs/rest (its `api` option moved to the stand-in, routes
 * from discord-api-types): a bot's channel message and a DM (open the DM channel, then post). The
 * adapter has no webhook form (bot only), so there is no webhook contract.
 */
let api: Recorder;
beforeAll(async () => {
  api = await startRecorder();
});
afterAll(() => api?.close());
beforeEach(() => {
  api.requests.length = 0;
  api.reply((req) => (req.path.endsWith('/users/@me/channels') ? { status: 200, body: { id: 'DM-77', type: 1 } } : { status: 200, body: { id: 'MSG-1' } }));
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
});
