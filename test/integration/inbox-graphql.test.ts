import { CourierClient } from '@trycourier/courier-js';
import { advanceClock } from '../../lambdas/shared/clock';
import { MAX_ROOT_FIELDS } from '../../lambdas/domain/inbox-graphql';
import { sendAndWait } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { details } from '../helpers/tracking';
import { uid } from '../helpers/wait';
import { INBOX_READ, INBOX_WRITE, issueToken } from '../helpers/tokens';

/**
 * POST /inbox/graphql driven by Courier's own browser client, @trycourier/courier-js 3.4.0
 * (InboxClient), against the local stack; what it answers checked against the REST inbox.
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s?.stop());

const READ = INBOX_READ;
const WRITE = INBOX_WRITE;
const issue = (scope: string, expires_in?: string) => issueToken(s, scope, expires_in);

/** Courier's client, pointed at the stack (the socket is never opened here). */
const inboxOf = (userId: string, jwt: string, tenantId?: string) =>
  new CourierClient({
    userId,
    jwt,
    ...(tenantId ? { tenantId } : {}),
    apiUrls: {
      courier: { rest: s.url, graphql: `${s.url}/client/q` },
      inbox: { graphql: `${s.url}/inbox/graphql`, webSocket: 'ws://127.0.0.1:1' },
    },
  }).inbox;

/** A GraphQL request as the client sends it. */
async function gql(token: string | null, query: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${s.url}/inbox/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, json: (await res.json()) as { data?: Record<string, unknown>; errors?: { message: string; extensions?: { code?: string } }[] } };
}
const codes = (json: { errors?: { extensions?: { code?: string } }[] }) => (json.errors ?? []).map((e) => e.extensions?.code);

/** What the REST inbox lists for a token (its ids, newest first), with a query. */
const rest = async (token: string, query = '') =>
  (await s.http('GET', `/inbox/messages${query}`, undefined, { key: token })).json.results as {
    messageId: string;
    read: boolean;
    archived: boolean;
    opened: boolean;
  }[];
const restIds = async (token: string, query = '') => (await rest(token, query)).map((m) => m.messageId);

/** Sends an inbox message with an action link to `userId` (in `tenantId`'s context when given); its id. */
async function deliver(userId: string, title: string, tenantId?: string): Promise<string> {
  const { messages } = await sendAndWait(
    s,
    {
      to: { user_id: userId, ...(tenantId ? { tenant_id: tenantId } : {}) },
      content: {
        version: '2022-01-01',
        elements: [
          { type: 'meta', title },
          { type: 'text', content: `${title} body` },
          { type: 'action', content: 'Go', href: 'https://acme.test/go' },
        ],
      },
      routing: { method: 'single', channels: ['inbox'] },
    },
    1,
  );
  expect(messages[0].status).toBe('DELIVERED');
  return messages[0].id;
}

type Node = { messageId: string; read: boolean; archived: boolean; opened: boolean; title: string };
const ids = (r: { data?: { messages?: { nodes?: unknown[] } } }) => ((r.data?.messages?.nodes ?? []) as Node[]).map((n) => n.messageId);

