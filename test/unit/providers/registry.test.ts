import type { Address } from '../../../lambdas/domain/addresses';
import type { Channel } from '../../../lambdas/domain/routing';
import { adapterFor, capabilities, fallbackProviders } from '../../../lambdas/providers/registry';
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
    ['firebase-fcm', 'FcmAdapter'],
    ['slack', 'SlackAdapter'],
    ['msteams', 'MsTeamsAdapter'],
    ['webhook', 'WebhookAdapter'],
    ['inbox', 'InboxAdapter'],
    ['local-capture', 'LocalCaptureAdapter'],
  ])('returns a new %s adapter on every call', (provider, className) => {
    const a = onAws.adapterFor(provider);
    expect(a?.constructor.name).toBe(className);
    expect(onAws.adapterFor(provider)).not.toBe(a);
  });

  it.each(['twilio', 'constructor', '__proto__', ''])('has no adapter for %j', (provider) => {
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
