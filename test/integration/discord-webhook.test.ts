import { startTestStack, type TestStack } from '../helpers/stack';
import { sendAndWait } from '../helpers/send';
import { uid } from '../helpers/wait';
import { startRecorder, type Recorder } from './providers/recorder';

/**
 * Issue 16: the Discord provider's incoming-webhook form, through the SDK. A provider configured
 * with a `webhook_url` only (no bot) delivers a user's `discord.channel_id` message to a local fake
 * of Discord's webhook endpoint when that is the webhook's channel; a `user_id` (a direct message)
 * is unreachable without a bot, and another channel is never posted to through the webhook.
 */
let s: TestStack;
let fake: Recorder;
const [HOOK_ID, HOOK_TOKEN, HOOK_CHANNEL] = ['1187000000000000001', 'hook-Token_secret-for-the-tests', '768866348853383208'];
const HOOK_PATH = `/api/webhooks/${HOOK_ID}/${HOOK_TOKEN}`;
const content = { title: 'Deploy done', body: 'Build 7 is live' };
let providerId: string;

beforeAll(async () => {
  fake = await startRecorder();
  fake.reply((req) =>
    req.method === 'GET'
      ? { status: 200, body: { id: HOOK_ID, type: 1, channel_id: HOOK_CHANNEL } }
      : { status: 200, body: { id: 'HOOK-MSG-1', channel_id: HOOK_CHANNEL } },
  );
  s = await startTestStack();
  const created = await s.client.providers.create({ provider: 'discord', settings: { webhook_url: `${fake.url}${HOOK_PATH}` } });
  providerId = created.id;
});
afterAll(async () => {
  await s?.stop();
  await fake?.close();
});
beforeEach(() => {
  fake.requests.length = 0;
});

const userWith = async (discord: Record<string, string>) => {
  const u = uid('dc-hook');
  await s.client.profiles.replace(u, { profile: { discord } });
  return u;
};

describe('the discord provider with a webhook', () => {
  it('is created without a bot token; webhook_url is a secret, redacted on read; the catalog lists both forms, neither required', async () => {
    const read = await s.client.providers.retrieve(providerId);
    expect((read.settings as Record<string, unknown>).webhook_url).toBe(`********${HOOK_TOKEN.slice(-4)}`);
    expect(JSON.stringify(await s.client.providers.list())).not.toContain(HOOK_TOKEN);

    const catalog = await s.client.providers.catalog.list({ keys: 'discord' });
    expect(catalog.results[0].settings).toMatchObject({ bot_token: { required: false }, webhook_url: { type: 'string', required: false } });

    const neither = await s.http('POST', '/providers', { provider: 'discord', settings: {} });
    expect([neither.status, neither.json.message]).toEqual([400, expect.stringContaining('bot_token or webhook_url is required')]);
    const notAWebhook = await s.http('POST', '/providers', { provider: 'discord', settings: { webhook_url: 'https://discord.com/api/channels/1/messages' } });
    expect([notAWebhook.status, notAWebhook.json.message]).toEqual([400, expect.stringContaining('webhook_url')]);
  });

  it("delivers a user's discord.channel_id message, routed to discord, through the webhook: read, then executed with wait=true", async () => {
    const u = await userWith({ channel_id: HOOK_CHANNEL });
    const { messages } = await sendAndWait(s, { to: { user_id: u }, content, routing: { method: 'single', channels: ['discord'] } }, 1);

    expect(messages[0].status).toBe('SENT');
    expect(fake.requests.map((r) => [r.method, r.path, r.headers.authorization])).toEqual([
      ['GET', HOOK_PATH, undefined],
      ['POST', `${HOOK_PATH}?wait=true`, undefined],
    ]);
    expect(JSON.parse(fake.requests[1].body)).toEqual({ content: '**Deploy done**\n\nBuild 7 is live', allowed_mentions: { parse: [] } });
  });

  it('a user_id (a DM) is unreachable without a bot; another channel fails permanently without a post', async () => {
    const dmUser = await userWith({ user_id: '617099137532932107' });
    const dm = await sendAndWait(s, { to: { user_id: dmUser }, content, routing: { method: 'single', channels: ['discord'] } }, 1);
    expect([dm.messages[0].status, dm.messages[0].reason]).toEqual(['UNROUTABLE', 'NO_CHANNELS']);
    expect(fake.requests).toHaveLength(0);

    const other = await sendAndWait(s, { to: { discord: { channel_id: '999' } }, content }, 1);
    expect(other.messages[0].status).toBe('UNDELIVERABLE');
    expect(fake.requests.map((r) => r.method)).toEqual(['GET']);
  });
});
