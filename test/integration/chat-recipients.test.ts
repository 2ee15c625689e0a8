import { startTestStack, type TestStack } from '../helpers/stack';
import { sendAndWait } from '../helpers/send';
import { uid } from '../helpers/wait';
import { startRecorder, type Recorded, type Recorder } from './providers/recorder';

/**
 * Issue 15 item 8: `pagerduty`, `discord` and every `ms_teams` form the SDK types, sent through the
 * SDK and delivered to local fakes of PagerDuty's Events API, Discord's API and the Microsoft login
 * endpoint, Graph and Bot Framework connector.
 */
let s: TestStack;
let fake: Recorder;
const providerIds: string[] = [];
const content = { title: 'Disk full', body: 'db-1 /var is at 99%' };

beforeAll(async () => {
  fake = await startRecorder();
  // No provider cache: the last test removes the providers to show the local capture.
  s = await startTestStack({ env: { CACHE_TTL_MS: '0' } });
  for (const [provider, settings] of [
    ['pagerduty', { api_url: `${fake.url}/pd`, routing_key: 'R-SETTINGS' }],
    ['discord', { bot_token: 'discord-bot', api_url: `${fake.url}/discord/api/v10` }],
    ['msteams', { app_id: 'app-1', app_password: 'teams-secret', login_url: `${fake.url}/login`, graph_url: `${fake.url}/graph` }],
  ] as const) {
    const created = await s.http('POST', '/providers', { provider, settings });
    expect([provider, created.status]).toEqual([provider, 200]);
    providerIds.push(created.json.id);
  }
});
afterAll(async () => {
  await s?.stop();
  await fake?.close();
});

/** Tokens that expire at once (the adapter keeps one until five minutes before it expires), so every send signs in and the calls are the same in each test. */
function answer(req: Recorded) {
  if (req.path.startsWith('/pd/')) return { status: 202, body: { status: 'success', dedup_key: JSON.parse(req.body).dedup_key } };
  if (req.path === '/discord/api/v10/users/@me/channels') return { status: 200, body: { id: 'DM-1' } };
  if (req.path.startsWith('/discord/')) return { status: 200, body: { id: 'discord-msg' } };
  if (req.path.endsWith('/oauth2/v2.0/token')) return { status: 200, body: { expires_in: 1, access_token: 'teams-token' } };
  if (req.path.startsWith('/graph/v1.0/users/')) return { status: 200, body: { id: 'aad-ada' } };
  if (req.path === '/smba/v3/teams/team-1/conversations') return { status: 200, body: { conversations: [{ id: '19:ops@thread', name: 'Ops' }] } };
  if (req.path === '/smba/v3/conversations')
    return { status: 201, body: JSON.parse(req.body).isGroup ? { id: '19:ops@thread;m=1', activityId: 'act-ch' } : { id: 'a:1on1' } };
  return { status: 201, body: { id: 'act-1' } };
}
beforeEach(() => {
  fake.requests.length = 0;
  fake.reply(answer);
});

const calls = () => fake.requests.map((r) => `${r.method} ${r.path}`);
const bodyAt = (path: string) => JSON.parse(fake.requests.find((r) => r.path === path)!.body);

describe('the providers', () => {
  it('are in the catalog with their settings schema, and their secrets are redacted on read', async () => {
    const catalog = await s.client.providers.catalog.list({ keys: 'discord,pagerduty,msteams' });
    const byKey = Object.fromEntries(catalog.results.map((p) => [p.provider, p]));
    expect(Object.keys(byKey).sort()).toEqual(['discord', 'msteams', 'pagerduty']);
    expect(byKey.discord).toMatchObject({
      channel: 'direct_message',
      settings: { bot_token: { type: 'string', required: false }, webhook_url: { required: false }, api_url: { required: false } },
    });
    expect(byKey.pagerduty.settings).toMatchObject({
      routing_key: { required: false },
      severity: { type: 'enum', values: ['critical', 'error', 'warning', 'info'] },
    });
    expect(byKey.msteams.settings).toMatchObject({ app_id: { required: false }, app_password: { required: false }, login_url: { required: false } });

    const listed = JSON.stringify(await s.client.providers.list());
    for (const secret of ['discord-bot', 'R-SETTINGS', 'teams-secret']) expect(listed).not.toContain(secret);
    expect(await s.client.providers.retrieve(providerIds[2])).toMatchObject({ settings: { app_id: 'app-1', app_password: '********' } });
    const half = await s.http('POST', '/providers', { provider: 'msteams', settings: { app_id: 'a' } });
    expect([half.status, half.json.message]).toEqual([400, expect.stringContaining('app_password')]);
  });
});

