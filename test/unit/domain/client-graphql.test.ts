import { CourierClient } from '@trycourier/courier-js';
import { brandNode, clientCaller, MAX_QUERY_TOKENS, preferenceNode, type ClientCaller } from '../../../lambdas/domain/client-graphql';
import { runClientQuery, type ClientLoader } from '../../../lambdas/services/client-graphql';
import { parseScopes } from '../../../lambdas/domain/tokens';
import type { TenantRecord } from '../../../lambdas/domain/tenant-context';
import { preferenceLayers, type Topic, type UserPreference } from '../../../lambdas/store/preferences';

const scopes = (text: string) => {
  const r = parseScopes(text);
  if (!r.ok) throw new Error(r.error);
  return r.scopes;
};

describe('clientCaller', () => {
  it.each([
    ['user_id:u read:preferences', undefined, { ok: true, caller: { userId: 'u', scopes: new Set(['user_id:u', 'read:preferences']) } }],
    ['user_id:u tenant_id:t', 'u', { ok: true, caller: { userId: 'u', tenantId: 't', scopes: new Set(['user_id:u', 'tenant_id:t']) } }],
    ['read:preferences', undefined, { ok: false, error: 'the token must be scoped to exactly one user_id' }],
    ['user_id:a user_id:b', undefined, { ok: false, error: 'the token must be scoped to exactly one user_id' }],
    ['user_id:u tenant_id:a tenant_id:b', undefined, { ok: false, error: 'the token may be scoped to one tenant_id at most' }],
    ['user_id:u', 'other', { ok: false, error: "x-courier-user-id other is not the token's user" }],
  ])('%s with header %p', (text, header, expected) => {
    expect(clientCaller(scopes(text), header)).toEqual(expected);
  });
});

const tenant = (id: string, items: { id: string; status: 'OPTED_IN' | 'OPTED_OUT' | 'REQUIRED' }[], extra: Partial<TenantRecord> = {}): TenantRecord =>
  ({ id, name: id, default_preferences: { items }, ...extra }) as TenantRecord;

describe('preferenceNode', () => {
  const topic: Topic = { name: 'News', default_status: 'OPTED_IN' };
  it.each<[string, Parameters<typeof preferenceLayers>[0], Partial<ReturnType<typeof preferenceNode>>]>([
    ['workspace default only', { topicId: 'n', topic, tenantLayers: [] }, { status: 'OPTED_IN', defaultStatus: 'OPTED_IN', hasCustomRouting: false }],
    ['user opted out', { topicId: 'n', topic, tenantLayers: [], user: { status: 'OPTED_OUT' } }, { status: 'OPTED_OUT', defaultStatus: 'OPTED_IN' }],
    [
      'tenant default beats the global choice',
      { topicId: 'n', topic, tenantLayers: [tenant('t', [{ id: 'n', status: 'OPTED_OUT' }])], user: { status: 'OPTED_IN' } },
      { status: 'OPTED_OUT', defaultStatus: 'OPTED_OUT' },
    ],
    [
      'user choice for the tenant beats the tenant default',
      { topicId: 'n', topic, tenantLayers: [tenant('t', [{ id: 'n', status: 'OPTED_OUT' }])], userTenant: { status: 'OPTED_IN' } },
      { status: 'OPTED_IN', defaultStatus: 'OPTED_OUT' },
    ],
    [
      'a REQUIRED topic stays REQUIRED',
      { topicId: 'n', topic: { name: 'Sec', default_status: 'REQUIRED' }, tenantLayers: [], user: { status: 'OPTED_OUT' } },
      { status: 'REQUIRED', defaultStatus: 'REQUIRED' },
    ],
    [
      'custom routing of the user',
      { topicId: 'n', topic, tenantLayers: [], user: { status: 'OPTED_IN', has_custom_routing: true, custom_routing: ['email', 'push'] } },
      { hasCustomRouting: true, routingPreferences: ['email', 'push'] },
    ],
    ['no topic: no name', { topicId: 'gone', tenantLayers: [], user: { status: 'OPTED_OUT' } }, { templateName: null, status: 'OPTED_OUT' }],
  ])('%s', (_name, input, expected) => {
    expect(preferenceNode(input.topicId, input.topic?.name, preferenceLayers(input))).toMatchObject({
      templateId: input.topicId,
      sectionId: null,
      sectionName: null,
      digestSchedule: null,
      ...expected,
    });
  });
});