describe('the inbox through courier-js', () => {
  it('lists with every field the client selects, counts, and marks read, unread, opened, archived, all read, as REST shows', async () => {
    const u = uid('gql');
    const first = await deliver(u, 'First');
    const second = await deliver(u, 'Second');
    const token = await issue(`user_id:${u} ${READ} ${WRITE}`);
    const inbox = inboxOf(u, token);

    const page = await inbox.getMessages();
    expect(page).not.toHaveProperty('errors');
    expect(page.data).toMatchObject({ count: 2, unreadCount: 2, messages: { totalCount: 2, pageInfo: { startCursor: null, hasNextPage: false } } });
    expect(ids(page)).toEqual([second, first]);
    const node = page.data!.messages!.nodes![1] as unknown as Record<string, unknown>;
    expect(node).toEqual({
      messageId: first,
      read: false,
      archived: false,
      opened: false,
      created: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      title: 'First',
      preview: expect.stringContaining('First body'),
      data: null,
      tags: null,
      trackingIds: { clickTrackingId: first },
      actions: [{ content: 'Go', href: expect.stringMatching(new RegExp(`^${s.url}/t/c/`)), data: null }],
    });
    expect(await inbox.getUnreadMessageCount()).toBe(2);

    await inbox.read({ messageId: first });
    expect(await restIds(token, '?status=read')).toEqual([first]);
    expect(await inbox.getUnreadMessageCount()).toBe(1);
    // A read feeds the status machine as the REST read does.
    expect(await details(s, first)).toMatchObject({ status: 'OPENED' });

    await inbox.unread({ messageId: first });
    expect(await restIds(token, '?status=unread')).toEqual([second, first]);

    await inbox.open({ messageId: second });
    expect((await rest(token)).find((m) => m.messageId === second)).toMatchObject({ opened: true, read: false });
    expect(await inbox.getUnreadMessageCount()).toBe(2);
    expect(await details(s, second)).toMatchObject({ status: 'OPENED' });

    await inbox.archive({ messageId: second });
    expect(await restIds(token, '?archived=true')).toEqual([second]);
    expect(await restIds(token)).toEqual([first]);
    const archived = await inbox.getArchivedMessages();
    expect(ids(archived)).toEqual([second]);
    expect(archived.data).toMatchObject({ count: 1, unreadCount: 1 });
    expect((archived.data!.messages!.nodes![0] as unknown as Node).archived).toBe(true);
    expect(await inbox.getUnreadCounts({ inbox: {}, archive: { archived: true }, read: { status: 'read' } })).toEqual({ inbox: 1, archive: 1, read: 0 });

    await inbox.unarchive({ messageId: second });
    expect(await restIds(token)).toEqual([second, first]);

    await inbox.readAll();
    expect(await restIds(token, '?status=unread')).toEqual([]);
    expect(await inbox.getUnreadMessageCount()).toBe(0);
    const read = await inbox.getMessages({ filter: { status: 'read' } });
    expect(ids(read)).toEqual([second, first]);
    // With status "read" the client asks its unreadCount with the same params (its getUnreadCounts answers 0 itself).
    expect(read.data).toMatchObject({ count: 2, unreadCount: 2 });
  });

  it('opens a batch, and archives the read ones or all', async () => {
    const u = uid('gql-batch');
    const [a, b, c] = [await deliver(u, 'A'), await deliver(u, 'B'), await deliver(u, 'C')];
    const token = await issue(`user_id:${u} ${READ} ${WRITE}`);
    const inbox = inboxOf(u, token);
    await inbox.batchOpen([a, b]);
    expect((await rest(token)).map((m) => [m.messageId, m.opened])).toEqual([
      [c, false],
      [b, true],
      [a, true],
    ]);
    await inbox.read({ messageId: b });
    await inbox.archiveRead();
    expect(await restIds(token, '?archived=true')).toEqual([b]);
    expect(await restIds(token)).toEqual([c, a]);
    await inbox.archiveAll();
    expect(await restIds(token)).toEqual([]);
    expect(await restIds(token, '?archived=true')).toEqual([c, b, a]);
    expect(await inbox.getUnreadMessageCount()).toBe(0);
  });

  it('records a click with the message’s click tracking id, and refuses another id', async () => {
    const u = uid('gql-click');
    const id = await deliver(u, 'Click me');
    const token = await issue(`user_id:${u} ${READ} ${WRITE}`);
    const inbox = inboxOf(u, token);
    const bad = await gql(token, `mutation { clicked(messageId: "${id}", trackingId: "not-it") }`);
    expect([bad.status, bad.json.data, codes(bad.json)]).toEqual([200, { clicked: null }, ['BAD_USER_INPUT']]);
    expect((await details(s, id)).status).toBe('DELIVERED');
    const clickTrackingId = ((await inbox.getMessages()).data!.messages!.nodes![0] as { trackingIds: { clickTrackingId: string } }).trackingIds.clickTrackingId;
    await inbox.click({ messageId: id, trackingId: clickTrackingId });
    expect(await details(s, id)).toMatchObject({ status: 'CLICKED', clicked: expect.any(Number) });
  });

  it('pages past one page with the cursor the client passes back as after', async () => {
    const u = uid('gql-pager');
    const sent: string[] = [];
    for (let i = 0; i < 3; i++) sent.unshift(await deliver(u, `M${i}`));
    const inbox = inboxOf(u, await issue(`user_id:${u} ${READ}`));
    const one = await inbox.getMessages({ paginationLimit: 2 });
    expect(ids(one)).toEqual(sent.slice(0, 2));
    expect(one.data!.messages).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: true, startCursor: expect.any(String) } });
    const two = await inbox.getMessages({ paginationLimit: 2, startCursor: one.data!.messages!.pageInfo!.startCursor });
    expect(ids(two)).toEqual(sent.slice(2));
    expect(two.data!.messages!.pageInfo).toEqual({ startCursor: null, hasNextPage: false });
  });
});