describe('pagerduty recipients', () => {
  it('an inline pagerduty recipient (default routing) triggers an event with its routing key, severity and source', async () => {
    const { messages } = await sendAndWait(s, { to: { pagerduty: { routing_key: 'R-PROFILE', severity: 'critical', source: 'db-1' } }, content }, 1);

    expect(messages.map((m) => [m.status, m.channel])).toEqual([['SENT', 'direct_message']]);
    expect(calls()).toEqual(['POST /pd/v2/enqueue']);
    expect(fake.requests[0].headers['content-type']).toBe('application/json');
    expect(bodyAt('/pd/v2/enqueue')).toEqual({
      routing_key: 'R-PROFILE',
      event_action: 'trigger',
      dedup_key: `${messages[0].id}:direct_message`,
      payload: { summary: 'Disk full', source: 'db-1', severity: 'critical', custom_details: { title: 'Disk full', body: 'db-1 /var is at 99%' } },
    });
  });

  it("a user's profile pagerduty object without a routing key uses the provider's, through routing that names pagerduty", async () => {
    const u = uid('pd');
    await s.client.profiles.replace(u, { profile: { pagerduty: { event_action: 'trigger', severity: null } } });
    const { messages } = await sendAndWait(s, { to: { user_id: u }, content, routing: { method: 'single', channels: ['pagerduty'] } }, 1);

    expect(messages[0].status).toBe('SENT');
    expect(bodyAt('/pd/v2/enqueue')).toMatchObject({
      routing_key: 'R-SETTINGS',
      dedup_key: `${messages[0].id}:direct_message:pagerduty`,
      payload: { severity: 'info', source: 'notifications' },
    });
  });

  it('an inline pagerduty object with an unknown severity is a 400 naming it', async () => {
    const r = await s.http('POST', '/send', { message: { to: { pagerduty: { severity: 'loud' } }, content } });
    expect([r.status, r.json.message]).toEqual([400, expect.stringContaining('message.to.pagerduty.severity: must be one of critical, error, warning, info')]);
  });
});

describe('discord recipients', () => {
  it('posts to a channel_id with the bot token', async () => {
    const { messages } = await sendAndWait(s, { to: { discord: { channel_id: '768866348853383208' } }, content }, 1);

    expect(messages[0].status).toBe('SENT');
    expect(calls()).toEqual(['POST /discord/api/v10/channels/768866348853383208/messages']);
    expect(fake.requests[0].headers.authorization).toBe('Bot discord-bot');
    expect(bodyAt('/discord/api/v10/channels/768866348853383208/messages')).toMatchObject({
      content: '**Disk full**\n\ndb-1 /var is at 99%',
      allowed_mentions: { parse: [] },
    });
  });

  it("opens a DM for a user's profile discord.user_id and posts to it", async () => {
    const u = uid('dc');
    await s.client.profiles.replace(u, { profile: { discord: { user_id: '617099137532932107' } } });
    const { messages } = await sendAndWait(s, { to: { user_id: u }, content, routing: { method: 'single', channels: ['discord'] } }, 1);

    expect(messages[0].status).toBe('SENT');
    expect(calls()).toEqual(['POST /discord/api/v10/users/@me/channels', 'POST /discord/api/v10/channels/DM-1/messages']);
    expect(bodyAt('/discord/api/v10/users/@me/channels')).toEqual({ recipient_id: '617099137532932107' });
  });

  it('a discord object naming neither channel_id nor user_id: a profile is UNROUTABLE, an inline `to` a 400', async () => {
    const u = uid('dc-none');
    await s.client.profiles.replace(u, { profile: { discord: { guild_id: 'g' } } });
    const { messages } = await sendAndWait(s, { to: { user_id: u }, content, routing: { method: 'single', channels: ['discord'] } }, 1);
    expect([messages[0].status, messages[0].reason]).toEqual(['UNROUTABLE', 'NO_CHANNELS']);

    const r = await s.http('POST', '/send', { message: { to: { discord: {} }, content } });
    expect([r.status, r.json.message]).toEqual([400, expect.stringContaining('message.to.discord: must name a channel_id or user_id')]);
    expect(fake.requests).toHaveLength(0);
  });
});

