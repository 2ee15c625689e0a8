import { nullableFields } from '../helpers/sdk-nullables';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/**
 * Issue 14, nulls: wherever the official SDK types a field `| null`, `null` is accepted and means
 * "not set". The nullable fields come from the SDK's own declarations (helpers/sdk-nullables.ts),
 * so a new SDK version's are tested too. For each, a body with the field set to null must get the
 * answer the same body without the field gets: the same status, and a 2xx where that is one. Each
 * schema has example bodies holding every object a nullable field lives in; a field none of them
 * reaches fails the test. Query values: the SDK serialises a null query value as `key=`, which
 * must also mean "not set".
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
  await s.http('PUT', '/tenants/nulls-parent', { name: 'Parent' });
  await s.http('PUT', '/preferences/topics/nulls-topic', { name: 'Topic', default_status: 'OPTED_IN' });
}, 60_000);
afterAll(() => s?.stop());

type Json = Record<string, unknown>;

interface Schema {
  /** The SDK's declaration file and params interface. */
  file: string;
  params: string;
  /** Fields of the params that travel in the path or the query, not the body. */
  notInBody?: string[];
  method: string;
  path: () => string;
  /** Example bodies: each nullable field is tried on the first holding its parent object. */
  bodies: () => Json[];
}

const user = () => ({
  user_id: uid('u'),
  email: 'ada@example.test',
  phone_number: '+15555550100',
  locale: 'en_US',
  data: { a: 1 },
  tenant_id: 'nulls-parent',
  account_id: 'nulls-parent',
  context: { tenant_id: 'nulls-parent' },
  list_id: 'nulls.list',
  preferences: { notifications: {}, categories: {}, templateId: 'x' },
});
const message = (over: Json) => ({
  message: {
    content: { title: 'T', body: 'B' },
    routing: { method: 'single', channels: ['inbox'] },
    data: { a: 1 },
    brand_id: 'nulls-brand',
    context: { tenant_id: 'nulls-parent' },
    metadata: { event: 'e', tags: ['t'], trace_id: uid('trace'), utm: { source: 's', medium: 'm', campaign: 'c', term: 't', content: 'x' } },
    preferences: { subscription_topic_id: 'nulls-topic' },
    delay: { duration: 1000, timezone: 'UTC' },
    expiry: { expires_in: 3_600_000, expires_at: '2099-01-01T00:00:00Z' },
    timeout: { message: 3_600_000, channel: {}, provider: {}, escalation: 60_000, criteria: 'no-escalation' },
    ...over,
  },
});

