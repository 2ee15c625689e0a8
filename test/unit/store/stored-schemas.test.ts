/**
 * Store reads parse what they read by the entity's schema, never cast it (issue 12, item 1): each
 * schema accepts what its writer stores, keeping every stored key, and a read of a malformed stored
 * document is an error naming the item. The reads run against a stub of the DynamoDB client's
 * `send` (unit tests never reach the table): it answers a Get with one item, a Query with a page.
 */
import { z } from 'zod';
import { ddb } from '../../../lambdas/shared/aws';
import { allAudiences, audienceSchema, getAudience, listAudiences, saveAudience } from '../../../lambdas/store/audiences';
import { apiKeyRecordSchema, listKeys } from '../../../lambdas/store/api-keys';
import { brandDocSchema, brands } from '../../../lambdas/store/brands';
import { dynamoIdempotencyStore, storedResponseSchema } from '../../../lambdas/store/idempotency';
import { inboxContentSchema, listInbox } from '../../../lambdas/store/inbox';
import { topics, topicSchema } from '../../../lambdas/store/preferences';
import { providerDocSchema, providers } from '../../../lambdas/store/providers';
import { parseDoc, type StoredItem } from '../../../lambdas/store/table';
import {
  getPublishedVersion,
  listVersions,
  notificationBodySchema,
  publishedVersionSchema,
  readTemplate,
  saveDraft,
  templateDocSchema,
  templates,
  type NotificationBody,
} from '../../../lambdas/store/templates';
import { checksDocSchema } from '../../../lambdas/store/template-checks';
import { translationDocSchema } from '../../../lambdas/store/translations';
import { bulkStep, type RecipientSink } from '../../../lambdas/workers/bulk-fanout';
import { cleanupTenant } from '../../../lambdas/workers/directory-jobs';

const body: NotificationBody = {
  name: 'Welcome',
  tags: ['onboarding'],
  brand: { id: 'b1' },
  subscription: { topic_id: 'news' },
  routing: { method: 'single', channels: ['email', { method: 'all', channels: ['sms', 'push'] }] },
  content: {
    version: '2022-01-01',
    elements: [
      { type: 'meta', title: 'Hello {{name}}' },
      { type: 'channel', channel: 'email', elements: [{ type: 'text', content: 'Hi' }] },
    ],
  },
};
const bare: NotificationBody = { name: 'Bare', tags: [], brand: null, subscription: null, routing: null, content: { title: 'Hi', body: 'there' } };

