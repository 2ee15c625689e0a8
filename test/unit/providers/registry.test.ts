import type { Address } from '../../../lambdas/domain/addresses';
import type { Channel } from '../../../lambdas/domain/routing';
import { adapterFor, capabilities, fallbackProviders, providersForAddress } from '../../../lambdas/providers/registry';
import { CHANNELS } from '../../../lambdas/domain/routing';
import { catalogEntry, localCaptureSettings } from '../../../lambdas/providers/catalog';

/** The registry on AWS (no local capture servers) and in the local stack: the same module, given its local targets. */
const onAws = {
  adapterFor,
  capabilities: (configured: Parameters<typeof capabilities>[0]) => capabilities(configured, {}),
  fallbackProviders: (channel: Channel, address: Address | undefined) => fallbackProviders(channel, address, {}),
};
const local = {
  fallbackProviders: (channel: Channel, address: Address | undefined) =>
    fallbackProviders(channel, address, { smtpUrl: 'smtp://127.0.0.1:2525', captureUrl: 'http://127.0.0.1:4000/_local/capture' }),
};

describe('adapterFor', () => {
  it.each([
    ['smtp', 'SmtpAdapter'],
    ['ses', 'SesAdapter'],
    ['sns', 'SnsAdapter'],
    ['twilio', 'TwilioAdapter'],
    ['vonage', 'VonageAdapter'],
    ['messagebird', 'MessageBirdAdapter'],
    ['plivo', 'PlivoAdapter'],
    ['telnyx', 'TelnyxAdapter'],
    ['firebase-fcm', 'FcmAdapter'],
    ['slack', 'SlackAdapter'],
    ['msteams', 'MsTeamsAdapter'],
    ['discord', 'DiscordAdapter'],
    ['pagerduty', 'PagerDutyAdapter'],
    ['webhook', 'WebhookAdapter'],
    ['inbox', 'InboxAdapter'],
    ['local-capture', 'LocalCaptureAdapter'],
  ])('returns a new %s adapter on every call', (provider, className) => {
    const a = onAws.adapterFor(provider);
    expect(a?.constructor.name).toBe(className);
    expect(onAws.adapterFor(provider)).not.toBe(a);
  });

  it.each(['no-such-provider', 'constructor', '__proto__', ''])('has no adapter for %j', (provider) => {
    expect(onAws.adapterFor(provider)).toBeUndefined();
  });
});

describe('fallbackProviders (no /providers configured for the channel)', () => {
  it('routes inbox to the built-in inbox and webhook to an unsigned webhook', () => {
    expect(onAws.fallbackProviders('inbox', true)).toEqual([{ provider: 'inbox', settings: {} }]);
    expect(onAws.fallbackProviders('webhook', { url: 'https://h.example' })).toEqual([{ provider: 'webhook', settings: {} }]);
  });

  it('routes direct_message by what the address holds, Slack first', () => {
    const slack = { access_token: 't', channel: 'C1' };
    const teams = { webhook_url: 'https://t.example/h' };
    expect(onAws.fallbackProviders('direct_message', { slack })).toEqual([{ provider: 'slack', settings: {} }]);
    expect(onAws.fallbackProviders('direct_message', { ms_teams: teams })).toEqual([{ provider: 'msteams', settings: {} }]);
    expect(onAws.fallbackProviders('direct_message', { ms_teams: teams, slack }).map((p) => p.provider)).toEqual(['slack', 'msteams']);
  });

  it('has nothing for email, sms and push outside local mode (the caller reports NO_PROVIDERS)', () => {
    for (const channel of ['email', 'sms', 'push'] as const) expect(onAws.fallbackProviders(channel, 'x')).toEqual([]);
  });

  it('sends email to the local SMTP capture and sms/push to the local HTTP capture in local mode', () => {
    expect(local.fallbackProviders('email', 'ada@example.test')).toEqual([
      { provider: 'smtp', settings: { host: '127.0.0.1', port: 2525, secure: false, from: 'notifications@localhost' } },
    ]);
    for (const channel of ['sms', 'push'] as const) {
      expect(local.fallbackProviders(channel, 'x')).toEqual([{ provider: 'local-capture', settings: { url: 'http://127.0.0.1:4000/_local/capture' } }]);
    }
  });

  it('only offers settings that the provider schema accepts, on every channel', () => {
    for (const channel of CHANNELS) {
      for (const { provider, settings } of local.fallbackProviders(channel, { slack: {}, ms_teams: {} })) {
        const schema = provider === 'local-capture' ? localCaptureSettings : catalogEntry(provider)!.settings;
        expect([provider, schema.safeParse(settings).success]).toEqual([provider, true]);
      }
    }
  });
});

describe('capabilities (what the configured providers bring to routing)', () => {
  it.each<[string, { provider: string; settings: Record<string, unknown> }[], boolean]>([
    ['a Slack provider with a bot token', [{ provider: 'slack', settings: { bot_token: 'xoxb' } }], true],
    ['a Slack provider without one', [{ provider: 'slack', settings: {} }], false],
    ['a Slack provider with an empty bot token, which the adapter would not use', [{ provider: 'slack', settings: { bot_token: '' } }], false],
    ['another provider with a bot_token setting', [{ provider: 'msteams', settings: { bot_token: 'xoxb' } }], false],
    [
      'one of two Slack providers with a bot token',
      [
        { provider: 'slack', settings: {} },
        { provider: 'slack', settings: { bot_token: 'xoxb' } },
      ],
      true,
    ],
    ['no providers', [], false],
  ])('%s: slackBotToken %s', (_, configured, slackBotToken) => {
    expect(onAws.capabilities(configured).slackBotToken).toBe(slackBotToken);
  });
});