const SCHEMAS: Record<string, Schema> = {
  'send.message': {
    file: 'resources/send.d.ts',
    params: 'SendMessageParams',
    method: 'POST',
    path: () => '/send',
    bodies: () => [
      message({ to: user() }),
      message({ to: [user()] }),
      message({ to: { webhook: { url: 'https://example.test/hook', method: 'POST', headers: {}, authentication: { mode: 'none' }, profile: 'limited' } } }),
      message({ to: [{ pagerduty: { routing_key: 'k', event_action: 'trigger', severity: 'info', source: 's' } }] }),
      message({ to: { pagerduty: { routing_key: 'k', event_action: 'trigger', severity: 'info', source: 's' } } }),
      message({ to: [{ webhook: { url: 'https://example.test/hook', method: 'POST', headers: {}, authentication: { mode: 'none' }, profile: 'limited' } }] }),
      message({ to: { list_pattern: 'nulls.*', filters: [] } }),
      message({ to: [{ list_pattern: 'nulls.*', filters: [] }] }),
      message({ to: { user_id: uid('u') }, template: 'nulls-template', content: undefined }),
      message({
        to: { user_id: uid('u') },
        content: { version: '2022-01-01', elements: [{ type: 'text', content: 'x', channels: ['inbox'], if: 'true', loop: 'data.items', ref: 'r', raw: {} }] },
      }),
      message({ to: { user_id: uid('u') }, delay: { until: '2099-01-01T00:00:00Z' } }),
    ],
  },
  'tenants.update': {
    file: 'resources/tenants/tenants.d.ts',
    params: 'TenantUpdateParams',
    method: 'PUT',
    path: () => `/tenants/${uid('t')}`,
    bodies: () => [
      {
        name: 'T',
        parent_tenant_id: 'nulls-parent',
        brand_id: 'nulls-brand',
        properties: { a: 1 },
        user_profile: { b: 2 },
        default_preferences: { items: [{ id: 'nulls-topic', status: 'OPTED_IN', has_custom_routing: true, custom_routing: ['email'] }] },
      },
    ],
  },
  'brands.create': {
    file: 'resources/brands.d.ts',
    params: 'BrandCreateParams',
    method: 'POST',
    path: () => '/brands',
    bodies: () => [
      {
        id: uid('b'),
        name: 'B',
        settings: {
          colors: { primary: '#000000', secondary: '#ffffff' },
          email: {
            footer: { content: 'f', inheritDefault: false },
            head: { inheritDefault: false, content: '<style></style>' },
            header: { logo: { href: 'https://x.test', image: 'https://x.test/l.png' }, barColor: '#000000', inheritDefault: false },
            templateOverride: {
              enabled: true,
              backgroundColor: '#000000',
              blocksBackgroundColor: '#ffffff',
              footer: 'f',
              head: 'h',
              header: 'h',
              width: '600px',
              footerBackgroundColor: '#000000',
              footerFullWidth: true,
              mjml: { enabled: false, backgroundColor: '#000000', blocksBackgroundColor: '#ffffff', footer: 'f', head: 'h', header: 'h', width: '600px' },
            },
          },
          inapp: {
            colors: {},
            icons: { bell: 'b', message: 'm' },
            widgetBackground: { topColor: '#000000', bottomColor: '#000000' },
            borderRadius: '4px',
            disableMessageIcon: false,
            fontFamily: 'x',
            placement: 'top',
          },
        },
        snippets: { items: [{ name: 'sig', value: 'v' }] },
      },
    ],
  },
  'users.preferences.updateOrCreateTopic': {
    file: 'resources/users/preferences.d.ts',
    params: 'PreferenceUpdateOrCreateTopicParams',
    notInBody: ['user_id', 'tenant_id'],
    method: 'PUT',
    path: () => `/users/${uid('u')}/preferences/nulls-topic`,
    bodies: () => [{ topic: { status: 'OPTED_OUT', has_custom_routing: true, custom_routing: ['email'] } }],
  },
  'bulk.createJob': {
    file: 'resources/bulk.d.ts',
    params: 'BulkCreateJobParams',
    method: 'POST',
    path: () => '/bulk',
    bodies: () => [
      {
        message: {
          event: 'e',
          brand: 'nulls-brand',
          content: { title: 'T', body: 'B' },
          data: { a: 1 },
          locale: { en: {} },
          override: {},
          template: 'nulls-template',
        },
      },
      {
        message: {
          event: 'e',
          content: {
            version: '2022-01-01',
            elements: [{ type: 'text', content: 'x', channels: ['inbox'], if: 'true', loop: 'data.items', ref: 'r', raw: {} }],
          },
        },
      },
    ],
  },
  'lists.update': {
    file: 'resources/lists/lists.d.ts',
    params: 'ListUpdateParams',
    method: 'PUT',
    path: () => `/lists/${uid('nulls.l')}`,
    bodies: () => [{ name: 'L', preferences: { notifications: {}, categories: {} } }],
  },
  'lists.subscriptions.add': {
    file: 'resources/lists/subscriptions.d.ts',
    params: 'SubscriptionAddParams',
    method: 'POST',
    path: () => `/lists/${uid('nulls.l')}/subscriptions`,
    bodies: () => [{ recipients: [{ recipientId: uid('u'), preferences: { notifications: {}, categories: {} } }] }],
  },
  'lists.subscriptions.subscribeUser': {
    file: 'resources/lists/subscriptions.d.ts',
    params: 'SubscriptionSubscribeUserParams',
    notInBody: ['list_id'],
    method: 'PUT',
    path: () => `/lists/${uid('nulls.l')}/subscriptions/${uid('u')}`,
    bodies: () => [{ preferences: { notifications: {}, categories: {} } }],
  },
  'profiles.lists.subscribe': {
    file: 'resources/profiles/lists.d.ts',
    params: 'ListSubscribeParams',
    method: 'POST',
    path: () => `/profiles/${uid('u')}/lists`,
    bodies: () => [{ lists: [{ listId: uid('nulls.l'), preferences: { notifications: {}, categories: {} } }] }],
  },
};

