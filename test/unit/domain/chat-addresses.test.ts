import { discordAddress, NO_CAPABILITIES, pagerdutyAddress, teamsAddress, teamsForm, type Capabilities } from '../../../lambdas/domain/addresses';
import { channelAddress, toTarget, type Reach } from '../../../lambdas/domain/routing';
import { messageSchema, storedMessageSchema } from '../../../lambdas/domain/send';

const smba = 'https://smba.trafficmanager.net/amer';
const issues = (result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
  result.success ? [] : result.error!.issues.map((i) => `${i.path.map(String).join('.') || '(object)'}: ${i.message}`);

describe('ms_teams address forms (the SDK MsTeams union, plus incoming webhooks)', () => {
  it.each<[string, Record<string, unknown>, string | string[]]>([
    ['an incoming webhook', { webhook_url: 'https://x.webhook.office.com/a' }, 'webhook'],
    ['a conversation_id (tenant optional)', { service_url: smba, conversation_id: '19:a@thread' }, 'conversation'],
    ['a conversation_id with tenant', { service_url: smba, tenant_id: 't', conversation_id: '19:a@thread' }, 'conversation'],
    ['a channel_id', { service_url: smba, tenant_id: 't', channel_id: '19:c@thread' }, 'channel'],
    ['a channel_name with team_id', { service_url: smba, tenant_id: 't', channel_name: 'Ops', team_id: 'team' }, 'channel_name'],
    ['a user_id', { service_url: smba, tenant_id: 't', user_id: '29:u' }, 'user'],
    ['an email', { service_url: smba, tenant_id: 't', email: 'ada@example.test' }, 'email'],
    ['conversation_id wins over user_id', { service_url: smba, tenant_id: 't', user_id: '29:u', conversation_id: 'c' }, 'conversation'],
    ['channel_id wins over channel_name', { service_url: smba, tenant_id: 't', channel_id: 'c', channel_name: 'Ops', team_id: 'x' }, 'channel'],
    ['user_id without tenant_id', { service_url: smba, user_id: '29:u' }, ['tenant_id: is required to reach a channel_id, channel_name, user_id or email']],
    ['email without tenant_id', { service_url: smba, email: 'a@b.c' }, ['tenant_id: is required to reach a channel_id, channel_name, user_id or email']],
    ['channel_name without team_id', { service_url: smba, tenant_id: 't', channel_name: 'Ops' }, ['team_id: is required with channel_name']],
    [
      'a form without service_url',
      { tenant_id: 't', channel_id: 'c' },
      ['service_url: is required (the Bot Framework service URL of the tenant) without a webhook_url'],
    ],
    [
      'a service_url alone',
      { service_url: smba, tenant_id: 't' },
      ['(object): needs a webhook_url, or a service_url with a conversation_id, channel_id, channel_name (with team_id), user_id or email'],
    ],
    ['an email that is not one', { service_url: smba, tenant_id: 't', email: 'ada' }, ['email: must be an email address']],
    ['a blank user_id', { service_url: smba, tenant_id: 't', user_id: ' ' }, ['user_id: must not be blank']],
  ])('%s', (_, value, expected) => {
    const parsed = teamsAddress.safeParse(value);
    if (typeof expected === 'string') expect(teamsForm(parsed.data!)).toBe(expected);
    else expect(issues(parsed)).toEqual(expected);
  });
});

describe('discord and pagerduty addresses', () => {
  it.each<[string, unknown, string[]]>([
    ['discord channel_id', { channel_id: '768866348853383208' }, []],
    ['discord user_id', { user_id: '617099137532932107' }, []],
    ['discord neither', { guild_id: 'g' }, ['(object): must name a channel_id or user_id']],
    ['discord blank channel_id', { channel_id: '' }, ['channel_id: must not be blank']],
  ])('%s', (_, value, expected) => expect(issues(discordAddress.safeParse(value))).toEqual(expected));

  it.each<[string, unknown, string[]]>([
    ['pagerduty empty (the provider brings the rest)', {}, []],
    ['pagerduty all fields', { routing_key: 'R', event_action: 'resolve', severity: 'warning', source: 'db' }, []],
    ['pagerduty nulls are "not set"', { routing_key: null, event_action: null, severity: null, source: null }, []],
    ['pagerduty unknown event_action', { event_action: 'page' }, ['event_action: must be one of trigger, acknowledge, resolve']],
    ['pagerduty unknown severity', { severity: 'loud' }, ['severity: must be one of critical, error, warning, info']],
  ])('%s', (_, value, expected) => expect(issues(pagerdutyAddress.safeParse(value))).toEqual(expected));
});

describe('direct_message reachability of the chat addresses', () => {
  const none: Reach = { hasUserId: false, ...NO_CAPABILITIES };
  const all: Reach = {
    hasUserId: false,
    slackBotToken: true,
    teamsBot: true,
    discordBot: true,
    discordWebhook: true,
    pagerdutyRoutingKey: true,
  } satisfies Capabilities & Reach;
  const hookOnly: Reach = { ...none, discordWebhook: true };
  const teamsUser = { service_url: smba, tenant_id: 't', user_id: '29:u' };
  const teamsConversation = { service_url: smba, conversation_id: 'c' };

  it.each<[string, string, Record<string, unknown>, Reach, Record<string, unknown> | undefined]>([
    ['teams user_id with a Teams bot', 'direct_message', { ms_teams: teamsUser }, all, { ms_teams: teamsUser }],
    ['teams user_id without one', 'direct_message', { ms_teams: teamsUser }, none, undefined],
    ['teams conversation_id without a bot (unauthenticated post)', 'direct_message', { ms_teams: teamsConversation }, none, { ms_teams: teamsConversation }],
    ['discord with a Discord bot', 'direct_message', { discord: { channel_id: 'C' } }, all, { discord: { channel_id: 'C' } }],
    ['discord without one', 'direct_message', { discord: { channel_id: 'C' } }, none, undefined],
    ['discord channel_id with a Discord webhook only', 'direct_message', { discord: { channel_id: 'C' } }, hookOnly, { discord: { channel_id: 'C' } }],
    ['discord user_id with a Discord webhook only (a webhook sends no DM)', 'direct_message', { discord: { user_id: 'U' } }, hookOnly, undefined],
    ['pagerduty with its own routing_key', 'direct_message', { pagerduty: { routing_key: 'R' } }, none, { pagerduty: { routing_key: 'R' } }],
    ['pagerduty without one, none configured', 'direct_message', { pagerduty: { severity: 'info' } }, none, undefined],
    ['pagerduty without one, the provider has one', 'direct_message', { pagerduty: {} }, all, { pagerduty: {} }],
    ['pinned to discord: only its part', 'discord', { discord: { user_id: 'U' }, pagerduty: { routing_key: 'R' } }, all, { discord: { user_id: 'U' } }],
    [
      'pinned to pagerduty: only its part',
      'pagerduty',
      { discord: { user_id: 'U' }, pagerduty: { routing_key: 'R' } },
      all,
      { pagerduty: { routing_key: 'R' } },
    ],
    ['pinned to msteams with no ms_teams', 'msteams', { discord: { user_id: 'U' } }, all, undefined],
    [
      'every part at once',
      'direct_message',
      { discord: { user_id: 'U' }, pagerduty: { routing_key: 'R' } },
      all,
      { discord: { user_id: 'U' }, pagerduty: { routing_key: 'R' } },
    ],
  ])('%s', (_, entry, profile, reach, expected) => {
    expect(channelAddress(toTarget(entry)!, profile, reach)).toEqual(expected);
  });

  it('discord and pagerduty are direct-message provider keys for routing', () => {
    expect([toTarget('discord'), toTarget('pagerduty')]).toEqual([
      { channel: 'direct_message', provider: 'discord' },
      { channel: 'direct_message', provider: 'pagerduty' },
    ]);
  });
});

describe('inline chat addresses in a send', () => {
  const send = (to: unknown) => ({ to, content: { body: 'x' } });

  it.each<[string, unknown, string[]]>([
    ['every ms_teams form', [{ ms_teams: { service_url: smba, tenant_id: 't', email: 'a@b.c' } }, { ms_teams: { webhook_url: 'https://h.example/x' } }], []],
    ['discord and pagerduty', [{ discord: { user_id: 'U' } }, { pagerduty: { routing_key: null } }], []],
    ['a Teams user without tenant_id', { ms_teams: { service_url: smba, user_id: '29:u' } }, ['to.ms_teams.tenant_id']],
    ['a discord object naming nothing', [{ discord: {} }], ['to.0.discord']],
    ['a pagerduty severity PagerDuty does not have', { pagerduty: { severity: 'loud' } }, ['to.pagerduty.severity']],
  ])('%s', (_, to, paths) => {
    const parsed = messageSchema.safeParse(send(to));
    expect(parsed.success ? [] : parsed.error.issues.map((i) => i.path.join('.'))).toEqual(paths);
  });

  it('reads back a stored request whose ms_teams predates the checks (routing decides at delivery)', () => {
    const stored = send({ ms_teams: { service_url: smba, user_id: '29:u' } });
    expect(messageSchema.safeParse(stored).success).toBe(false);
    expect(storedMessageSchema.parse(stored).to).toEqual({ ms_teams: { service_url: smba, user_id: '29:u' } });
  });
});
