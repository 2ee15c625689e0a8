import { applyChannelOverride, deepMerge, PROVIDER_OVERRIDES, providerOverride } from '../../../lambdas/domain/overrides';
import { CATALOG } from '../../../lambdas/providers/catalog';
import { adapterFor } from '../../../lambdas/providers/registry';
import type { RenderedOutput } from '../../../lambdas/domain/render';
import { messageSchema } from '../../../lambdas/domain/send';

const base = { to: { email: 'ada@example.test' }, content: { title: 'Hi', body: 'Hello' } };
const parse = (extra: Record<string, unknown>) => messageSchema.safeParse({ ...base, ...extra });
const paths = (extra: Record<string, unknown>) => {
  const parsed = parse(extra);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('a send with overrides', () => {
  it.each([
    ['one channel only (not every channel key)', { channels: { email: { override: { subject: 'S' } } } }],
    [
      'every email field',
      {
        channels: {
          email: {
            override: {
              from: 'Acme <a@acme.test>',
              reply_to: 'r@acme.test',
              cc: 'c1@acme.test, c2@acme.test',
              bcc: ['b@acme.test'],
              subject: 'S',
              html: '<p>x</p>',
              text: 'x',
              attachments: [{ filename: 'a.txt', contentType: 'text/plain', data: 'aGVsbG8=' }],
              headers: { 'X-Campaign': 'spring' },
            },
          },
        },
      },
    ],
    ['push title, body and data', { channels: { push: { override: { title: 't', body: 'b', data: { k: 'v' } } } } }],
    ['sms body', { channels: { sms: { override: { body: 'b' } } } }],
    ['chat text and blocks', { channels: { direct_message: { override: { text: 't', blocks: [{ type: 'action', text: 'Go', href: 'https://a.test' }] } } } }],
    ['nulls as not set', { channels: { email: { brand_id: null, override: null, metadata: null, providers: null, routing_method: null } }, providers: null }],
    ['brand and tracking set to null', { channels: { email: { override: { brand: null, tracking: null } } } }],
    ['a channel routing method and brand', { channels: { email: { routing_method: 'all', brand_id: 'b1' } } }],
    [
      'UTM at every level',
      {
        metadata: { utm: { source: 's' } },
        channels: { email: { metadata: { utm: { medium: 'm' } } } },
        providers: { smtp: { metadata: { utm: { term: 't' } } } },
      },
    ],
    ['an smtp body and config', { providers: { smtp: { override: { body: { priority: 'high' }, config: { host: 'mx.acme.test', port: 587 } } } } }],
    [
      'a webhook url, method, headers, query, body',
      { providers: { webhook: { override: { url: 'https://h.test/x', method: 'PUT', headers: { 'X-A': '1' }, query: { a: '1' }, body: { a: 1 } } } } },
    ],
    ['slack body', { providers: { slack: { override: { body: { unfurl_links: false } } } } }],
    [
      'email API bodies (mailgun: form fields, a list repeats one)',
      { providers: { sendgrid: { override: { body: { categories: ['a'] } } }, mailgun: { override: { body: { 'o:tag': ['a', 'b'], 'o:testmode': 'yes' } } } } },
    ],
    ['provider timeouts', { providers: { ses: { timeouts: 5000 } } }],
    ['an entry for a known provider not configured here (it may be by the time the send runs)', { providers: { onesignal: { timeouts: 100 } } }],
    ['a provider time budget for a known provider', { timeout: { provider: { ses: 5000 } } }],
  ])('accepts %s', (_, extra) => {
    expect(paths(extra)).toEqual([]);
  });

  it.each([
    ['an unknown email override field', { channels: { email: { override: { priority: 'high' } } } }, 'channels.email.override: Unrecognized key: "priority"'],
    ['an email brand override', { channels: { email: { override: { brand: { logo: 'x' } } } } }, 'channels.email.override.brand: is not supported'],
    ['open tracking', { channels: { email: { override: { tracking: { open: true } } } } }, 'channels.email.override.tracking: is not supported'],
    [
      'a reserved email header',
      { channels: { email: { override: { headers: { To: 'x@evil.test' } } } } },
      'channels.email.override.headers.To: is set by the platform',
    ],
    [
      'a header with a line break',
      { channels: { email: { override: { headers: { 'X-A': 'a\r\nBcc: x@evil.test' } } } } },
      'channels.email.override.headers.X-A: must not contain line breaks',
    ],
    [
      'a from with a line break',
      { channels: { email: { override: { from: 'a@acme.test\r\nBcc: x@evil.test' } } } },
      'channels.email.override.from: must not contain line breaks',
    ],
    ['a cc with a line break', { channels: { email: { override: { cc: ['a@acme.test\nx'] } } } }, 'channels.email.override.cc.0: must not contain line breaks'],
    [
      'an attachment that is not base64',
      { channels: { email: { override: { attachments: [{ filename: 'a', data: '%%%' }] } } } },
      'channels.email.override.attachments.0.data: must be base64',
    ],
    [
      'an attachment by path',
      { channels: { email: { override: { attachments: [{ filename: 'a', data: 'aGk=', path: '/etc/passwd' }] } } } },
      'channels.email.override.attachments.0: Unrecognized key: "path"',
    ],
    ['an sms title', { channels: { sms: { override: { title: 't' } } } }, 'channels.sms.override: Unrecognized key: "title"'],
    ['an unknown UTM field', { metadata: { utm: { id: 'x' } } }, 'metadata.utm: Unrecognized key: "id"'],
    ['unknown channel metadata', { channels: { email: { metadata: { tags: ['x'] } } } }, 'channels.email.metadata: Unrecognized key: "tags"'],
    [
      'an override for a provider this stack lacks',
      { providers: { 'carrier-pigeon': { override: { body: {} } } } },
      'providers.carrier-pigeon: names no provider this stack has',
    ],
    // Review: timeouts, metadata and if of a key that names no provider could never apply; refused, not accepted and ignored.
    [
      'timeouts for a provider this stack lacks',
      { providers: { 'carrier-pigeon': { timeouts: 100 } } },
      'providers.carrier-pigeon: names no provider this stack has',
    ],
    [
      'metadata for a provider this stack lacks',
      { providers: { 'carrier-pigeon': { metadata: { utm: { source: 's' } } } } },
      'providers.carrier-pigeon: names no provider this stack has',
    ],
    ['an empty entry for a provider this stack lacks', { providers: { 'carrier-pigeon': {} } }, 'providers.carrier-pigeon: names no provider this stack has'],
    ['a key Object.prototype has', { providers: { constructor: { timeouts: 100 } } }, 'providers.constructor: names no provider this stack has'],
    // Review: timeout.provider took any key, so a budget for a provider this stack lacks was accepted and never applied.
    [
      'a time budget for a provider this stack lacks',
      { timeout: { provider: { 'carrier-pigeon': 100 } } },
      'timeout.provider.carrier-pigeon: names no provider this stack has',
    ],
    [
      'a time budget keyed by a name Object.prototype has',
      { timeout: { provider: { toString: 100 } } },
      'timeout.provider.toString: names no provider this stack has',
    ],
    [
      'a mailgun form field that is not a string',
      { providers: { mailgun: { override: { body: { 'o:tag': 5 } } } } },
      'providers.mailgun.override.body.o:tag: Invalid input',
    ],
    [
      'a key the provider does not honour',
      { providers: { ses: { override: { headers: { 'X-A': '1' } } } } },
      'providers.ses.override: Unrecognized key: "headers"',
    ],
    [
      'an smtp attachment read from a path',
      { providers: { smtp: { override: { body: { attachments: [{ filename: 'a', path: '/etc/passwd' }] } } } } },
      'providers.smtp.override.body.attachments.0',
    ],
    [
      'an smtp body key outside the list',
      { providers: { smtp: { override: { body: { raw: 'x' } } } } },
      'providers.smtp.override.body: Unrecognized key: "raw"',
    ],
    [
      'an http override replacing the credentials',
      { providers: { slack: { override: { headers: { Authorization: 'Bearer x' } } } } },
      'providers.slack.override.headers.Authorization: is set by the platform',
    ],
    ['a webhook url that is not http', { providers: { webhook: { override: { url: 'file:///etc/passwd' } } } }, 'providers.webhook.override.url'],
    ['an inbox provider override', { providers: { inbox: { override: { body: { title: 'x' } } } } }, 'providers.inbox.override: Unrecognized key: "body"'],
  ])('refuses %s, naming the field', (_, extra, expected) => {
    expect(paths(extra).some((p) => p.startsWith(expected))).toBe(true);
  });
});

describe('the provider keys message.providers takes', () => {
  it('are those with an adapter here, every catalog provider among them', () => {
    const keys = Object.keys(PROVIDER_OVERRIDES);
    expect(keys.filter((k) => adapterFor(k) === undefined)).toEqual([]);
    expect(CATALOG.map((e) => e.provider).filter((k) => !keys.includes(k))).toEqual([]);
  });
});

const email: RenderedOutput = { channel: 'email', subject: 'Hi', text: 'Plain', html: '<p>Plain</p>' };

describe('applyChannelOverride', () => {
  it.each<[string, RenderedOutput, unknown, ReturnType<typeof applyChannelOverride>]>([
    ['no override', email, undefined, { content: email }],
    ['null', email, null, { content: email }],
    ['email content', email, { subject: 'New', html: '<b>x</b>' }, { content: { ...email, subject: 'New', html: '<b>x</b>' } }],
    [
      'the email envelope, comma-separated lists split',
      email,
      { from: 'a@acme.test', reply_to: 'r@acme.test', cc: ' c1@acme.test,c2@acme.test ', bcc: ['b@acme.test'], headers: { 'X-A': '1' } },
      {
        content: email,
        email: { from: 'a@acme.test', replyTo: ['r@acme.test'], cc: ['c1@acme.test', 'c2@acme.test'], bcc: ['b@acme.test'], headers: { 'X-A': '1' } },
      },
    ],
    [
      'attachments, base64 line breaks removed',
      email,
      { attachments: [{ filename: 'a.txt', data: 'aGVs\nbG8=' }] },
      { content: email, email: { attachments: [{ filename: 'a.txt', data: 'aGVsbG8=' }] } },
    ],
    ['nulls leave the rendering', email, { subject: null, text: null }, { content: email }],
    [
      'push title and data',
      { channel: 'push', title: 'T', body: 'B' },
      { title: 'New', data: { k: 'v' } },
      { content: { channel: 'push', title: 'New', body: 'B' }, data: { k: 'v' } },
    ],
    ['sms body', { channel: 'sms', body: 'B' }, { body: 'New' }, { content: { channel: 'sms', body: 'New' } }],
    [
      'chat blocks',
      { channel: 'direct_message', title: 'T', text: 'x', blocks: [] },
      { text: 'y', blocks: [{ type: 'action', text: 'Go', href: 'https://a.test', src: null }] },
      { content: { channel: 'direct_message', title: 'T', text: 'y', blocks: [{ type: 'action', text: 'Go', href: 'https://a.test' }] } },
    ],
    [
      // Regression: the inbox was handled as a chat message and read `text`, so its `body` was dropped.
      'inbox title, body and blocks',
      { channel: 'inbox', title: 'T', body: 'B' },
      { title: 'New', body: 'New body', blocks: [{ type: 'action', text: 'Open', href: 'https://a.test/o' }] },
      { content: { channel: 'inbox', title: 'New', body: 'New body', blocks: [{ type: 'action', text: 'Open', href: 'https://a.test/o' }] } },
    ],
    ['inbox body alone', { channel: 'inbox', title: 'T', body: 'B' }, { body: 'New body' }, { content: { channel: 'inbox', title: 'T', body: 'New body' } }],
    [
      'webhook title and body',
      { channel: 'webhook', title: 'T', body: 'B' },
      { title: 'New', body: 'New body' },
      { content: { channel: 'webhook', title: 'New', body: 'New body' } },
    ],
  ])('%s', (_, output, override, expected) => {
    expect(applyChannelOverride(output, override)).toEqual(expected);
  });

  it('throws on an override that does not fit its channel', () => {
    expect(() => applyChannelOverride({ channel: 'sms', body: 'x' }, { title: 'x' })).toThrow('channels.sms.override is invalid');
  });
});

describe('providerOverride', () => {
  it.each([
    ['none', 'smtp', undefined, undefined],
    ['empty', 'slack', {}, undefined],
    ['nulls dropped', 'webhook', { body: { a: 1 }, headers: null, url: null }, { body: { a: 1 } }],
    ['smtp config', 'smtp', { config: { host: 'h', port: 2525 } }, { config: { host: 'h', port: 2525 } }],
  ])('%s', (_, provider, raw, expected) => {
    expect(providerOverride(provider, raw)).toEqual(expected);
  });

  it('throws for a provider with no override', () => {
    expect(() => providerOverride('carrier-pigeon', { body: {} })).toThrow('providers.carrier-pigeon.override is invalid');
  });
});

describe('deepMerge', () => {
  it.each([
    ['nothing', { a: 1 }, undefined, { a: 1 }],
    ['a value replaces', { a: 1, b: 2 }, { a: 3 }, { a: 3, b: 2 }],
    ['objects merge key by key', { n: { t: 'x', b: 'y' } }, { n: { t: 'z' } }, { n: { t: 'z', b: 'y' } }],
    ['arrays replace', { l: [1, 2] }, { l: [3] }, { l: [3] }],
    ['null removes', { a: 1, b: 2 }, { a: null }, { b: 2 }],
    ['new keys are added', { a: 1 }, { c: { d: 1 } }, { a: 1, c: { d: 1 } }],
  ])('%s', (_, base, override, expected) => {
    expect(deepMerge(base as Record<string, unknown>, override as Record<string, unknown> | undefined)).toEqual(expected);
  });
});