const parentOf = (body: Json, path: string[]): Json | undefined => {
  let at: unknown = body;
  for (const k of path.slice(0, -1)) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Json)[k];
  }
  return typeof at === 'object' && at !== null && !Array.isArray(at) ? (at as Json) : undefined;
};

const tested: Record<string, number> = {};

describe.each(Object.entries(SCHEMAS))('%s', (name, schema) => {
  it('answers a null field as it answers the field left out', async () => {
    await s.http('POST', '/brands', { id: 'nulls-brand', name: 'B' });
    const fields = nullableFields(schema.file, schema.params).filter((f) => !schema.notInBody?.includes(f));
    expect(fields.length).toBeGreaterThan(0);
    const mismatches: string[] = [];
    const unreached: string[] = [];
    for (const field of fields) {
      const path = field.split('.');
      const at = schema.bodies().findIndex((b) => parentOf(b, path) !== undefined);
      if (at < 0) {
        unreached.push(field);
        continue;
      }
      // Each call gets a fresh example (ids made anew), so neither finds what the other created.
      const without = schema.bodies()[at];
      delete parentOf(without, path)![path[path.length - 1]];
      const withNull = schema.bodies()[at];
      parentOf(withNull, path)![path[path.length - 1]] = null;
      const [a, b] = [await s.http(schema.method, schema.path(), without), await s.http(schema.method, schema.path(), withNull)];
      if (a.status !== b.status) mismatches.push(`${field}: ${b.status} with null, ${a.status} without (${b.text.slice(0, 160)})`);
      else if (b.status >= 500) mismatches.push(`${field}: ${b.status}`);
    }
    tested[name] = fields.length - unreached.length;
    expect({ unreached, mismatches }).toEqual({ unreached: [], mismatches: [] });
  }, 120_000);
});

describe('query values the SDK serialises from null (`key=`)', () => {
  it.each([
    ['/tenants', ['cursor', 'limit', 'parent_tenant_id']],
    [
      '/messages',
      [
        'archived',
        'cursor',
        'enqueued_after',
        'event',
        'list',
        'messageId',
        'notification',
        'provider',
        'recipient',
        'status',
        'tag',
        'tags',
        'tenant_id',
        'traceId',
      ],
    ],
    ['/notifications', ['cursor', 'notes', 'event_id']],
    ['/lists', ['cursor', 'pattern']],
    ['/audiences', ['cursor']],
    ['/brands', ['cursor']],
    ['/audit-events', ['cursor']],
    ['/routing-strategies', ['cursor', 'limit']],
    ['/suppressions', ['cursor', 'channel']],
    ['/users/nulls-user/preferences', ['tenant_id']],
    ['/users/nulls-user/tenants', ['cursor', 'limit']],
  ])('GET %s with each of them empty answers as without it', async (path, keys) => {
    const plain = await s.http('GET', path);
    expect(plain.status).toBe(200);
    for (const key of keys) expect([key, (await s.http('GET', `${path}?${key}=`)).status]).toEqual([key, 200]);
  });
});

afterAll(() => {
  process.stdout.write(`nullable fields tested: ${JSON.stringify(tested)} (${Object.values(tested).reduce((a, b) => a + b, 0)} in all)\n`);
});