describe('brandNode', () => {
  it.each<[string, Record<string, unknown>, unknown]>([
    ['nothing stored', {}, { settings: { colors: null, inapp: null }, logo: null, links: null }],
    [
      'colors, inapp, logo and social links',
      {
        colors: { primary: '#111', secondary: '#222', tertiary: '#333' },
        inapp: { borderRadius: '8px', disableCourierFooter: true, placement: 'top' },
        email: {
          header: { logo: { href: 'https://x.test', image: 'https://x.test/l.png' } },
          footer: { social: { twitter: { url: 'https://t.test/x' }, mastodon: { url: 'm' } } },
        },
      },
      {
        settings: {
          colors: { primary: '#111', secondary: '#222', tertiary: '#333' },
          inapp: { borderRadius: '8px', disableCourierFooter: true, disableMessageIcon: null, placement: 'top' },
        },
        logo: { href: 'https://x.test', image: 'https://x.test/l.png' },
        links: { twitter: { url: 'https://t.test/x' } },
      },
    ],
    [
      'wrong types are null, never coerced',
      { colors: { primary: 5 }, inapp: { disableCourierFooter: 'yes' }, email: { header: { logo: 'x' } } },
      {
        settings: {
          colors: { primary: null, secondary: null, tertiary: null },
          inapp: { borderRadius: null, disableCourierFooter: null, disableMessageIcon: null, placement: null },
        },
        logo: null,
        links: null,
      },
    ],
  ])('%s', (_name, settings, expected) => {
    expect(brandNode(settings)).toEqual(expected);
  });
});

/** An in-memory loader: the table's role, for the resolvers. */
function memoryLoader(init: {
  topics?: Record<string, Topic>;
  tenants?: Record<string, TenantRecord>;
  brands?: Record<string, Record<string, unknown>>;
  defaultBrandId?: string;
}) {
  const prefs = new Map<string, UserPreference>();
  const writes: string[] = [];
  const loader: ClientLoader = {
    topics: async () => Object.entries(init.topics ?? {}).map(([id, doc]) => ({ id, doc })),
    topic: async (id) => init.topics?.[id],
    tenantLayers: async (id) => (init.tenants?.[id] ? [init.tenants[id]] : undefined),
    userPreferences: async (userId, tenantId) => {
      const out = new Map<string, UserPreference>();
      for (const [k, v] of prefs) {
        const [u, t, topic] = k.split('|');
        if (u === userId && t === (tenantId ?? '')) out.set(topic, v);
      }
      return out;
    },
    putUserPreference: async (userId, topicId, tenantId, pref) => {
      writes.push(`${userId}|${tenantId ?? ''}|${topicId}`);
      prefs.set(`${userId}|${tenantId ?? ''}|${topicId}`, pref);
    },
    brand: async (id) => (init.brands?.[id] ? { id, settings: init.brands[id] } : undefined),
    defaultBrandId: init.defaultBrandId,
  };
  return { loader, prefs, writes };
}

const ALL = 'read:preferences write:preferences read:brands';
const callerOf = (text: string): ClientCaller => {
  const c = clientCaller(scopes(text));
  if (!c.ok) throw new Error(c.error);
  return c.caller;
};

