import { z } from 'zod';
import { NO_CAPABILITIES } from '../../../lambdas/domain/addresses';
import {
  channelAddress,
  customRouting,
  DEFAULT_ROUTING,
  nextSteps,
  routingSchema,
  targetKey,
  toTarget,
  type Outcome,
  type Routing,
  type Target,
} from '../../../lambdas/domain/routing';

const single = (...channels: Routing['channels']): Routing => ({ method: 'single', channels });
const all = (...channels: Routing['channels']): Routing => ({ method: 'all', channels });
/** Reachability by target key, as the worker derives it from the profile. */
const reaches =
  (...keys: string[]) =>
  (t: Target) =>
    keys.includes(targetKey(t)) || keys.includes(t.channel);
const keys = (targets: Target[]) => targets.map(targetKey);

describe('toTarget', () => {
  it.each([
    ['email', { channel: 'email' }],
    ['direct_message', { channel: 'direct_message' }],
    ['slack', { channel: 'direct_message', provider: 'slack' }],
    ['msteams', { channel: 'direct_message', provider: 'msteams' }],
    ['sendgrid', { channel: 'email', provider: 'sendgrid' }],
    ['twilio', { channel: 'sms', provider: 'twilio' }],
    ['firebase-fcm', { channel: 'push', provider: 'firebase-fcm' }],
    ['courier', { channel: 'inbox', provider: 'courier' }],
    ['inbox', { channel: 'inbox' }],
    ['webhook', { channel: 'webhook' }],
    ['fax', undefined],
    ['constructor', undefined],
    ['', undefined],
  ])('%s -> %j', (entry, target) => {
    expect(toTarget(entry)).toEqual(target);
  });
});

describe('routingSchema', () => {
  const message = z.object({ routing: routingSchema.optional() });
  const deep = (levels: number): Routing => (levels === 1 ? single('email') : single(deep(levels - 1)));

  it.each([
    ['channels and provider keys', single('email', 'slack', 'sendgrid')],
    ['a nested group', single(all('email', 'push'), 'sms')],
    ['groups nested 4 deep', deep(4)],
    // A provider this stack does not have is no 400 for the whole send: the recipient ends UNROUTABLE naming it.
    ['a provider key this stack does not have', single('email', 'fax')],
    ['one in a nested group', single('email', all('push', 'pagerduty'))],
  ])('accepts %s', (_, routing) => {
    expect(message.parse({ routing })).toEqual({ routing });
  });

  it.each([
    ['an entry that is no key', single('email', 'fax machine!'), 'routing.channels.1: must be a channel or a provider key'],
    ['one in a nested group', single('email', all('push', '')), 'routing.channels.1.channels.1: must be a channel or a provider key'],
    ['an unknown method', { method: 'some', channels: ['email'] }, 'routing.method:'],
    ['an empty channel list', single(), 'routing.channels: must list at least one channel'],
    ['a channel that is not a string', { method: 'all', channels: [3] }, 'routing.channels.0: Invalid input: expected string, received number'],
    ['groups nested 5 deep', deep(5), 'routing.channels.0.channels.0.channels.0.channels.0: routing groups nest at most 4 deep'],
    ['a routing that is not an object', 'email', 'routing: Invalid input: expected object, received string'],
  ])('refuses %s, naming the field', (_, routing, expected) => {
    const result = message.safeParse({ routing });
    const issues = result.error?.issues.map((i) => `${['', ...i.path].join('.').slice(1)}: ${i.message}`);
    expect(issues).toEqual([expect.stringContaining(expected)]);
  });
});

