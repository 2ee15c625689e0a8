import './allow-private-egress';
import { WebClient, type ChatPostMessageArguments } from '@slack/web-api';
import type { RenderedOutput } from '../../../lambdas/domain/render';
import { contractCase, mediaType, startRecorder, sendOf, type Recorded, type Recorder, type SendOver } from './recorder';

/**
 * The Slack adapter against a stand-in Web API, and the contract test against Slack's official
 * client, @slack/web-api (`WebClient` with `slackApiUrl` at the stand-in): chat.postMessage and
 * users.lookupByEmail. The adapter opens no conversation (a user id is a valid chat.postMessage
 * channel for a bot), so conversations.open has no contract.
 */

// The adapter reads SLACK_API_URL when its module loads, so it is required after the stand-in starts.
let slack: typeof import('../../../lambdas/providers/slack');
let api: Recorder;
beforeAll(async () => {
  api = await startRecorder();
  process.env.SLACK_API_URL = `${api.url}/api`;
  slack = require('../../../lambdas/providers/slack');
});
afterAll(() => api?.close());
beforeEach(() => {
  api.requests.length = 0;
  api.reply((req) =>
    req.path.startsWith('/api/users.lookupByEmail')
      ? { status: 200, body: { ok: true, user: { id: 'U0ADA' } } }
      : { status: 200, body: { ok: true, channel: 'C0GENERAL', ts: '1700000000.000100' } },
  );
});

const content: RenderedOutput = {
  channel: 'direct_message',
  title: 'Order 42 shipped',
  text: 'Hi <Ada> & team\n\nTrack: https://x.test/42',
  blocks: [
    { type: 'text', text: 'Hi <Ada> & team' },
    { type: 'action', text: 'Track', href: 'https://x.test/42' },
    { type: 'divider', text: '' },
    { type: 'image', text: 'parcel', src: 'https://x.test/p.png' },
  ],
};
const dm = (slackAddress: Record<string, unknown>, over: SendOver<'direct_message'> = {}) =>
  sendOf({ channel: 'direct_message', address: { slack: slackAddress }, content, ...over });

describe('slack adapter against a stand-in Web API', () => {
  it('posts chat.postMessage with the profile token, the channel and Block Kit blocks', async () => {
    const result = await new slack.SlackAdapter().send(dm({ access_token: 'xoxb-profile', channel: 'C0GENERAL' }));

    expect(result).toEqual({ status: 'SENT', providerMessageId: '1700000000.000100' });
    const [req] = api.requests;
    expect([req.method, req.path, req.headers.authorization, req.headers['content-type']]).toEqual([
      'POST',
      '/api/chat.postMessage',
      'Bearer xoxb-profile',
      'application/json; charset=utf-8',
    ]);
    expect(JSON.parse(req.body)).toEqual({
      channel: 'C0GENERAL',
      text: 'Order 42 shipped\n\nHi &lt;Ada&gt; &amp; team\n\nTrack: https://x.test/42',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'Order 42 shipped', emoji: true } },
        { type: 'section', text: { type: 'mrkdwn', text: 'Hi &lt;Ada&gt; &amp; team' } },
        { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Track', emoji: true }, url: 'https://x.test/42' }] },
        { type: 'divider' },
        { type: 'image', image_url: 'https://x.test/p.png', alt_text: 'parcel' },
      ],
    });
  });

  it('falls back to the bot token of the settings and to user_id as the channel', async () => {
    await new slack.SlackAdapter().send(dm({ user_id: 'U0BOB' }, { settings: { bot_token: 'xoxb-settings' } }));
    expect(api.requests[0].headers.authorization).toBe('Bearer xoxb-settings');
    expect(JSON.parse(api.requests[0].body).channel).toBe('U0BOB');
  });

  it('looks an email-only address up with users.lookupByEmail and posts to that user', async () => {
    await new slack.SlackAdapter().send(dm({ access_token: 'xoxb-profile', email: 'ada@example.test' }));
    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /api/users.lookupByEmail', 'POST /api/chat.postMessage']);
    expect([api.requests[0].headers['content-type'], api.requests[0].body]).toEqual(['application/x-www-form-urlencoded', 'email=ada%40example.test']);
    expect(JSON.parse(api.requests[1].body).channel).toBe('U0ADA');
  });

  it('prefers the api_url of the settings over SLACK_API_URL', async () => {
    await new slack.SlackAdapter().send(dm({ access_token: 't', channel: 'C1' }, { settings: { api_url: `${api.url}/alt/` } }));
    expect(api.requests[0].path).toBe('/alt/chat.postMessage');
  });

  it('retries a 429 ratelimited answer as transient with its retry-after', async () => {
    api.reply(() => ({ status: 429, headers: { 'retry-after': '30' }, body: { ok: false, error: 'ratelimited' } }));
    const sent = new slack.SlackAdapter().send(dm({ access_token: 't', channel: 'C1' }));
    await expect(sent).rejects.toMatchObject({ transient: true, statusCode: 429, retryAfterMs: 30_000 });
  });

  it('retries ok:false ratelimited on a 200 as transient with its retry-after', async () => {
    api.reply(() => ({ status: 200, headers: { 'retry-after': '5' }, body: { ok: false, error: 'ratelimited' } }));
    const sent = new slack.SlackAdapter().send(dm({ access_token: 't', channel: 'C1' }));
    await expect(sent).rejects.toMatchObject({ transient: true, retryAfterMs: 5000, message: 'slack chat.postMessage failed: ratelimited' });
  });

  it('fails permanently on invalid_auth without echoing the token', async () => {
    api.reply(() => ({ status: 200, body: { ok: false, error: 'invalid_auth' } }));
    const sent = new slack.SlackAdapter().send(dm({ access_token: 'xoxb-very-secret', channel: 'C1' }));
    await expect(sent).rejects.toMatchObject({ transient: false, message: 'slack chat.postMessage failed: invalid_auth' });
  });

  it('fails permanently when the email lookup finds nobody', async () => {
    api.reply(() => ({ status: 200, body: { ok: false, error: 'users_not_found' } }));
    const sent = new slack.SlackAdapter().send(dm({ access_token: 't', email: 'nobody@example.test' }));
    await expect(sent).rejects.toMatchObject({ transient: false, message: 'slack users.lookupByEmail failed: users_not_found' });
    expect(api.requests).toHaveLength(1);
  });

  it('refuses an address with no token anywhere as permanent, without calling Slack', async () => {
    await expect(new slack.SlackAdapter().send(dm({ channel: 'C1' }))).rejects.toMatchObject({ transient: false });
    expect(api.requests).toHaveLength(0);
  });
});