describe('tenants', () => {
  it('a token scoped to tenant A sees and changes A’s messages only', async () => {
    const u = uid('gql-tenant');
    const [ta, tb] = [uid('ta'), uid('tb')];
    for (const t of [ta, tb]) await s.client.tenants.update(t, { name: t });
    const inA = await deliver(u, 'In A', ta);
    const inB = await deliver(u, 'In B', tb);
    const none = await deliver(u, 'No tenant');
    const scoped = await issue(`user_id:${u} tenant_id:${ta} ${READ} ${WRITE}`);
    const whole = await issue(`user_id:${u} ${READ} ${WRITE}`);

    for (const inbox of [inboxOf(u, scoped, ta), inboxOf(u, scoped)]) {
      const page = await inbox.getMessages();
      expect(ids(page)).toEqual([inA]);
      expect(page.data).toMatchObject({ count: 1, unreadCount: 1 });
      expect(await inbox.getUnreadMessageCount()).toBe(1);
    }
    const other = await gql(scoped, `{ count(params: { accountId: "${tb}" }) messages(params: { accountId: "${tb}" }) { nodes { messageId } } }`);
    expect([other.status, other.json.data, codes(other.json)]).toEqual([200, { count: null, messages: null }, ['FORBIDDEN', 'FORBIDDEN']]);
    // B's message is not there for A's token: not found, and unchanged.
    const change = await gql(scoped, `mutation { read(messageId: "${inB}") archive(messageId: "${none}") }`);
    expect([change.json.data, codes(change.json)]).toEqual([{ read: null, archive: null }, ['NOT_FOUND', 'NOT_FOUND']]);
    await inboxOf(u, scoped, ta).readAll();
    expect(await restIds(whole, '?status=unread')).toEqual([none, inB]);

    // An unscoped token with the client's tenantId sees that tenant's only; without, every tenant's.
    expect(ids(await inboxOf(u, whole, tb).getMessages())).toEqual([inB]);
    expect(ids(await inboxOf(u, whole).getMessages())).toEqual([none, inB, inA]);
  });
});