describe('channelAddress', () => {
  const slack = { access_token: 'xoxb', channel: 'C1' };
  const teams = { webhook_url: 'https://teams.example/hook' };

  it.each<[string, Target, Record<string, unknown>, boolean, unknown]>([
    ['email from profile.email', { channel: 'email' }, { email: 'a@x.io' }, false, 'a@x.io'],
    ['no email without an @', { channel: 'email' }, { email: 'nope' }, false, undefined],
    ['email through a pinned provider', { channel: 'email', provider: 'ses' }, { email: 'a@x.io' }, false, 'a@x.io'],
    ['sms from phone_number', { channel: 'sms' }, { phone_number: '+15550100' }, false, '+15550100'],
    ['no sms from a blank phone number', { channel: 'sms' }, { phone_number: ' ' }, false, undefined],
    ['push tokens present', { channel: 'push' }, { firebaseToken: 'f', apn: '', expo: { token: 'e' } }, false, { firebaseToken: 'f', expo: { token: 'e' } }],
    ['push through an SNS endpoint', { channel: 'push' }, { target_arn: 'arn:aws:sns:x' }, false, { target_arn: 'arn:aws:sns:x' }],
    ['push pinned to a provider whose token is missing', { channel: 'push', provider: 'apn' }, { firebaseToken: 'f' }, false, undefined],
    ['no push without tokens', { channel: 'push' }, { firebaseToken: [] }, false, undefined],
    ['inbox with a user id', { channel: 'inbox' }, {}, true, true],
    ['no inbox without a user id', { channel: 'inbox' }, { email: 'a@x.io' }, false, undefined],
    ['direct_message via Slack and Teams', { channel: 'direct_message' }, { slack, ms_teams: teams }, false, { slack, ms_teams: teams }],
    ['direct_message pinned to Slack', { channel: 'direct_message', provider: 'slack' }, { slack, ms_teams: teams }, false, { slack }],
    ['direct_message pinned to Teams without Teams', { channel: 'direct_message', provider: 'msteams' }, { slack }, false, undefined],
    ['no Slack without a destination', { channel: 'direct_message' }, { slack: { access_token: 'xoxb' } }, false, undefined],
    [
      'Teams through the Bot Framework',
      { channel: 'direct_message' },
      { ms_teams: { service_url: 'https://smba', conversation_id: 'c' } },
      false,
      { ms_teams: { service_url: 'https://smba', conversation_id: 'c' } },
    ],
    [
      'webhook with an https url',
      { channel: 'webhook' },
      { webhook: { url: 'https://h.example/x', method: 'PUT' } },
      false,
      { url: 'https://h.example/x', method: 'PUT' },
    ],
    ['no webhook with another scheme', { channel: 'webhook' }, { webhook: { url: 'ftp://h.example/x' } }, false, undefined],
  ])('%s', (_, target, profile, hasUserId, address) => {
    expect(channelAddress(target, profile, { hasUserId, ...NO_CAPABILITIES })).toEqual(address);
  });
});

describe('default and custom routing', () => {
  it('defaults to one channel, inbox last', () => {
    expect(DEFAULT_ROUTING).toEqual(single('email', 'sms', 'push', 'direct_message', 'webhook', 'inbox'));
  });

  it('delivers every custom routing entry', () => {
    const step = nextSteps(customRouting(['email', 'slack']), reaches('email', 'direct_message:slack'), { outcomes: {} });
    expect(keys(step.start)).toEqual(['email', 'direct_message:slack']);
  });
});

