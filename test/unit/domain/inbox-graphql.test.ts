import { CourierClient } from '@trycourier/courier-js';
import { parse, validate } from 'graphql';
import {
  inboxRules,
  inboxSchema,
  MAX_DEPTH,
  MAX_ROOT_FIELDS,
  storeFilter,
  toNode,
  type FilterParams,
  type Mapped,
  type StoreFilter,
} from '../../../lambdas/domain/inbox-graphql';

const errorsOf = (query: string) => validate(inboxSchema, parse(query), inboxRules).map((e) => e.message);

describe('the operations courier-js 3.4.0 sends validate against the schema', () => {
  /** Every query the client's InboxClient sends, captured from its own code with a fetch that answers `{ data: {} }`. */
  const sent: { url: string; query: string; headers: Record<string, string> }[] = [];
  const realFetch = global.fetch;
  beforeAll(async () => {
    global.fetch = (async (url: string, init: { body: string; headers: Record<string, string> }) => {
      sent.push({ url, query: (JSON.parse(init.body) as { query: string }).query, headers: init.headers });
      return new Response('{"data":{}}', { status: 200, headers: { 'content-type': 'application/json' } });
    }) as unknown as typeof fetch;
    const client = new CourierClient({
      userId: 'u1',
      jwt: 'jwt',
      tenantId: 'acme',
      apiUrls: { courier: { rest: 'http://x', graphql: 'http://x/client/q' }, inbox: { graphql: 'http://x/inbox/graphql', webSocket: 'ws://x' } },
    });
    const inbox = client.inbox;
    await inbox.getMessages();
    await inbox.getMessages({ paginationLimit: 5, startCursor: 'eyJwayI6MX0', filter: { status: 'read', archived: true } });
    await inbox.getMessages({ filter: { tags: ['a', 'b'], from: '2026-01-01T00:00:00.000Z' } });
    await inbox.getArchivedMessages();
    await inbox.getUnreadMessageCount();
    await inbox.getUnreadCounts({ all: {}, 'my-tab_1': { archived: true }, read: { status: 'read' } });
    await inbox.read({ messageId: 'm1' });
    await inbox.unread({ messageId: 'm1' });
    await inbox.open({ messageId: 'm1' });
    await inbox.batchOpen(['m1', 'm2', 'm3']);
    await inbox.archive({ messageId: 'm1' });
    await inbox.unarchive({ messageId: 'm1' });
    await inbox.click({ messageId: 'm1', trackingId: 'm1' });
    await inbox.readAll();
    await inbox.archiveRead();
    await inbox.archiveAll();
  });
  afterAll(() => {
    global.fetch = realFetch;
  });

  it('sends each to apiUrls.inbox.graphql with the bearer token', () => {
    expect(sent.length).toBe(16);
    for (const s of sent) {
      expect(s.url).toBe('http://x/inbox/graphql');
      expect(s.headers.Authorization).toBe('Bearer jwt');
    }
  });

  it('every one is valid', () => {
    expect(sent.map((s) => [s.query.replace(/\s+/g, ' ').trim().slice(0, 60), errorsOf(s.query)]).filter(([, e]) => e.length)).toEqual([]);
  });

  it('selects every field of a message the schema has', () => {
    expect(sent[0].query).toMatch(/trackingIds\s*{\s*clickTrackingId\s*}/);
    expect(sent[0].query).toMatch(/actions\s*{\s*content\s*data\s*href\s*}/);
  });
});

describe('limits', () => {
  it('refuses more root fields than MAX_ROOT_FIELDS', () => {
    const many = (n: number) => `mutation { ${Array.from({ length: n }, (_, i) => `o${i}: opened(messageId: "m${i}")`).join(' ')} }`;
    expect(errorsOf(many(MAX_ROOT_FIELDS))).toEqual([]);
    expect(errorsOf(many(MAX_ROOT_FIELDS + 1))).toEqual([`An operation may select at most ${MAX_ROOT_FIELDS} root fields (${MAX_ROOT_FIELDS + 1} here)`]);
  });

  it('counts root fields inside fragments', () => {
    const spread = `query { ...A ...A } fragment A on Query { ${Array.from({ length: 60 }, (_, i) => `c${i}: count`).join(' ')} }`;
    expect(errorsOf(spread)).toContain(`An operation may select at most ${MAX_ROOT_FIELDS} root fields (120 here)`);
  });

  it('has no schema deeper than MAX_DEPTH to ask, and refuses introspection', () => {
    expect(errorsOf('{ messages { nodes { actions { href } trackingIds { clickTrackingId } } pageInfo { hasNextPage } } }')).toEqual([]);
    expect(MAX_DEPTH).toBeGreaterThanOrEqual(4);
    expect(errorsOf('{ __schema { types { name } } }').join()).toMatch(/introspection/i);
  });

  it('refuses what the schema does not have', () => {
    expect(errorsOf('{ message(messageId: "m1") { title } }').join()).toMatch(/Cannot query field "message"/);
    expect(errorsOf('mutation { delete(messageId: "m1") }').join()).toMatch(/Cannot query field "delete"/);
  });
});