describe('refusals', () => {
  it('answers GraphQL errors with 200 and data null where a field failed; never a silent success', async () => {
    const u = uid('gql-errors');
    const id = await deliver(u, 'X');
    const readOnly = await issue(`user_id:${u} ${READ}`);
    const write = await gql(readOnly, `mutation { read(messageId: "${id}") markAllRead }`);
    expect([write.status, write.json.data, codes(write.json)]).toEqual([200, { read: null, markAllRead: null }, ['FORBIDDEN', 'FORBIDDEN']]);
    expect(write.json.errors![0].message).toBe(`Forbidden: the token lacks the ${WRITE} scope`);
    expect((await rest(readOnly))[0]).toMatchObject({ messageId: id, read: false });

    const missing = await gql(await issue(`user_id:${u} ${READ} ${WRITE}`), 'mutation { read(messageId: "no-such") opened(messageId: "no-such") }');
    expect([missing.json.data, missing.json.errors!.map((e) => e.message)]).toEqual([
      { read: null, opened: null },
      ['Message no-such not found', 'Message no-such not found'],
    ]);

    const tags = await gql(readOnly, '{ messages(params: { tags: ["a"] }) { nodes { messageId } } count(params: { from: "2026-01-01" }) }');
    expect([tags.json.data, codes(tags.json)]).toEqual([{ messages: null, count: null }, ['NOT_SUPPORTED', 'NOT_SUPPORTED']]);
    expect((await gql(readOnly, '{ count(params: { status: "seen" }) }')).json.errors![0].message).toMatch(/params\.status/);
    expect((await gql(readOnly, '{ messages(limit: 1000) { totalCount } }')).json.errors![0].message).toMatch(/limit/);
    const bad = await gql(readOnly, '{ messages(after: "not-a-cursor") { totalCount } }');
    expect([bad.status, bad.json.data, codes(bad.json), bad.json.errors![0].message]).toEqual([
      200,
      { messages: null },
      ['BAD_USER_INPUT'],
      'after: not a valid cursor',
    ]);

    // No subscriptions (the client's live updates come over the socket).
    const sub = await gql(readOnly, 'subscription { count }');
    expect([sub.status, sub.json.data, sub.json.errors?.map((e) => e.message)]).toEqual([
      200,
      null,
      ['Schema is not configured to execute subscription operation.'],
    ]);
    // Parse and validation errors: 200, errors, no data.
    for (const query of [
      '{ count',
      '{ __schema { types { name } } }',
      'mutation { deleteAll }',
      `{ ${Array.from({ length: MAX_ROOT_FIELDS + 1 }, (_, i) => `c${i}: count`).join(' ')} }`,
    ]) {
      const res = await gql(readOnly, query);
      expect([query.slice(0, 30), res.status, res.json.data, (res.json.errors ?? []).length > 0]).toEqual([query.slice(0, 30), 200, undefined, true]);
    }
  });

  it('refuses a request that is not GraphQL with 400, and a header naming another user with 403', async () => {
    const u = uid('gql-http');
    const token = await issue(`user_id:${u} ${READ}`);
    for (const body of [{}, { query: 1 }, { query: '{ count }', extensions: {} }, { query: 'x'.repeat(40_000) }]) {
      const res = await s.http('POST', '/inbox/graphql', body, { key: token });
      expect([res.status, res.json.type, res.json.message]).toEqual([400, 'invalid_request_error', expect.stringMatching(/body/)]);
    }
    expect((await gql(token, '{ count }', { 'x-courier-user-id': u })).json).toEqual({ data: { count: 0 } });
    const other = await gql(token, '{ count }', { 'x-courier-user-id': 'someone-else' });
    expect([other.status, other.json]).toEqual([403, { type: 'authorization_error', message: expect.stringContaining('x-courier-user-id') }]);
  });

  it('refuses a missing, forged, API-key or expired token with 401, which courier-js throws', async () => {
    const u = uid('gql-auth');
    await deliver(u, 'Secret');
    const token = await issue(`user_id:${u} ${READ}`, '1m');
    expect(ids(await inboxOf(u, token).getMessages())).toHaveLength(1);
    const [h, p, sig] = token.split('.');
    const forgedPayload = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), scope: `user_id:someone-else ${READ}` }),
    ).toString('base64url');
    for (const bad of [`${h}.${forgedPayload}.${sig}`, `${h}.${p}.${sig.slice(0, -2)}xx`, s.apiKey]) {
      await expect(inboxOf(u, bad).getMessages()).rejects.toMatchObject({ name: 'CourierRequestError', code: 401, type: 'authentication_error' });
    }
    expect((await gql(null, '{ count }')).status).toBe(401);
    // Last in this file: the functions' clock moved past the token's lifetime.
    advanceClock(61_000);
    await expect(inboxOf(u, token).getMessages()).rejects.toMatchObject({ code: 401, message: 'Unauthorized: the token has expired' });
  });
});