/** A schema, documents as its writer stores them, and malformed ones. */
const cases: [string, z.ZodType<unknown>, unknown[], unknown[]][] = [
  [
    'brand (POST/PUT /brands)',
    brandDocSchema,
    [
      { name: 'Acme', settings: {}, snippets: { items: [] } },
      {
        name: 'Acme',
        settings: { colors: { primary: '#ff0000' }, email: { header: { barColor: '#000' } } },
        snippets: { items: [{ name: 'sig', value: 'Bye' }] },
      },
    ],
    [
      { name: 'Acme', settings: {} },
      { name: 'Acme', settings: 'red', snippets: { items: [] } },
    ],
  ],
  [
    'provider (POST/PUT /providers)',
    providerDocSchema,
    [
      { provider: 'smtp', channel: 'email', title: 'SMTP', priority: 100, settings: { host: 'smtp.example.test', port: 587 } },
      { provider: 'inbox', channel: 'inbox', title: 'Inbox', alias: 'main', priority: 0, settings: {} },
    ],
    [
      { provider: 'smtp', channel: 'email', title: 'SMTP', priority: '100', settings: {} },
      { provider: 'smtp', title: 'SMTP', priority: 1, settings: {} },
    ],
  ],
  [
    'topic (PUT /preferences/topics/:id)',
    topicSchema,
    [
      { name: 'News', default_status: 'OPTED_IN' },
      { name: 'Alerts', default_status: 'REQUIRED', has_custom_routing: true, custom_routing: ['email', 'direct_message:slack'] },
    ],
    [{ name: 'News', default_status: 'MAYBE' }, { default_status: 'OPTED_OUT' }],
  ],
  [
    'notification body (toNotification)',
    notificationBodySchema,
    [body, bare, { ...bare, routing: { strategy_id: 'rs-1' } }],
    [
      { ...bare, content: undefined },
      { ...bare, tags: 'a' },
      { ...bare, routing: ['email'] },
    ],
  ],
  [
    'template (saveDraft, publish, archiveTemplate)',
    templateDocSchema,
    [
      { draft: body, state: 'DRAFT', published: 0 },
      { draft: bare, state: 'PUBLISHED', published: 2, published_at: 1_700_000_000_000 },
      { draft: bare, state: 'DRAFT', published: 1, published_at: 1_700_000_000_000, archived: true },
    ],
    [
      { draft: bare, state: 'LIVE', published: 0 },
      { draft: { ...bare, name: 1 }, state: 'DRAFT', published: 0 },
      { state: 'DRAFT', published: 0 },
    ],
  ],
  [
    'published version (publish)',
    publishedVersionSchema,
    [{ version: 'v1', notification: body, created: 1_700_000_000_000 }],
    [
      { version: 'v1', notification: body, created: '1700000000000' },
      { version: 'v1', created: 1 },
    ],
  ],
  [
    'checks of a submission (putChecks)',
    checksDocSchema,
    [{ checks: [] }, { checks: [{ id: 'legal', type: 'custom', status: 'PENDING', updated: 1_700_000_000_000 }] }],
    [{ checks: [{ id: 'legal', type: 'custom', status: 'DONE', updated: 1 }] }, { checks: [{ id: 'legal', type: 'custom', status: 'PENDING' }] }, {}],
  ],
  ['translation (putTranslation)', translationDocSchema, [{ locale: 'fr_FR', po: 'msgid "a"\nmsgstr "b"' }], [{ locale: 'fr_FR' }, { locale: 'fr', po: 5 }]],
  [
    'audience (saveAudience)',
    audienceSchema,
    [
      {
        id: 'a1',
        name: 'a1',
        description: '',
        operator: 'AND',
        filter: { filters: [] },
        version: 1,
        created_at: '2024-01-01T00:00:00.000Z',
        updated_at: '2024-01-01T00:00:00.000Z',
      },
      {
        id: 'a2',
        name: 'Parisians',
        description: 'in Paris or tagged',
        operator: 'OR',
        filter: {
          filters: [
            { operator: 'EQ', path: 'location.city', value: 'Paris' },
            {
              operator: 'AND',
              filters: [
                { operator: 'INCLUDES', path: 'tags', value: ['a', 'b'] },
                { operator: 'MEMBER_OF', value: 't1' },
              ],
            },
          ],
        },
        version: 7,
        created_at: '2024-01-01T00:00:00.000Z',
        updated_at: '2024-02-01T00:00:00.000Z',
      },
    ],
    [
      { id: 'a1', name: 'a1', description: '', operator: 'AND', filter: { filters: [] }, created_at: 'x', updated_at: 'x' },
      { id: 'a1', name: 'a1', description: '', operator: 'AND', filter: { filters: [{ filters: [] }] }, version: 1, created_at: 'x', updated_at: 'x' },
      { id: 'a1', name: 'a1', description: '', operator: 'XOR', version: 1, created_at: 'x', updated_at: 'x' },
    ],
  ],
  [
    'API key (storeKeyHash)',
    apiKeyRecordSchema,
    [
      { name: 'local (API_KEY)', createdAt: '2024-01-01T00:00:00.000Z', hint: 'sk_l' },
      { name: 'ci', createdAt: '2024-01-01T00:00:00.000Z', revokedAt: '2024-02-01T00:00:00.000Z', hint: 'sk_c' },
    ],
    [
      { name: 'ci', createdAt: '2024-01-01T00:00:00.000Z' },
      { name: 'ci', createdAt: 1, hint: 'sk_c' },
    ],
  ],
  [
    'idempotent response (complete)',
    storedResponseSchema,
    [
      { status: 200, headers: { 'content-type': 'application/json' }, body: '{"requestId":"r1"}' },
      { status: 204, headers: {} },
      { status: 200, headers: {}, body: 'aGk=', isBase64Encoded: true },
    ],
    [{ status: 200, headers: { 'x-count': 1 } }, { headers: {} }],
  ],
  [
    'inbox content (putInboxMessage)',
    inboxContentSchema,
    [
      {},
      {
        title: 'Hi',
        body: 'there',
        blocks: [
          { type: 'text', text: 'Hi' },
          { type: 'action', text: 'Open', href: 'https://x.test' },
          { type: 'image', text: 'logo', src: 'https://x.test/l.png' },
          { type: 'divider', text: '' },
        ],
      },
    ],
    [{ title: 1 }, { blocks: [{ type: 'video', text: '' }] }],
  ],
];

