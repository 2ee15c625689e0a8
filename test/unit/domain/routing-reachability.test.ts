import { NO_CAPABILITIES } from '../../../lambdas/domain/addresses';
import { channelAddress, toTarget, type Reach } from '../../../lambdas/domain/routing';

/**
 * Reachability per channel: whether `channelAddress` finds an address for a routing entry in a
 * profile, given what the configured providers bring. Routing and the provider adapters read the
 * address with the same schemas (domain/addresses.ts), so what routing reaches is what the
 * adapters can send to, and what they would refuse is not attempted.
 */
const withUser: Reach = { hasUserId: true, ...NO_CAPABILITIES };
const anonymous: Reach = { hasUserId: false, ...NO_CAPABILITIES };
const slackBot: Reach = { hasUserId: false, ...NO_CAPABILITIES, slackBotToken: true };

type Case = [name: string, entry: string, profile: Record<string, unknown>, reach: Reach, reachable: boolean];

describe('reachability per channel', () => {
  it.each<Case>([
    // email
    ['email with an @', 'email', { email: 'ada@example.test' }, anonymous, true],
    ['email without an @', 'email', { email: 'ada' }, anonymous, false],
    ['email that is not a string', 'email', { email: 42 }, anonymous, false],
    ['email as a list', 'email', { email: ['ada@example.test'] }, anonymous, false],
    ['no email', 'email', {}, anonymous, false],
    // sms
    ['sms with a phone number', 'sms', { phone_number: '+15550100' }, anonymous, true],
    ['sms with a blank phone number', 'sms', { phone_number: '  ' }, anonymous, false],
    ['sms with a numeric phone number', 'sms', { phone_number: 15550100 }, anonymous, false],
    // push
    ['push with an FCM token', 'push', { firebaseToken: 't' }, anonymous, true],
    ['push with a list of FCM tokens', 'push', { firebaseToken: ['', 't'] }, anonymous, true],
    ['push with only blank FCM tokens', 'push', { firebaseToken: [''] }, anonymous, false],
    ['push with an FCM token that is not a string', 'push', { firebaseToken: 7 }, anonymous, false],
    ['push with an APNs token', 'push', { apn: 'a' }, anonymous, true],
    ['push through an SNS endpoint', 'push', { target_arn: 'arn:aws:sns:x' }, anonymous, true],
    ['push pinned to FCM with only an APNs token', 'firebase-fcm', { apn: 'a' }, anonymous, false],
    ['push pinned to FCM with its token', 'firebase-fcm', { firebaseToken: 't', apn: 'a' }, anonymous, true],
    // inbox
    ['inbox with a user id', 'inbox', {}, withUser, true],
    ['inbox without a user id', 'inbox', { email: 'ada@example.test' }, anonymous, false],
    // direct_message: Slack
    ['slack with a token and a channel', 'slack', { slack: { access_token: 'xoxp', channel: 'C1' } }, anonymous, true],
    ['slack with a channel, no token anywhere', 'slack', { slack: { channel: 'C1' } }, anonymous, false],
    ["slack with a channel and the Slack provider's bot token", 'slack', { slack: { channel: 'C1' } }, slackBot, true],
    ["slack with a user id and the Slack provider's bot token", 'direct_message', { slack: { user_id: 'U1' } }, slackBot, true],
    ["slack with an email and the Slack provider's bot token", 'slack', { slack: { email: 'ada@example.test' } }, slackBot, true],
    ['slack with a token but nowhere to post', 'slack', { slack: { access_token: 'xoxp' } }, slackBot, false],
    ['slack with a blank channel', 'slack', { slack: { access_token: 'xoxp', channel: ' ' } }, anonymous, false],
    ['slack with a channel that is not a string', 'slack', { slack: { access_token: 'xoxp', channel: 5, user_id: 'U1' } }, anonymous, false],
    ['slack pinned to Teams', 'msteams', { slack: { access_token: 'xoxp', channel: 'C1' } }, slackBot, false],
    // direct_message: Teams
    ['teams with an incoming webhook', 'msteams', { ms_teams: { webhook_url: 'https://teams.example/hook' } }, anonymous, true],
    ['teams with a webhook that is not http(s)', 'msteams', { ms_teams: { webhook_url: 'ftp://teams.example/hook' } }, anonymous, false],
    ['teams with a conversation', 'msteams', { ms_teams: { service_url: 'https://smba.example', conversation_id: 'c1' } }, anonymous, true],
    ['teams with a service url that is not a url', 'msteams', { ms_teams: { service_url: 'smba', conversation_id: 'c1' } }, anonymous, false],
    ['teams with a service url alone', 'msteams', { ms_teams: { service_url: 'https://smba.example' } }, anonymous, false],
    // webhook
    ['webhook with an https url', 'webhook', { webhook: { url: 'https://hooks.example/x' } }, anonymous, true],
    ['webhook with another scheme', 'webhook', { webhook: { url: 'ftp://hooks.example/x' } }, anonymous, false],
    ['webhook without a url', 'webhook', { webhook: { method: 'PUT' } }, anonymous, false],
    [
      'webhook with a header holding a line break',
      'webhook',
      { webhook: { url: 'https://hooks.example/x', headers: { 'x-a': 'a\r\nx-b: b' } } },
      anonymous,
      false,
    ],
    [
      'webhook with an unknown authentication mode',
      'webhook',
      { webhook: { url: 'https://hooks.example/x', authentication: { mode: 'magic' } } },
      anonymous,
      false,
    ],
  ])('%s', (_, entry, profile, reach, reachable) => {
    expect(channelAddress(toTarget(entry)!, profile, reach) !== undefined).toBe(reachable);
  });

  it("hands the adapter the Slack address without a token when the provider's bot token will post", () => {
    expect(channelAddress({ channel: 'direct_message' }, { slack: { channel: 'C123' } }, slackBot)).toEqual({ slack: { channel: 'C123' } });
  });

  it('keeps only the usable half of a direct message address', () => {
    const profile = { slack: { channel: 'C1' }, ms_teams: { webhook_url: 'https://teams.example/hook' } };
    expect(channelAddress({ channel: 'direct_message' }, profile, anonymous)).toEqual({ ms_teams: { webhook_url: 'https://teams.example/hook' } });
    expect(channelAddress({ channel: 'direct_message' }, profile, slackBot)).toEqual(profile);
  });
});