describe('storeFilter', () => {
  it.each<[string, FilterParams | undefined, string | undefined, Mapped<StoreFilter>]>([
    ['no params: the active inbox', undefined, undefined, { ok: true, value: { archived: false } }],
    ['empty params', {}, undefined, { ok: true, value: { archived: false } }],
    ['unread', { status: 'unread' }, undefined, { ok: true, value: { archived: false, read: false } }],
    ['read', { status: 'read' }, undefined, { ok: true, value: { archived: false, read: true } }],
    ['archived', { archived: true }, undefined, { ok: true, value: { archived: true } }],
    ['archived false', { archived: false }, undefined, { ok: true, value: { archived: false } }],
    ['archived unread', { archived: true, status: 'unread' }, undefined, { ok: true, value: { archived: true, read: false } }],
    ['nulls are unset', { archived: null, status: null, accountId: null, tags: null, from: null }, undefined, { ok: true, value: { archived: false } }],
    ['an empty tag list', { tags: [] }, undefined, { ok: true, value: { archived: false } }],
    ['an account of an unscoped token', { accountId: 'acme' }, undefined, { ok: true, value: { tenantId: 'acme', archived: false } }],
    ['the token’s tenant without an account', {}, 'acme', { ok: true, value: { tenantId: 'acme', archived: false } }],
    ['the token’s own tenant', { accountId: 'acme' }, 'acme', { ok: true, value: { tenantId: 'acme', archived: false } }],
    [
      'another tenant than the token’s',
      { accountId: 'other' },
      'acme',
      { ok: false, code: 'FORBIDDEN', message: 'Forbidden: the token is scoped to another tenant than other' },
    ],
    [
      'a status of neither',
      { status: 'seen' },
      undefined,
      { ok: false, code: 'BAD_USER_INPUT', message: 'params.status: must be "read" or "unread", not "seen"' },
    ],
    ['an empty account', { accountId: '' }, undefined, { ok: false, code: 'BAD_USER_INPUT', message: 'params.accountId: must be 1-256 characters' }],
    [
      'tags',
      { tags: ['x'] },
      undefined,
      { ok: false, code: 'NOT_SUPPORTED', message: 'params.tags: filtering by tags is not supported (this inbox keeps no tags)' },
    ],
    [
      'a from time',
      { from: '2026-01-01T00:00:00Z' },
      undefined,
      { ok: false, code: 'NOT_SUPPORTED', message: 'params.from: filtering by creation time is not supported' },
    ],
  ])('%s', (_, params, tenant, expected) => {
    expect(storeFilter(params, tenant)).toEqual(expected);
  });
});

describe('toNode', () => {
  it('maps a stored message to the client’s node', () => {
    expect(
      toNode({
        messageId: '1-abc',
        title: 'Hi',
        body: 'Body text',
        blocks: [
          { type: 'text', text: 'Body text' },
          { type: 'action', text: 'Open', href: 'https://x.test/t/c/sig' },
          { type: 'action', text: 'No link' },
        ],
        created: Date.UTC(2026, 10, 30, 9, 0, 0),
        read: true,
        archived: false,
        opened: true,
      }),
    ).toEqual({
      messageId: '1-abc',
      read: true,
      archived: false,
      opened: true,
      created: '2026-11-30T09:00:00.000Z',
      title: 'Hi',
      preview: 'Body text',
      data: null,
      tags: null,
      trackingIds: { clickTrackingId: '1-abc' },
      actions: [
        { content: 'Open', href: 'https://x.test/t/c/sig', data: null },
        { content: 'No link', href: null, data: null },
      ],
    });
  });

  it('a message without content has null title and preview and no actions', () => {
    expect(toNode({ messageId: 'm', created: 0, read: false, archived: true, opened: false })).toMatchObject({
      title: null,
      preview: null,
      actions: [],
      archived: true,
      created: '1970-01-01T00:00:00.000Z',
    });
  });
});