const item = (doc: unknown, pk = 'ENTITY#e1', sk = 'SK'): StoredItem => ({ pk, sk, doc: JSON.stringify(doc) });
const refusal = (pk: string, sk: string) => new RegExp(`^stored document ${pk} / ${sk} does not match its schema`);

describe.each(cases)('%s: its stored schema', (_, schema, stored, malformed) => {
  it.each(stored.map((d) => [d]))('accepts what its writer stores, every key as stored: %j', (doc) => {
    expect(parseDoc(item(doc), schema)).toEqual(doc);
  });

  it('keeps keys it does not name', () => {
    const doc = { ...(stored[0] as object), added_later: { deep: [1, null] } };
    expect(parseDoc(item(doc), schema)).toEqual(doc);
  });

  it.each(malformed.map((d) => [d]))('refuses a malformed document, naming the item: %j', (doc) => {
    expect(() => parseDoc(item(doc), schema)).toThrow(refusal('ENTITY#e1', 'SK'));
  });
});

interface Table {
  get?: StoredItem;
  query?: StoredItem[];
  /** Conditional writes are refused (as if the item changed), else accepted. */
  refuseWrites?: boolean;
}

/** Stubs the client: Get answers `get`, Query answers `query` (one page), writes per `refuseWrites`. Returns the commands sent. */
function stubTable(table: Table): { name: string; input: Record<string, unknown> }[] {
  const sent: { name: string; input: Record<string, unknown> }[] = [];
  const send = async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
    const name = command.constructor.name;
    sent.push({ name, input: command.input });
    if (name === 'GetCommand') return { Item: table.get };
    if (name === 'QueryCommand') return { Items: table.query ?? [] };
    if (table.refuseWrites) throw Object.assign(new Error('refused'), { name: 'ConditionalCheckFailedException' });
    return {};
  };
  jest.spyOn(ddb, 'send').mockImplementation(send as never);
  return sent;
}

afterEach(() => jest.restoreAllMocks());

