import './allow-private-egress';
import type { RenderedOutput } from '../../../lambdas/domain/render';
import { forgetTeamsTokens, MsTeamsAdapter } from '../../../lambdas/providers/msteams';
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

  it('refuses a form that opens a conversation when the provider has no bot credentials, as permanent', async () => {
    const sent = new MsTeamsAdapter().send(dm({ service_url: teams.url, tenant_id: 'T1', user_id: '29:ada' }));
    await expect(sent).rejects.toMatchObject({
      transient: false,
      message: "msteams: reaching a user needs the provider's app_id and app_password (a Teams bot)",
    });
    expect(teams.requests).toHaveLength(0);
  });
});

describe('msteams adapter as a Bot Framework bot (proactive messages)', () => {
  const bot = () => ({ app_id: 'app-1', app_password: 'secret-1', login_url: `${teams.url}/login`, graph_url: `${teams.url}/graph` });
  const asBot = (msTeams: Record<string, unknown>) => ({ ...dm({ service_url: `${teams.url}/smba`, tenant_id: 'tenant-9', ...msTeams }), settings: bot() });
  const calls = () => teams.requests.map((r) => `${r.method} ${r.path}`);
  const body = (i: number) => JSON.parse(teams.requests[i].body);
  let issued = 0;

  beforeEach(() => {
    forgetTeamsTokens();
    issued = 0;
    teams.reply((req) => {
      if (req.path.endsWith('/oauth2/v2.0/token')) return { status: 200, body: { token_type: 'Bearer', expires_in: 3599, access_token: `tok-${++issued}` } };
      if (req.path.startsWith('/graph/v1.0/users/')) return req.path.includes('nobody') ? { status: 404, body: {} } : { status: 200, body: { id: 'aad-ada' } };
      if (req.path === '/smba/v3/teams/team-1/conversations') {
        return {
          status: 200,
          body: {
            conversations: [
              { id: '19:general@thread.tacv2', name: null },
              { id: '19:ops@thread.tacv2', name: 'Ops Alerts' },
            ],
          },
        };
      }
      if (req.path === '/smba/v3/conversations')
        return { status: 201, body: body(teams.requests.length - 1).isGroup ? { id: '19:ops;messageid=1', activityId: 'act-1' } : { id: 'a:1on1' } };
      return { status: 201, body: { id: 'act-2' } };
    });
  });

  it('signs in with client credentials at the Microsoft login endpoint, then creates the 1:1 conversation for a user_id and posts to it', async () => {
    const result = await new MsTeamsAdapter().send(asBot({ user_id: '29:ada' }));

    expect(result).toEqual({ status: 'SENT', providerMessageId: 'act-2' });
    expect(calls()).toEqual([
      'POST /login/botframework.com/oauth2/v2.0/token',
      'POST /smba/v3/conversations',
      'POST /smba/v3/conversations/a%3A1on1/activities',
    ]);
    expect(teams.requests[0].headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(teams.requests[0].body))).toEqual({
      grant_type: 'client_credentials',
      client_id: 'app-1',
      client_secret: 'secret-1',
      scope: 'https://api.botframework.com/.default',
    });
    expect(teams.requests.slice(1).map((r) => r.headers.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-1']);
    expect(body(1)).toEqual({
      bot: { id: '28:app-1' },
      members: [{ id: '29:ada' }],
      channelData: { tenant: { id: 'tenant-9' } },
      tenantId: 'tenant-9',
      isGroup: false,
    });
    expect(body(2)).toEqual(expectedActivity);
  });

  it('keeps the bot token until it expires: a second message signs in no more', async () => {
    await new MsTeamsAdapter().send(asBot({ user_id: '29:ada' }));
    await new MsTeamsAdapter().send(asBot({ conversation_id: 'a:1on1' }));
    expect(calls().filter((c) => c.includes('/token'))).toHaveLength(1);
    expect(teams.requests.at(-1)!.headers.authorization).toBe('Bearer tok-1');
  });

  it('signs in again once the token is within five minutes of expiring', async () => {
    const answer = teams.requests.length;
    teams.reply((req) =>
      req.path.endsWith('/token') ? { status: 200, body: { expires_in: 299, access_token: `short-${++issued}` } } : { status: 201, body: { id: 'act' } },
    );
    await new MsTeamsAdapter().send(asBot({ conversation_id: 'c1' }));
    await new MsTeamsAdapter().send(asBot({ conversation_id: 'c1' }));
    expect(
      calls()
        .slice(answer)
        .filter((c) => c.includes('/token')),
    ).toHaveLength(2);
    expect(teams.requests.at(-1)!.headers.authorization).toBe('Bearer short-2');
  });

  it("finds an email's user in Microsoft Graph with a token for the recipient's tenant, then messages that user", async () => {
    await new MsTeamsAdapter().send(asBot({ email: 'ada@example.test' }));
    expect(calls()).toEqual([
      'POST /login/botframework.com/oauth2/v2.0/token',
      'POST /login/tenant-9/oauth2/v2.0/token',
      'GET /graph/v1.0/users/ada%40example.test?$select=id',
      'POST /smba/v3/conversations',
      'POST /smba/v3/conversations/a%3A1on1/activities',
    ]);
    expect(new URLSearchParams(teams.requests[1].body).get('scope')).toBe('https://graph.microsoft.com/.default');
    expect(teams.requests[2].headers.authorization).toBe('Bearer tok-2');
    expect(body(3).members).toEqual([{ id: 'aad-ada' }]);
  });

  it('fails permanently for an email no user of the tenant has', async () => {
    await expect(new MsTeamsAdapter().send(asBot({ email: 'nobody@example.test' }))).rejects.toMatchObject({
      transient: false,
      message: 'msteams: no user with that email in the tenant',
    });
  });

  it('starts a thread in a channel by channel_id', async () => {
    const result = await new MsTeamsAdapter().send(asBot({ channel_id: '19:ops@thread.tacv2' }));
    expect(result).toEqual({ status: 'SENT', providerMessageId: 'act-1' });
    expect(calls()).toEqual(['POST /login/botframework.com/oauth2/v2.0/token', 'POST /smba/v3/conversations']);
    expect(teams.requests[1].headers.authorization).toBe('Bearer tok-1');
    expect(body(1)).toEqual({
      isGroup: true,
      channelData: { channel: { id: '19:ops@thread.tacv2' }, tenant: { id: 'tenant-9' } },
      activity: expectedActivity,
    });
  });

  it("finds a channel_name among the team's channels (case-insensitively; General is listed without a name)", async () => {
    await new MsTeamsAdapter().send(asBot({ channel_name: 'ops alerts', team_id: 'team-1' }));
    expect(calls()).toEqual(['POST /login/botframework.com/oauth2/v2.0/token', 'GET /smba/v3/teams/team-1/conversations', 'POST /smba/v3/conversations']);
    expect(body(2).channelData.channel).toEqual({ id: '19:ops@thread.tacv2' });
    await new MsTeamsAdapter().send(asBot({ channel_name: 'General', team_id: 'team-1' }));
    expect(body(4).channelData.channel).toEqual({ id: '19:general@thread.tacv2' });
    await expect(new MsTeamsAdapter().send(asBot({ channel_name: 'Nope', team_id: 'team-1' }))).rejects.toMatchObject({
      transient: false,
      message: 'msteams: the team has no channel of that channel_name',
    });
  });

  it('posts to a conversation_id with the bot token, and uses the tenant of a single-tenant bot to sign in', async () => {
    await new MsTeamsAdapter().send({ ...asBot({ conversation_id: '19:abc@thread.tacv2' }), settings: { ...bot(), app_tenant_id: 'home-tenant' } });
    expect(calls()).toEqual(['POST /login/home-tenant/oauth2/v2.0/token', 'POST /smba/v3/conversations/19%3Aabc%40thread.tacv2/activities']);
    expect(teams.requests[1].headers.authorization).toBe('Bearer tok-1');
  });

  it('reports a refused sign-in (401) as permanent and a throttled one (429) as transient', async () => {
    teams.reply(() => ({ status: 401, body: { error: 'invalid_client' } }));
    await expect(new MsTeamsAdapter().send(asBot({ user_id: '29:ada' }))).rejects.toMatchObject({
      transient: false,
      message: 'msteams token endpoint answered 401',
    });
    teams.reply(() => ({ status: 429, headers: { 'retry-after': '5' } }));
    await expect(new MsTeamsAdapter().send(asBot({ user_id: '29:ada' }))).rejects.toMatchObject({ transient: true, retryAfterMs: 5000 });
  });
});