describe('nextSteps', () => {
  type Case = {
    name: string;
    routing: Routing;
    reachable: string[];
    outcomes?: Record<string, Outcome>;
    expected: { start: string[]; done: boolean; delivered: boolean; unreachable: string[]; unknown?: string[] };
  };
  const running = (...start: string[]) => ({ start, done: false, delivered: false });

  it.each<Case>([
    {
      name: 'single starts the first channel only',
      routing: single('email', 'sms'),
      reachable: ['email', 'sms'],
      expected: { ...running('email'), unreachable: [] },
    },
    {
      name: 'single falls back to sms when the profile has no email',
      routing: single('email', 'sms'),
      reachable: ['sms'],
      expected: { ...running('sms'), unreachable: ['email'] },
    },
    {
      name: 'single starts sms when email failed',
      routing: single('email', 'sms'),
      reachable: ['email', 'sms'],
      outcomes: { email: 'failed' },
      expected: { ...running('sms'), unreachable: [] },
    },
    {
      name: 'single stops at the first delivered channel',
      routing: single('email', 'sms'),
      reachable: ['email', 'sms'],
      outcomes: { email: 'delivered' },
      expected: { start: [], done: true, delivered: true, unreachable: [] },
    },
    {
      name: 'single fails when every channel failed',
      routing: single('email', 'sms'),
      reachable: ['email', 'sms'],
      outcomes: { email: 'failed', sms: 'failed' },
      expected: { start: [], done: true, delivered: false, unreachable: [] },
    },
    {
      name: 'all starts every reachable channel and reports the unreachable one',
      routing: all('email', 'sms', 'push'),
      reachable: ['email', 'push'],
      expected: { ...running('email', 'push'), unreachable: ['sms'] },
    },
    {
      name: 'all succeeds when one channel delivered and the other failed',
      routing: all('email', 'push'),
      reachable: ['email', 'push'],
      outcomes: { email: 'delivered', push: 'failed' },
      expected: { start: [], done: true, delivered: true, unreachable: [] },
    },
    {
      name: 'all waits for a pending channel even after another delivered',
      routing: all('email', 'push'),
      reachable: ['email', 'push'],
      outcomes: { email: 'delivered', push: 'pending' },
      expected: { ...running(), unreachable: [] },
    },
    {
      name: 'a nested all group is tried first',
      routing: single(all('email', 'push'), 'sms'),
      reachable: ['email', 'push', 'sms'],
      expected: { ...running('email', 'push'), unreachable: [] },
    },
    {
      name: 'a nested all group with one delivery succeeds as a whole',
      routing: single(all('email', 'push'), 'sms'),
      reachable: ['email', 'push', 'sms'],
      outcomes: { email: 'failed', push: 'delivered' },
      expected: { start: [], done: true, delivered: true, unreachable: [] },
    },
    {
      name: 'a nested all group that failed as a whole falls back to sms',
      routing: single(all('email', 'push'), 'sms'),
      reachable: ['email', 'push', 'sms'],
      outcomes: { email: 'failed', push: 'failed' },
      expected: { ...running('sms'), unreachable: [] },
    },
    {
      name: 'a nested all group with nothing reachable is skipped',
      routing: single(all('email', 'push'), 'sms'),
      reachable: ['sms'],
      expected: { ...running('sms'), unreachable: ['email', 'push'] },
    },
    {
      name: 'nothing reachable is done and not delivered',
      routing: single('email', all('sms', 'push')),
      reachable: [],
      expected: { start: [], done: true, delivered: false, unreachable: ['email', 'sms', 'push'] },
    },
    {
      name: 'pending outcomes keep it running and restart nothing',
      routing: all('email', 'sms'),
      reachable: ['email', 'sms'],
      outcomes: { email: 'pending', sms: 'pending' },
      expected: { ...running(), unreachable: [] },
    },
    {
      name: 'single waits on a pending channel without starting the next',
      routing: single('email', 'sms'),
      reachable: ['email', 'sms'],
      outcomes: { email: 'pending' },
      expected: { ...running(), unreachable: [] },
    },
    {
      name: 'unknown entries are passed over, and reported',
      routing: single('fax', 'pigeon', 'sms'),
      reachable: ['sms'],
      expected: { ...running('sms'), unreachable: [], unknown: ['fax', 'pigeon'] },
    },
    {
      name: 'a tree of unknown entries only is done and not delivered',
      routing: all('fax'),
      reachable: ['email'],
      expected: { start: [], done: true, delivered: false, unreachable: [], unknown: ['fax'] },
    },
    {
      name: 'provider entries are keyed by channel and provider',
      routing: customRouting(['email', 'slack']),
      reachable: ['email', 'direct_message:slack'],
      outcomes: { email: 'delivered', 'direct_message:slack': 'pending' },
      expected: { ...running(), unreachable: [] },
    },
    {
      name: 'a target listed twice starts once',
      routing: all('email', single('email', 'sms')),
      reachable: ['email', 'sms'],
      expected: { ...running('email'), unreachable: [] },
    },
  ])('$name', ({ routing, reachable, outcomes = {}, expected }) => {
    const step = nextSteps(routing, reaches(...reachable), { outcomes });
    expect({ ...step, start: keys(step.start), unreachable: keys(step.unreachable) }).toEqual({ unknown: [], ...expected });
  });

  it('passes over entries naming no channel or provider this stack has, and reports them', () => {
    const step = nextSteps(single('sendgrid-eu', all('fax', 'pushover'), 'email'), reaches('email'), { outcomes: {} });
    expect([keys(step.start), step.unknown]).toEqual([['email'], ['sendgrid-eu', 'fax', 'pushover']]);
    const none = nextSteps(single('fax'), reaches('email'), { outcomes: {} });
    expect([none.done, none.delivered, none.unknown]).toEqual([true, false, ['fax']]);
  });

  it('walks a single routing to its end as outcomes arrive', () => {
    const routing = single('email', 'sms', 'push');
    const reachable = reaches('email', 'push');
    const outcomes: Record<string, Outcome> = {};

    const first = nextSteps(routing, reachable, { outcomes });
    for (const t of first.start) outcomes[targetKey(t)] = 'failed';
    const second = nextSteps(routing, reachable, { outcomes });
    for (const t of second.start) outcomes[targetKey(t)] = 'delivered';
    const last = nextSteps(routing, reachable, { outcomes });

    expect([keys(first.start), keys(second.start), last.done, last.delivered]).toEqual([['email'], ['push'], true, true]);
  });
});