describe('a store read of a malformed stored document is an error naming the item', () => {
  // Typed as an inbox item too: the inbox skips the other items of its partition (recipient index entries).
  const bad = { ...item(['not', 'a', 'document'], 'X#1', 'Y#2'), _t: 'INBOX' };
  const refused = refusal('X#1', 'Y#2');

  it.each<[string, () => Promise<unknown>]>([
    ['brands.get', () => brands.get('b1')],
    ['brands.list', () => brands.list(10)],
    ['providers.get', () => providers.get('p1')],
    ['providers.list', () => providers.list(10)],
    ['topics.get', () => topics.get('t1')],
    ['topics.list', () => topics.list(10)],
    ['templates.get', () => templates.get('n1')],
    ['templates.list', () => templates.list(10)],
    ['readTemplate', () => readTemplate('n1')],
    ['saveDraft (reads the current template first)', () => saveDraft('n1', bare, false)],
    ['getPublishedVersion', () => getPublishedVersion('n1', 1)],
    ['listVersions', () => listVersions('n1', 10)],
    ['getAudience', () => getAudience('a1')],
    ['listAudiences', () => listAudiences(10)],
    ['allAudiences', () => allAudiences()],
    ['saveAudience (reads the current audience first)', () => saveAudience('a1', () => ({ id: 'a1', name: 'a1', description: '' }))],
    ['listKeys', () => listKeys()],
    ['listInbox', () => listInbox('u1', { limit: 10 })],
  ])('%s', async (_, read) => {
    stubTable({ get: bad, query: [bad] });
    await expect(read()).rejects.toThrow(refused);
  });

  it('an idempotency claim that finds a completed record', async () => {
    const record = { ...item({ status: 200 }, 'IDEMPOTENCY#scope', 'IDEMPOTENCY'), state: 'COMPLETED', bodyHash: 'h', ttl: 10_000 };
    stubTable({ get: record, refuseWrites: true });
    const claim = dynamoIdempotencyStore.claim('scope', { bodyHash: 'h', expiresAt: 10_000, leaseMs: 1000, now: 1_000_000 });
    await expect(claim).rejects.toThrow(refusal('IDEMPOTENCY#scope', 'IDEMPOTENCY'));
  });

  it("a deleted tenant's cleanup, reading its members", async () => {
    const member = item({ tenant_id: 't1' }, 'TENANT#t1', 'MEMBER#u1');
    const sent = stubTable({ get: undefined, query: [member] });
    await expect(cleanupTenant({ type: 'tenant-cleanup', tenantId: 't1', deletedAt: 1 })).rejects.toThrow(refusal('TENANT#t1', 'MEMBER#u1'));
    expect(sent.map((c) => c.name)).toEqual(['GetCommand', 'QueryCommand']);
  });
});

describe("a bulk job's progress in the fan-out state", () => {
  const target = { kind: 'bulk', jobId: 'j1' } as const;
  const sink = (): RecipientSink & { added: number } => ({
    added: 0,
    async add() {
      this.added++;
    },
    async flush(next) {
      return next;
    },
  });
  const job = { pk: 'BULK#j1', sk: 'JOB', doc: JSON.stringify({ definition: { event: 'e' }, created: 1 }), status: 'PROCESSING', requestId: 'req-1' };
  const users = (n: number, from = 0): StoredItem[] =>
    Array.from({ length: n }, (_, i) => item(i % 2 ? {} : { to: { user_id: `u${from + i}` } }, 'BULK#j1', `USER#c#${String(from + i).padStart(4, '0')}`));

  it('is read back as bulkStep wrote it: the next page continues the counts', async () => {
    stubTable({ get: job, query: users(251) });
    const out = sink();
    const next = await bulkStep(target, { target: 0, emitted: 0 }, out);
    expect(out.added).toBe(125);
    expect(next.cursor).toEqual(expect.any(String));

    const sent = stubTable({ query: users(2, 250) });
    expect(await bulkStep(target, next, sink())).toEqual({ target: 1, emitted: 0 });
    const complete = sent.find((c) => c.name === 'UpdateCommand')?.input.ExpressionAttributeValues;
    expect(complete).toMatchObject({ ':requestId': 'req-1', ':enqueued': 126, ':failures': 126 });
  });

  it.each([['not json'], ['{"r":"req-1","e":3}'], ['{"r":"req-1","e":"3","f":0}'], ['[]']])('refuses a state cursor that holds none: %s', async (cursor) => {
    const sent = stubTable({ get: job });
    await expect(bulkStep(target, { target: 0, emitted: 0, cursor }, sink())).rejects.toThrow(
      /^stored document the fan-out state of bulk job j1 (is not JSON|does not match its schema)/,
    );
    expect(sent).toEqual([]);
  });
});