describe('runClientQuery', () => {
  const topics = { news: { name: 'News', default_status: 'OPTED_IN' as const }, sec: { name: 'Security', default_status: 'REQUIRED' as const } };
  const tenants = { acme: tenant('acme', [{ id: 'news', status: 'OPTED_OUT' }], { brand_id: 'acme-brand' }) };
  const brands = { main: { colors: { primary: '#abc' } }, 'acme-brand': { colors: { primary: '#f00' } } };
  const setup = () => memoryLoader({ topics, tenants, brands, defaultBrandId: 'main' });

  it('lists every topic layered, with the tenant default under accountId', async () => {
    const { loader } = setup();
    const q = (acc: string) => `{ recipientPreferences${acc} { nodes { templateId templateName status defaultStatus sectionId digestSchedule } } }`;
    const plain = await runClientQuery({ query: q('') }, callerOf(`user_id:u ${ALL}`), loader);
    expect(plain).toEqual({
      data: {
        recipientPreferences: {
          nodes: [
            { templateId: 'news', templateName: 'News', status: 'OPTED_IN', defaultStatus: 'OPTED_IN', sectionId: null, digestSchedule: null },
            { templateId: 'sec', templateName: 'Security', status: 'REQUIRED', defaultStatus: 'REQUIRED', sectionId: null, digestSchedule: null },
          ],
        },
      },
    });
    const acme = await runClientQuery({ query: q('(accountId: "acme")') }, callerOf(`user_id:u ${ALL}`), loader);
    expect((acme.data?.recipientPreferences as { nodes: { status: string }[] }).nodes[0]).toMatchObject({ status: 'OPTED_OUT', defaultStatus: 'OPTED_OUT' });
  });

  it('stores an update in the layer the tenant names, and answers the layered result', async () => {
    const { loader, writes } = setup();
    const mutation = (acc: string) =>
      `mutation { updatePreferenceV2(templateId: "news", preferences: { status: OPTED_IN, hasCustomRouting: true, routingPreferences: [email] }${acc}) { status hasCustomRouting routingPreferences } }`;
    const r = await runClientQuery({ query: mutation(', accountId: "acme"') }, callerOf(`user_id:u ${ALL}`), loader);
    expect(r).toEqual({ data: { updatePreferenceV2: { status: 'OPTED_IN', hasCustomRouting: true, routingPreferences: ['email'] } } });
    expect(writes).toEqual(['u|acme|news']);
  });

  it.each<[string, string, string, string]>([
    ['no read scope', 'user_id:u', '{ recipientPreferences { nodes { templateId } } }', 'Forbidden: the token lacks the read:preferences scope'],
    [
      'no write scope',
      'user_id:u read:preferences',
      'mutation { updatePreferenceV2(templateId: "news", preferences: { status: OPTED_OUT }) { status } }',
      'Forbidden: the token lacks the write:preferences scope',
    ],
    [
      'another tenant',
      `user_id:u tenant_id:acme ${ALL}`,
      '{ recipientPreferences(accountId: "other") { nodes { templateId } } }',
      'Forbidden: the token is scoped to another tenant than other',
    ],
    ['an unknown tenant', `user_id:u ${ALL}`, '{ recipientPreferences(accountId: "nope") { nodes { templateId } } }', 'Tenant nope not found'],
    [
      'opting out of a REQUIRED topic',
      `user_id:u ${ALL}`,
      'mutation { updatePreferenceV2(templateId: "sec", preferences: { status: OPTED_OUT }) { status } }',
      'Topic sec is REQUIRED: it cannot be opted out',
    ],
    [
      'a user setting REQUIRED',
      `user_id:u ${ALL}`,
      'mutation { updatePreferenceV2(templateId: "news", preferences: { status: REQUIRED }) { status } }',
      'Invalid argument preferences.status: only the workspace or a tenant makes a topic REQUIRED',
    ],
    [
      'an unknown topic',
      `user_id:u ${ALL}`,
      'mutation { updatePreferenceV2(templateId: "nope", preferences: { status: OPTED_OUT }) { status } }',
      'Topic nope not found',
    ],
    [
      'a digest schedule',
      `user_id:u ${ALL}`,
      'mutation { updatePreferenceV2(templateId: "news", preferences: { status: OPTED_IN, digestSchedule: "d" }) { status } }',
      'Not supported: preferences.digestSchedule: digest schedules are not supported by this server',
    ],
    [
      'the digest schedules of a topic',
      `user_id:u ${ALL}`,
      '{ digestSchedulesForTopic(templateId: "news") { scheduleId } }',
      'Not supported: digest schedules are not supported by this server',
    ],
    ['a brand without read:brands', 'user_id:u read:preferences', '{ brand(brandId: "main") { links } }', 'Forbidden: the token lacks the read:brands scope'],
  ])('refuses %s as a GraphQL error, writing nothing', async (_name, tokenScopes, query, message) => {
    const { loader, writes } = setup();
    const r = await runClientQuery({ query }, callerOf(tokenScopes), loader);
    expect(r.errors?.map((e) => e.message)).toEqual([message]);
    expect(writes).toEqual([]);
  });

  it.each<[string, string, RegExp]>([
    ['a syntax error', '{ recipientPreferences { nodes { ', /Syntax Error/],
    ['a field not in the schema', '{ recipientPreferences { nodes { password } } }', /Cannot query field "password"/],
    [
      'a query past the token limit',
      `{ ${Array.from({ length: MAX_QUERY_TOKENS }, (_, i) => `a${i}: brand { links }`).join(' ')} }`,
      /contains more that 2000 tokens/,
    ],
    ['a query nested too deep', `{ ${'... on Query { '.repeat(9)}brand { links }${' }'.repeat(9)} }`, /deeper than 8 levels/],
  ])('refuses %s before running it', async (_name, query, message) => {
    const r = await runClientQuery({ query }, callerOf(`user_id:u ${ALL}`), setup().loader);
    expect(r.data).toBeUndefined();
    expect(r.errors?.[0]?.message).toMatch(message);
  });

  it("serves the brand: by id with read:brands:<id>, and the page's brand from the tenant context", async () => {
    const { loader } = setup();
    const brand = await runClientQuery(
      { query: '{ brand(brandId: "main") { settings { colors { primary } } } }' },
      callerOf('user_id:u read:brands:main'),
      loader,
    );
    expect(brand).toEqual({ data: { brand: { settings: { colors: { primary: '#abc' } } } } });
    const page = await runClientQuery(
      {
        query:
          '{ preferencePage(accountId: "acme") { showCourierFooter brand { settings { colors { primary } } } sections { nodes { sectionId topics { nodes { templateId defaultStatus digestSchedules } } } } } }',
      },
      callerOf('user_id:u read:preferences'),
      loader,
    );
    expect(page).toEqual({
      data: {
        preferencePage: {
          showCourierFooter: false,
          brand: { settings: { colors: { primary: '#f00' } } },
          sections: {
            nodes: [
              {
                sectionId: null,
                topics: {
                  nodes: [
                    { templateId: 'news', defaultStatus: 'OPTED_OUT', digestSchedules: null },
                    { templateId: 'sec', defaultStatus: 'REQUIRED', digestSchedules: null },
                  ],
                },
              },
            ],
          },
        },
      },
    });
  });

  it('validates and answers every query courier-js 3.4.0 sends (its own client, fetch answered by the executor)', async () => {
    const { loader } = setup();
    const errors: string[] = [];
    const original = global.fetch;
    global.fetch = (async (_url: unknown, init?: RequestInit) => {
      const r = await runClientQuery(JSON.parse(String(init?.body)), callerOf(`user_id:u ${ALL}`), loader);
      errors.push(...(r.errors ?? []).map((e) => e.message));
      return new Response(JSON.stringify(r), { status: 200, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    try {
      for (const tenantId of [undefined, 'acme']) {
        const client = new CourierClient({
          userId: 'u',
          jwt: 'unused',
          tenantId,
          apiUrls: { courier: { rest: 'http://x.test', graphql: 'http://x.test/client/q' }, inbox: { graphql: 'http://x.test/q', webSocket: 'ws://x.test' } },
        });
        expect((await client.preferences.getUserPreferences()).items.map((t) => [t.topicId, t.status])).toEqual([
          ['news', tenantId ? 'OPTED_OUT' : 'OPTED_IN'],
          ['sec', 'REQUIRED'],
        ]);
        expect(await client.preferences.getUserPreferenceTopic({ topicId: 'sec' })).toMatchObject({ topicName: 'Security', status: 'REQUIRED' });
        expect(
          await client.preferences.putUserPreferenceTopic({ topicId: 'news', status: 'OPTED_IN', hasCustomRouting: true, customRouting: ['inbox'] }),
        ).toMatchObject({
          status: 'OPTED_IN',
          customRouting: ['inbox'],
        });
        expect((await client.preferences.getPreferencePage())?.brand).toEqual({
          settings: { colors: { primary: tenantId ? '#f00' : '#abc' } },
          links: null,
          logo: null,
        });
        expect((await client.preferences.getPreferencePage({ brandId: 'main' }))?.sections[0].topics.map((t) => t.templateId)).toEqual(['news', 'sec']);
        expect(await client.brands.getBrand({ brandId: 'main' })).toEqual({
          settings: { colors: { primary: '#abc', secondary: null, tertiary: null }, inapp: null },
          logo: null,
          links: null,
        });
      }
      expect(errors).toEqual([]);
      const client = new CourierClient({
        userId: 'u',
        jwt: 'unused',
        apiUrls: { courier: { rest: 'http://x.test', graphql: 'http://x.test/client/q' }, inbox: { graphql: 'http://x.test/q', webSocket: 'ws://x.test' } },
      });
      expect(await client.preferences.getDigestSchedules({ topicId: 'news' })).toEqual([]);
      expect(errors).toEqual(['Not supported: digest schedules are not supported by this server']);
    } finally {
      global.fetch = original;
    }
  });

  it('rethrows what is not the client’s fault (a 500), never a GraphQL error', async () => {
    const { loader } = setup();
    await expect(
      runClientQuery({ query: '{ brand(brandId: "main") { links } }' }, callerOf(`user_id:u ${ALL}`), {
        ...loader,
        brand: () => Promise.reject(new Error('table down')),
      }),
    ).rejects.toThrow('table down');
  });
});
