import { preferredProviders, strategyBodySchema, strategyOf } from '../../../lambdas/domain/routing-strategy';

const routing = { method: 'single', channels: ['email'] };

describe('a routing strategy body', () => {
  it.each([
    ['the minimal body', {}],
    ['channel providers', { channels: { email: { providers: ['ses', 'smtp'] } } }],
    [
      'every unsupported channel field null',
      { channels: { email: { brand_id: null, if: null, metadata: null, override: null, routing_method: null, timeouts: null } } },
    ],
    ['an empty channel override', { channels: { push: { override: {} } } }],
    ['provider entries with nothing to override', { providers: { ses: { override: {} }, smtp: {}, sns: { if: null, metadata: null, timeouts: null } } }],
    ['null settings', { channels: null, providers: null, description: null, tags: null }],
    ['channel and provider conditions', { channels: { email: { if: 'data.vip === true' } }, providers: { ses: { if: "profile.locale !== 'fr'" } } }],
  ])('accepts %s', (_, extra) => {
    expect(strategyBodySchema.safeParse({ name: 'n', routing, ...extra }).success).toBe(true);
  });

  it.each([
    ['a channel override', { channels: { email: { override: { subject: 'x' } } } }, 'channels.email.override'],
    ['a channel brand', { channels: { email: { brand_id: 'b' } } }, 'channels.email.brand_id'],
    ['a channel condition that does not parse', { channels: { email: { if: 'data.vip ===' } } }, 'channels.email.if'],
    ['a channel condition naming what is not in scope', { channels: { email: { if: 'refs.x.visible' } } }, 'channels.email.if'],
    ['a provider condition that does not parse', { providers: { ses: { if: 'data.(' } } }, 'providers.ses.if'],
    ['channel metadata', { channels: { email: { metadata: { utm: {} } } } }, 'channels.email.metadata'],
    ['a channel routing method', { channels: { email: { routing_method: 'single' } } }, 'channels.email.routing_method'],
    ['channel timeouts', { channels: { email: { timeouts: { channel: 1 } } } }, 'channels.email.timeouts'],
    ['an unknown channel field', { channels: { email: { retries: 2 } } }, 'channels.email'],
    ['an unknown channel', { channels: { fax: {} } }, 'channels'],
    ['a provider override', { providers: { ses: { override: { region: 'x' } } } }, 'providers.ses.override'],
    ['provider timeouts', { providers: { ses: { timeouts: 5 } } }, 'providers.ses.timeouts'],
    ['a routing entry that is no key', { routing: { method: 'single', channels: ['fax machine!'] } }, 'routing.channels.0'],
    ['an empty routing group', { routing: { method: 'all', channels: [] } }, 'routing.channels'],
    ['an empty name', { name: '' }, 'name'],
  ])('refuses %s, naming the field', (_, extra, field) => {
    const parsed = strategyBodySchema.safeParse({ name: 'n', routing, ...extra });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => i.path.join('.'))).toContain(field);
  });

  it('is stored with what it omits or nulls cleared', () => {
    const body = strategyBodySchema.parse({
      name: 'n',
      routing,
      channels: { email: { providers: ['ses'], if: 'data.a' }, push: { providers: null, if: null } },
      providers: { ses: { override: {}, if: 'data.b' }, smtp: { if: null } },
    });
    expect(strategyOf(body)).toEqual({
      name: 'n',
      routing,
      channels: { email: { providers: ['ses'], if: 'data.a' }, push: {} },
      providers: { ses: { override: {}, if: 'data.b' }, smtp: {} },
      description: null,
      tags: null,
    });
  });
});

describe('preferredProviders', () => {
  it.each([
    ['neither names any', undefined, undefined, undefined],
    ['the strategy only', undefined, { email: { providers: ['ses'] } }, ['ses']],
    ['the message only', { email: { providers: ['smtp'] } }, undefined, ['smtp']],
    ['the message wins', { email: { providers: ['smtp'] } }, { email: { providers: ['ses'] } }, ['smtp']],
    ['an empty message list falls back to the strategy', { email: { providers: [] } }, { email: { providers: ['ses'] } }, ['ses']],
    ['another channel is not this one', { sms: { providers: ['sns'] } }, { push: { providers: ['fcm'] } }, undefined],
  ])('%s', (_, message, strategy, expected) => {
    expect(preferredProviders('email', message, strategy)).toEqual(expected);
  });
});
