import './allow-private-egress';
import type { RenderedOutput } from '../../../lambdas/domain/render';
import { MsTeamsAdapter } from '../../../lambdas/providers/msteams';
import { closedPort, startRecorder, sendOf, type Recorder } from './recorder';

let teams: Recorder;
beforeAll(async () => {
  teams = await startRecorder();
});
afterAll(() => teams?.close());
beforeEach(() => {
  teams.requests.length = 0;
  teams.reply(() => ({ status: 200, body: '1' }));
});

const content: RenderedOutput = {
  channel: 'direct_message',
  title: 'Order 42 shipped',
  text: 'Hi Ada\n\nTrack: https://x.test/42',
  blocks: [
    { type: 'text', text: 'Hi Ada' },
    { type: 'action', text: 'Track', href: 'https://x.test/42' },
  ],
};
const dm = (msTeams: Record<string, unknown>) => sendOf({ channel: 'direct_message', address: { ms_teams: msTeams }, content });

const expectedActivity = {
  type: 'message',
  summary: 'Order 42 shipped',
  attachments: [
    {
      contentType: 'application/vnd.microsoft.card.adaptive',
      contentUrl: null,
      content: {
        $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
        type: 'AdaptiveCard',
        version: '1.4',
        body: [
          { type: 'TextBlock', text: 'Order 42 shipped', weight: 'Bolder', size: 'Medium', wrap: true },
          { type: 'TextBlock', text: 'Hi Ada', wrap: true },
        ],
        actions: [{ type: 'Action.OpenUrl', title: 'Track', url: 'https://x.test/42' }],
      },
    },
  ],
};

describe('msteams adapter against a stand-in Teams endpoint', () => {
  it('merges the provider override: its body into the activity, its headers and query on the call', async () => {
    await new MsTeamsAdapter().send({
      ...dm({ webhook_url: `${teams.url}/hook` }),
      override: {
        body: { summary: 'Shipped', attachments: [{ contentType: 'text/plain', content: 'plain' }] },
        headers: { 'X-Trace': 't1' },
        query: { v: '2' },
      },
    });
    const [req] = teams.requests;
    expect(req.path).toBe('/hook?v=2');
    expect(req.headers['x-trace']).toBe('t1');
    expect(JSON.parse(req.body)).toEqual({ ...expectedActivity, summary: 'Shipped', attachments: [{ contentType: 'text/plain', content: 'plain' }] });
  });

  it('posts an Adaptive Card message to the incoming webhook URL', async () => {
    const result = await new MsTeamsAdapter().send(dm({ webhook_url: `${teams.url}/webhookb2/abc/IncomingWebhook/def` }));

    expect(result).toEqual({ status: 'SENT', providerMessageId: undefined });
    const [req] = teams.requests;
    expect([req.method, req.path, req.headers['content-type']]).toEqual(['POST', '/webhookb2/abc/IncomingWebhook/def', 'application/json']);
    expect(JSON.parse(req.body)).toEqual(expectedActivity);
  });

  it('posts the same activity to a Bot Framework conversation and returns its activity id', async () => {
    teams.reply(() => ({ status: 201, body: { id: 'activity-7' } }));
    const result = await new MsTeamsAdapter().send(dm({ service_url: `${teams.url}/teams/`, conversation_id: '19:abc@thread.tacv2' }));
    expect(result).toEqual({ status: 'SENT', providerMessageId: 'activity-7' });
    expect(teams.requests[0].path).toBe('/teams/v3/conversations/19%3Aabc%40thread.tacv2/activities');
    expect(JSON.parse(teams.requests[0].body)).toEqual(expectedActivity);
  });

  it('retries a 429 with retry-after as transient', async () => {
    teams.reply(() => ({ status: 429, headers: { 'retry-after': '2' } }));
    await expect(new MsTeamsAdapter().send(dm({ webhook_url: `${teams.url}/hook` }))).rejects.toMatchObject({ transient: true, retryAfterMs: 2000 });
  });

  it('fails permanently on a 400, without the webhook URL (it holds a token) in the message', async () => {
    teams.reply(() => ({ status: 400, body: 'Bad payload' }));
    const sent = new MsTeamsAdapter().send(dm({ webhook_url: `${teams.url}/hook-secret-token` }));
    await expect(sent).rejects.toMatchObject({ transient: false, statusCode: 400, message: 'msteams answered 400' });
  });

  it('reports an unreachable webhook as transient without its URL', async () => {
    const sent = new MsTeamsAdapter().send(dm({ webhook_url: `http://127.0.0.1:${await closedPort()}/hook-secret-token` }));
    await expect(sent).rejects.toMatchObject({ transient: true, message: 'msteams unreachable (ECONNREFUSED)' });
  });

  it('refuses a user_id without a conversation as permanent', async () => {
    await expect(new MsTeamsAdapter().send(dm({ service_url: teams.url, user_id: '29:ada' }))).rejects.toMatchObject({ transient: false });
    expect(teams.requests).toHaveLength(0);
  });
});