describe('direct-message providers per part of the address', () => {
  const captureUrl = 'http://127.0.0.1:4000/_local/capture';
  const capture = { provider: 'local-capture', settings: { url: captureUrl } };
  const teamsBot = { service_url: 'https://smba.example', tenant_id: 't', user_id: '29:u' };
  const teamsHook = { webhook_url: 'https://t.example/h' };

  it.each<[string, Record<string, unknown>, object[], object[]]>([
    ['discord on AWS', { discord: { channel_id: 'C' } }, [], [{ provider: 'discord', settings: {} }]],
    ['pagerduty on AWS (its own routing key is enough)', { pagerduty: { routing_key: 'R' } }, [], [{ provider: 'pagerduty', settings: {} }]],
    ['a Teams bot form on AWS', { ms_teams: teamsBot }, [], [{ provider: 'msteams', settings: {} }]],
  ])('falls back for %s', (_, address, configured, expected) => {
    expect(providersForAddress('direct_message', configured as never, address, {})).toEqual(expected);
  });

  it('stands the local capture in for Discord, PagerDuty and Teams bot forms in local mode, once; Slack and Teams webhooks are sent as on AWS', () => {
    const local = { captureUrl };
    expect(fallbackProviders('direct_message', { discord: { channel_id: 'C' }, pagerduty: {} }, local)).toEqual([capture]);
    expect(fallbackProviders('direct_message', { ms_teams: teamsBot }, local)).toEqual([capture]);
    expect(fallbackProviders('direct_message', { ms_teams: teamsHook, slack: { channel: 'C', access_token: 'x' } }, local)).toEqual([
      { provider: 'slack', settings: {} },
      { provider: 'msteams', settings: {} },
    ]);
  });

  it('uses the configured providers that serve a part the address holds, in their order, then the fallbacks of the parts none serves', () => {
    const slack = { provider: 'slack', settings: { bot_token: 'b' } };
    const discord = { provider: 'discord', settings: { bot_token: 'd' } };
    const pagerduty = { provider: 'pagerduty', settings: { routing_key: 'R' } };
    expect(providersForAddress('direct_message', [slack, discord], { discord: { channel_id: 'C' } }, {})).toEqual([discord]);
    expect(providersForAddress('direct_message', [slack], { discord: { channel_id: 'C' }, slack: { channel: 'C' } }, {})).toEqual([
      slack,
      { provider: 'discord', settings: {} },
    ]);
    expect(providersForAddress('direct_message', [pagerduty, slack], { slack: { channel: 'C' }, pagerduty: {} }, {})).toEqual([pagerduty, slack]);
    // Other channels: the configured providers, else the fallbacks, as before.
    expect(providersForAddress('email', [], 'a@b.c', {})).toEqual([]);
    expect(providersForAddress('inbox', [], true, {})).toEqual([{ provider: 'inbox', settings: {} }]);
  });

  it.each<[string, { provider: string; settings: Record<string, unknown> }[], string | undefined, Partial<Record<string, boolean>>]>([
    ['nothing configured on AWS', [], undefined, { teamsBot: false, discordBot: false, pagerdutyRoutingKey: false }],
    ['nothing configured in local mode (the capture stands in)', [], captureUrl, { teamsBot: true, discordBot: true, pagerdutyRoutingKey: true }],
    ['a Teams provider with app credentials', [{ provider: 'msteams', settings: { app_id: 'a', app_password: 'p' } }], undefined, { teamsBot: true }],
    ['a Teams provider for webhooks only', [{ provider: 'msteams', settings: {} }], undefined, { teamsBot: false }],
    ['a Discord provider', [{ provider: 'discord', settings: { bot_token: 'd' } }], undefined, { discordBot: true, discordWebhook: false }],
    [
      'a Discord provider with a webhook only',
      [{ provider: 'discord', settings: { webhook_url: 'https://discord.com/api/webhooks/1/t' } }],
      undefined,
      { discordBot: false, discordWebhook: true },
    ],
    [
      'a Discord webhook in local mode (the configured provider, not the capture, sends: no bot)',
      [{ provider: 'discord', settings: { webhook_url: 'https://discord.com/api/webhooks/1/t' } }],
      captureUrl,
      { discordBot: false, discordWebhook: true, teamsBot: true },
    ],
    ['a PagerDuty provider with a routing key', [{ provider: 'pagerduty', settings: { routing_key: 'R' } }], undefined, { pagerdutyRoutingKey: true }],
    ['a PagerDuty provider without one', [{ provider: 'pagerduty', settings: {} }], undefined, { pagerdutyRoutingKey: false }],
  ])('capabilities: %s', (_, configured, url, expected) => {
    expect(capabilities(configured, { captureUrl: url })).toMatchObject(expected);
  });
});