/**
 * A Web API call's arguments, however they were sent: a JSON body, or form fields (Slack's client
 * form-encodes every call, its object arguments such as `blocks` as JSON text in their field).
 */
function slackArguments(r: Recorded): Record<string, unknown> {
  if (mediaType(r.headers['content-type'] as string | undefined) === 'application/json') return JSON.parse(r.body) as Record<string, unknown>;
  return Object.fromEntries([...new URLSearchParams(r.body)].map(([k, v]) => [k, /^[[{]/.test(v) ? (JSON.parse(v) as unknown) : v]));
}

describe('slack contract: @slack/web-api and the adapter send the same requests', () => {
  const client = (token: string) => new WebClient(token, { slackApiUrl: `${api.url}/api/`, retryConfig: { retries: 0 } });
  // chat.postMessage's arguments as the client types them: a block or field Slack does not know fails to compile.
  const message: ChatPostMessageArguments = {
    channel: 'C0GENERAL',
    text: 'Order 42 shipped\n\nHi &lt;Ada&gt; &amp; team\n\nTrack: https://x.test/42',
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: 'Order 42 shipped', emoji: true } },
      { type: 'section', text: { type: 'mrkdwn', text: 'Hi &lt;Ada&gt; &amp; team' } },
      { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Track', emoji: true }, url: 'https://x.test/42' }] },
      { type: 'divider' },
      { type: 'image', image_url: 'https://x.test/p.png', alt_text: 'parcel' },
    ],
  };

  it('chat.postMessage: same method, path, Bearer token and arguments (ours a JSON body, the client form fields: Slack documents both)', async () => {
    const { theirs, ours } = await contractCase({
      api,
      vendor: async () => expect(await client('xoxb-profile').chat.postMessage(message)).toMatchObject({ ok: true, ts: '1700000000.000100' }),
      ours: () => new slack.SlackAdapter().send(dm({ access_token: 'xoxb-profile', channel: 'C0GENERAL' })),
      body: slackArguments,
    });
    expect([theirs[0].path, theirs[0].headers.authorization]).toEqual(['/api/chat.postMessage', 'Bearer xoxb-profile']);
    expect([mediaType(theirs[0].headers['content-type'] as string), mediaType(ours[0].headers['content-type'] as string)]).toEqual([
      'application/x-www-form-urlencoded',
      'application/json',
    ]);
  });

  it('users.lookupByEmail then chat.postMessage to the user found: the lookup alike to its content type', async () => {
    const vendor = async () => {
      const web = client('xoxb-settings');
      const found = await web.users.lookupByEmail({ email: 'ada@example.test' });
      await web.chat.postMessage({ ...message, channel: found.user!.id! });
    };
    const { theirs, ours } = await contractCase({
      api,
      vendor,
      ours: () => new slack.SlackAdapter().send(dm({ email: 'ada@example.test' }, { settings: { bot_token: 'xoxb-settings' } })),
      body: slackArguments,
    });
    expect(ours.map((r) => r.path)).toEqual(['/api/users.lookupByEmail', '/api/chat.postMessage']);
    expect(ours[0].headers['content-type']).toBe(theirs[0].headers['content-type']);
  });
});