describe('ms_teams recipients, every form the SDK types', () => {
  const base = () => ({ service_url: `${fake.url}/smba`, tenant_id: 'tenant-9' });
  const teams = (msTeams: Record<string, unknown>) => sendAndWait(s, { to: { ms_teams: { ...base(), ...msTeams } }, content }, 1);
  const activity = { type: 'message', summary: 'Disk full' };

  it('user_id: signs in as the bot, creates the 1:1 conversation and posts the card', async () => {
    const { messages } = await teams({ user_id: '29:ada' });
    expect(messages[0].status).toBe('SENT');
    expect(calls()).toEqual([
      'POST /login/botframework.com/oauth2/v2.0/token',
      'POST /smba/v3/conversations',
      'POST /smba/v3/conversations/a%3A1on1/activities',
    ]);
    expect(fake.requests.slice(1).map((r) => r.headers.authorization)).toEqual(['Bearer teams-token', 'Bearer teams-token']);
    expect(bodyAt('/smba/v3/conversations')).toMatchObject({ members: [{ id: '29:ada' }], channelData: { tenant: { id: 'tenant-9' } }, isGroup: false });
    expect(bodyAt('/smba/v3/conversations/a%3A1on1/activities')).toMatchObject(activity);
  });

  it('email: finds the user in Microsoft Graph, then messages them', async () => {
    const { messages } = await teams({ email: 'ada@example.test' });
    expect(messages[0].status).toBe('SENT');
    expect(calls()).toEqual([
      'POST /login/botframework.com/oauth2/v2.0/token',
      'POST /login/tenant-9/oauth2/v2.0/token',
      'GET /graph/v1.0/users/ada%40example.test?$select=id',
      'POST /smba/v3/conversations',
      'POST /smba/v3/conversations/a%3A1on1/activities',
    ]);
    expect(bodyAt('/smba/v3/conversations').members).toEqual([{ id: 'aad-ada' }]);
  });

  it('channel_id: starts a thread in the channel', async () => {
    const { messages } = await teams({ channel_id: '19:ops@thread' });
    expect(messages[0].status).toBe('SENT');
    expect(calls()).toEqual(['POST /login/botframework.com/oauth2/v2.0/token', 'POST /smba/v3/conversations']);
    expect(bodyAt('/smba/v3/conversations')).toMatchObject({
      isGroup: true,
      channelData: { channel: { id: '19:ops@thread' }, tenant: { id: 'tenant-9' } },
      activity,
    });
  });

  it("channel_name with team_id: finds the channel among the team's, then posts there", async () => {
    const { messages } = await teams({ channel_name: 'Ops', team_id: 'team-1' });
    expect(messages[0].status).toBe('SENT');
    expect(calls()).toEqual(['POST /login/botframework.com/oauth2/v2.0/token', 'GET /smba/v3/teams/team-1/conversations', 'POST /smba/v3/conversations']);
    expect(bodyAt('/smba/v3/conversations').channelData.channel).toEqual({ id: '19:ops@thread' });
  });

  it('conversation_id: posts to the conversation with the bot token', async () => {
    const { messages } = await teams({ conversation_id: '19:abc@thread' });
    expect(messages[0].status).toBe('SENT');
    expect(calls()).toEqual(['POST /login/botframework.com/oauth2/v2.0/token', 'POST /smba/v3/conversations/19%3Aabc%40thread/activities']);
    expect(bodyAt('/smba/v3/conversations/19%3Aabc%40thread/activities')).toMatchObject(activity);
  });

  it('a form missing its required field: a profile is UNROUTABLE, an inline `to` a 400 naming the field', async () => {
    const u = uid('teams-none');
    await s.client.profiles.replace(u, { profile: { ms_teams: { service_url: `${fake.url}/smba`, user_id: '29:ada' } } });
    const { messages } = await sendAndWait(s, { to: { user_id: u }, content, routing: { method: 'single', channels: ['msteams'] } }, 1);
    expect([messages[0].status, messages[0].reason]).toEqual(['UNROUTABLE', 'NO_CHANNELS']);

    for (const [msTeams, field] of [
      [{ service_url: 'https://smba.example', user_id: '29:ada' }, 'message.to.ms_teams.tenant_id: is required'],
      [{ service_url: 'https://smba.example', tenant_id: 't', channel_name: 'Ops' }, 'message.to.ms_teams.team_id: is required with channel_name'],
      [{ tenant_id: 't', email: 'ada@example.test' }, 'message.to.ms_teams.service_url: is required'],
      [{ service_url: 'https://smba.example', tenant_id: 't' }, 'message.to.ms_teams: needs a webhook_url'],
    ] as const) {
      const r = await s.http('POST', '/send', { message: { to: { ms_teams: msTeams }, content } });
      expect([r.status, r.json.message]).toEqual([400, expect.stringContaining(field)]);
    }
    expect(fake.requests).toHaveLength(0);
  });
});

describe('without providers, in local mode', () => {
  it('discord, pagerduty and Teams bot forms land in the local capture (npm start shows them)', async () => {
    for (const id of providerIds) expect((await s.http('DELETE', `/providers/${id}`)).status).toBeLessThan(300);
    const { messages } = await sendAndWait(
      s,
      {
        to: [
          { discord: { channel_id: 'C-local' } },
          { pagerduty: { severity: 'error' } },
          { ms_teams: { service_url: `${fake.url}/smba`, tenant_id: 't', user_id: '29:ada' } },
        ],
        content,
      },
      3,
    );

    expect(messages.map((m) => m.status)).toEqual(['SENT', 'SENT', 'SENT']);
    expect(fake.requests).toHaveLength(0);
    const captured = s.captures().filter((c) => messages.some((m) => m.id === c.messageId));
    expect(captured.map((c) => (c.via === 'http' ? [c.channel, Object.keys(c.address as object)] : [])).sort()).toEqual([
      ['direct_message', ['discord']],
      ['direct_message', ['ms_teams']],
      ['direct_message', ['pagerduty']],
    ]);
  });
});
