import { startTestStack, type TestStack } from '../helpers/stack';
import { sendAndWait } from '../helpers/send';
import { uid } from '../helpers/wait';
import { startRecorder, type Recorder } from './providers/recorder';

/**
 * A Slack address without an `access_token` is reachable when the configured Slack provider has a
 * `bot_token`: the adapter posts with the bot token, so routing must attempt it (issue 12: routing
 * and the adapter read the same address, and agree on what reaches it).
 */
let s: TestStack;
let slackApi: Recorder;
beforeAll(async () => {
  slackApi = await startRecorder();
  slackApi.reply(() => ({ status: 200, body: { ok: true, channel: 'C123', ts: '1700000000.000200' } }));
  // No provider cache: the test adds and removes the Slack provider between sends.
  s = await startTestStack({ env: { CACHE_TTL_MS: '0' } });
});
afterAll(async () => {
  await s?.stop();
  await slackApi?.close();
});
beforeEach(() => {
  slackApi.requests.length = 0;
});

const dm = (userId: string) => ({
  to: { user_id: userId },
  content: { title: 'Deploy', body: 'Build 7 is live' },
  routing: { method: 'single', channels: ['direct_message'] },
});

describe('a slack address without a token of its own', () => {
  it('is sent with the bot token of the configured Slack provider, to the fake Slack API', async () => {
    const created = await s.http('POST', '/providers', { provider: 'slack', settings: { bot_token: 'xoxb-bot', api_url: `${slackApi.url}/api` } });
    expect(created.status).toBe(200);
    try {
      const u = uid('slack-bot');
      await s.client.profiles.replace(u, { profile: { slack: { channel: 'C123' } } });
      const { messages } = await sendAndWait(s, dm(u), 1);

      expect(messages.map((m) => m.status)).toEqual(['SENT']);
      expect(slackApi.requests.map((r) => [r.method, r.path, r.headers.authorization])).toEqual([['POST', '/api/chat.postMessage', 'Bearer xoxb-bot']]);
      expect(JSON.parse(slackApi.requests[0].body)).toMatchObject({ channel: 'C123' });
    } finally {
      await s.http('DELETE', `/providers/${created.json.id}`);
    }
  });

  it('stays unreachable when no Slack provider brings a bot token', async () => {
    const u = uid('slack-none');
    await s.client.profiles.replace(u, { profile: { slack: { channel: 'C123' } } });
    const { messages } = await sendAndWait(s, dm(u), 1);

    expect(messages.map((m) => [m.status, m.reason])).toEqual([['UNROUTABLE', 'NO_CHANNELS']]);
    expect(slackApi.requests).toHaveLength(0);
  });
});
