import { CourierClient } from '@trycourier/courier-js';
import WebSocket from 'ws';
import { sendAndWait } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually, uid } from '../helpers/wait';
import { INBOX_READ, INBOX_WRITE, issueToken } from '../helpers/tokens';

/**
 * The realtime inbox socket (README "The realtime inbox socket") driven by Courier's own browser
 * client, @trycourier/courier-js 3.4.0 (CourierInboxSocket), over the local socket server, which
 * invokes the socket function as API Gateway's WebSocket API would and answers the management API
 * the pushing functions call.
 */
// Node 20 has no WebSocket, and the client schedules its pings and retries on `window`.
Object.assign(globalThis, { WebSocket, window: globalThis });

const LIMITS = { SOCKET_MAX_CONNECTIONS_PER_USER: '3', SOCKET_MAX_CLIENT_MESSAGE_BYTES: '1024', SOCKET_MAX_PUSH_BYTES: '4096' };
/** The second stack below shares the table: the in-process functions keep the configuration they loaded with. */
const tableName = `t-ws-${Date.now()}`;
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({ tableName, env: LIMITS });
});
const open: { close(): void }[] = [];
afterAll(async () => {
  for (const c of open) c.close();
  await s?.stop();
});

const READ = INBOX_READ;
const WRITE = INBOX_WRITE;
const issue = (scope: string, expires_in?: string) => issueToken(s, scope, expires_in);

type Envelope = { event: string; messageId?: string; data?: Record<string, unknown> };
/** The client's socket as this test reads it (its config and pings are not public API). */
type InboxSocket = {
  config: { pingInterval: number; maxOutstandingPings: number } | null;
  pingTransactionManager: { completedTransactions: unknown[] };
  sendPing(): void;
  addMessageEventListener(listener: (e: unknown) => void): () => void;
  connect(): Promise<void>;
  close(): void;
};

/** A courier-js client's socket, connected and subscribed (a ping answered after its subscribe), with the events it received. */
async function listen(userId: string, jwt: string, tenantId?: string): Promise<{ socket: InboxSocket; events: Envelope[]; client: CourierClient }> {
  const client = new CourierClient({
    userId,
    jwt,
    ...(tenantId ? { tenantId } : {}),
    apiUrls: { courier: { rest: s.url, graphql: `${s.url}/client/q` }, inbox: { graphql: `${s.url}/inbox/graphql`, webSocket: s.wsUrl } },
  });
  const socket = client.inbox.socket as unknown as InboxSocket;
  const events: Envelope[] = [];
  socket.addMessageEventListener((e) => events.push(e as Envelope));
  await socket.connect();
  open.push(socket);
  await roundTrip(socket);
  return { socket, events, client };
}

/** A ping answered: everything the server sent this connection before it has arrived. */
async function roundTrip(socket: InboxSocket): Promise<void> {
  const before = socket.pingTransactionManager.completedTransactions.length;
  socket.sendPing();
  await eventually(
    async () => socket.pingTransactionManager.completedTransactions.length,
    (n) => n > before,
    5000,
  );
}

/** The status a raw handshake gets: 101 when the socket opens, else the refusal's. */
function handshake(query: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${s.wsUrl}?${query}`);
    ws.on('open', () => {
      ws.close();
      resolve({ status: 101, body: '' });
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('error', () => undefined);
  });
}

/** A raw connection of `userId`'s token (for limits and refusals), its messages and its close. */
async function raw(jwt: string, userId: string) {
  const ws = new WebSocket(`${s.wsUrl}?auth=${jwt}&userId=${encodeURIComponent(userId)}`);
  const messages: Record<string, unknown>[] = [];
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  ws.on('message', (d) => messages.push(JSON.parse(String(d)) as Record<string, unknown>));
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('error', j);
  });
  open.push(ws);
  return { ws, messages, closed };
}

async function deliver(userId: string, title: string, opts: { tenantId?: string; body?: string } = {}): Promise<string> {
  const { messages } = await sendAndWait(
    s,
    {
      to: { user_id: userId, ...(opts.tenantId ? { tenant_id: opts.tenantId } : {}) },
      content: {
        version: '2022-01-01',
        elements: [
          { type: 'meta', title },
          { type: 'text', content: opts.body ?? `${title} body` },
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

const gql = async (token: string, query: string) => {
  const res = await fetch(`${s.url}/inbox/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  const json = (await res.json()) as { errors?: unknown };
  expect([res.status, json.errors]).toEqual([200, undefined]);
};

async function arrives(events: Envelope[], match: (e: Envelope) => boolean, ms = 2000): Promise<Envelope> {
  const found = await eventually(
    async () => events.find(match),
    (e) => e !== undefined,
    ms,
  );
  return found!;
}

describe('the realtime inbox socket through courier-js', () => {
  it('answers get-config and ping, and a send to the user arrives as a message event within 2 s, as the GraphQL node', async () => {
    const u = uid('ws');
    const { socket, events } = await listen(u, await issue(`user_id:${u} ${READ}`));
    expect(socket.config).toEqual({ pingInterval: 300, maxOutstandingPings: 2 });
    const t0 = Date.now();
    const id = await deliver(u, 'Hello');
    const e = await arrives(events, (x) => x.event === 'message');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(e.data).toMatchObject({
      messageId: id,
      title: 'Hello',
      preview: 'Hello body',
      read: false,
      archived: false,
      opened: false,
      actions: [{ content: 'Go', href: expect.any(String), data: null }],
      trackingIds: { clickTrackingId: id },
    });
    expect(new Date(String(e.data?.created)).getTime()).toBeGreaterThan(t0 - 1000);
  });

  it('pushes a message delivered through the delivery queue (a list send) too', async () => {
    const u = uid('ws-list');
    const list = uid('ws.list');
    expect((await s.http('PUT', `/lists/${list}/subscriptions/${u}`, {})).status).toBeLessThan(300);
    const { events } = await listen(u, await issue(`user_id:${u} ${READ}`));
    const { messages } = await sendAndWait(
      s,
      { to: { list_id: list }, content: { title: 'To the list', body: 'Hi' }, routing: { method: 'single', channels: ['inbox'] } },
      1,
    );
    const e = await arrives(events, (x) => x.event === 'message');
    expect(e.data).toMatchObject({ messageId: messages[0].id, title: 'To the list', preview: 'Hi' });
  });

  it('pushes read, unread, opened, archive, unarchive, clicked and the bulk changes, from REST and GraphQL, to another connection of the user', async () => {
    const u = uid('ws-mut');
    const token = await issue(`user_id:${u} ${READ} ${WRITE}`);
    const { events } = await listen(u, token);
    const [a, b] = [await deliver(u, 'A'), await deliver(u, 'B')];
    const post = async (path: string) => expect((await s.http('POST', `/inbox/messages/${path}`, undefined, { key: token })).status).toBeLessThan(300);
    const seen = async (event: string, messageId?: string) => {
      await arrives(events, (e) => e.event === event && e.messageId === messageId);
    };
    await post(`${a}/read`);
    await seen('read', a);
    await gql(token, `mutation { unread(messageId: "${a}") }`);
    await seen('unread', a);
    await post(`${b}/opened`);
    await seen('opened', b);
    await gql(token, `mutation { archive(messageId: "${b}") }`);
    await seen('archive', b);
    await post(`${b}/unarchive`);
    await seen('unarchive', b);
    await gql(token, `mutation { clicked(messageId: "${a}", trackingId: "${a}") }`);
    await seen('clicked', a);
    await gql(token, 'mutation { markAllRead }');
    await seen('mark-all-read');
    await gql(token, 'mutation { archiveRead }');
    await seen('archive-read');
    await deliver(u, 'C');
    await post('read-all');
    expect(events.filter((e) => e.event === 'mark-all-read')).toHaveLength(2);
    await gql(token, 'mutation { archiveAll }');
    await seen('archive-all');
    // A change that changes nothing (read twice) is not pushed.
    const count = events.length;
    await post(`${a}/archive`);
    expect(events.length).toBe(count);
  });

  it('keeps tenants apart: a tenant-bound connection gets only its tenant’s events, one without a tenant all, another user’s nothing', async () => {
    const u = uid('ws-ten');
    const [ta, tb] = [uid('ta'), uid('tb')];
    for (const t of [ta, tb]) expect((await s.http('PUT', `/tenants/${t}`, { name: t })).status).toBe(200);
    const inA = await listen(u, await issue(`user_id:${u} tenant_id:${ta} ${READ}`));
    const asB = await listen(u, await issue(`user_id:${u} ${READ}`), tb);
    const all = await listen(u, await issue(`user_id:${u} ${READ}`));
    const other = uid('ws-other');
    const stranger = await listen(other, await issue(`user_id:${other} ${READ}`));
    const token = await issue(`user_id:${u} ${READ} ${WRITE}`);

    const idB = await deliver(u, 'For B', { tenantId: tb });
    await arrives(asB.events, (e) => e.event === 'message' && e.data?.messageId === idB);
    await arrives(all.events, (e) => e.event === 'message' && e.data?.messageId === idB);
    expect((await s.http('POST', `/inbox/messages/${idB}/read`, undefined, { key: token })).status).toBe(204);
    await arrives(all.events, (e) => e.event === 'read');
    // A bulk change limited to tenant B reaches B's connection only.
    expect((await s.http('POST', `/inbox/messages/read-all?tenant_id=${tb}`, undefined, { key: token })).status).toBe(200);
    await deliver(u, 'For B again', { tenantId: tb });
    expect((await s.http('POST', `/inbox/messages/read-all?tenant_id=${tb}`, undefined, { key: token })).status).toBe(200);
    await arrives(asB.events, (e) => e.event === 'mark-all-read');

    // Every push is sent before the change answers: a ping round trip shows nothing else is on its way.
    for (const c of [inA, stranger, all]) await roundTrip(c.socket);
    expect(inA.events).toEqual([]);
    expect(stranger.events).toEqual([]);
    expect(all.events.map((e) => e.event)).toEqual(['message', 'read', 'message']);

    const idA = await deliver(u, 'For A', { tenantId: ta });
    await arrives(inA.events, (e) => e.event === 'message' && e.data?.messageId === idA);
    await roundTrip(asB.socket);
    expect(asB.events.some((e) => e.data?.messageId === idA)).toBe(false);
  });

  it('refuses the handshake for an expired, forged or revoked token, a token without the inbox scope, and a userId that is not the token’s', async () => {
    const u = uid('ws-auth');
    const good = await issue(`user_id:${u} ${READ}`);
    expect((await handshake(`auth=${good}&userId=${u}`)).status).toBe(101);
    expect(await handshake('userId=x')).toEqual({ status: 401, body: expect.stringContaining('authentication_error') });
    const expiring = await issue(`user_id:${u} ${READ}`, '1s');
    const forged = `${good.slice(0, -4)}AAAA`;
    await new Promise((r) => setTimeout(r, 2100));
    expect((await handshake(`auth=${expiring}`)).status).toBe(401);
    expect((await handshake(`auth=${forged}`)).status).toBe(401);
    expect((await handshake(`auth=${await issue(`user_id:${u} ${WRITE}`)}`)).status).toBe(403);
    expect((await handshake(`auth=${good}&userId=someone-else`)).status).toBe(403);
    expect((await handshake(`auth=${good}&userId=${'x'.repeat(300)}`)).status).toBe(403);
    const revoked = uid('ws-revoked');
    const before = await issue(`user_id:${revoked} ${READ}`);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await s.http('POST', '/auth/revoke-tokens', { user_id: revoked })).status).toBe(204);
    expect((await handshake(`auth=${before}`)).status).toBe(401);
  });

  it('forgets a connection that vanished: a killed socket is deleted at its $disconnect, one API Gateway reports gone (410) at the next push', async () => {
    const { listConnections, putConnection, setSubscription } = require('../../lambdas/store/sockets') as typeof import('../../lambdas/store/sockets');
    const u = uid('ws-gone');
    const jwt = await issue(`user_id:${u} ${READ}`);
    const killed = await raw(jwt, u);
    await eventually(
      async () => (await listConnections(u)).length,
      (n) => n === 1,
    );
    killed.ws.terminate();
    await eventually(
      async () => (await listConnections(u)).length,
      (n) => n === 0,
    );
    // A connection whose $disconnect never ran (API Gateway delivers it on a best-effort basis): the stored item outlives it.
    await putConnection({ connectionId: 'GoneConnAAAA=', userId: u, connectedAt: Date.now() });
    await setSubscription('GoneConnAAAA=', true, undefined);
    const { events } = await listen(u, jwt);
    await deliver(u, 'After the loss');
    await arrives(events, (e) => e.event === 'message');
    expect((await listConnections(u)).map((c) => c.connectionId)).not.toContain('GoneConnAAAA=');
    expect(await listConnections(u)).toHaveLength(1);
  });

  it('closes a connection whose token expired or was revoked at the next push, which it does not get', async () => {
    const { listConnections } = require('../../lambdas/store/sockets') as typeof import('../../lambdas/store/sockets');
    /** A raw connection, subscribed (its ack arrived). */
    const subscribed = async (jwt: string, userId: string) => {
      const c = await raw(jwt, userId);
      c.ws.send(JSON.stringify({ tid: 'sub', action: 'subscribe', data: { channel: userId, event: '*' } }));
      await eventually(
        async () => c.messages.some((m) => m.tid === 'sub' && m.response === 'ack'),
        (acked) => acked,
      );
      return c;
    };
    const u = uid('ws-stale');
    const expiring = await subscribed(await issue(`user_id:${u} ${READ}`, '2s'), u);
    const revoked = uid('ws-stale');
    const before = await subscribed(await issue(`user_id:${revoked} ${READ}`), revoked);
    await new Promise((r) => setTimeout(r, 2100));
    expect((await s.http('POST', '/auth/revoke-tokens', { user_id: revoked })).status).toBe(204);
    // A connection of the revoked user opened with a token issued after the revocation still gets events.
    await new Promise((r) => setTimeout(r, 1100));
    const after = await subscribed(await issue(`user_id:${revoked} ${READ}`), revoked);
    await deliver(u, 'For an expired token');
    await deliver(revoked, 'For a revoked token');
    await eventually(
      async () => after.messages.some((m) => m.event === 'message'),
      (got) => got,
    );
    for (const stale of [expiring, before]) {
      expect(await stale.closed).toBe(1000);
      expect(stale.messages.filter((m) => m.event === 'message')).toEqual([]);
    }
    expect(await listConnections(u)).toEqual([]);
    expect(await listConnections(revoked)).toHaveLength(1);
  });

  it('closes the oldest connection past the per-user limit, and a connection that sends an oversized message', async () => {
    const u = uid('ws-limit');
    const jwt = await issue(`user_id:${u} ${READ}`);
    const first = await raw(jwt, u);
    await raw(jwt, u);
    await raw(jwt, u);
    const fourth = await raw(jwt, u);
    expect(await first.closed).toBe(1000);
    expect(fourth.ws.readyState).toBe(WebSocket.OPEN);
    fourth.ws.send(JSON.stringify({ tid: 'big', action: 'ping', stats: { pad: 'x'.repeat(2000) } }));
    expect(await fourth.closed).toBe(1000);
    expect(fourth.messages).toEqual([]);
  });

  it('answers an unknown action, bad JSON and a subscription to another user with an error, and keeps the connection', async () => {
    const u = uid('ws-bad');
    const c = await raw(await issue(`user_id:${u} ${READ}`), u);
    c.ws.send(JSON.stringify({ tid: 't1', action: 'explode' }));
    c.ws.send('not json');
    c.ws.send(JSON.stringify({ tid: 't2', action: 'subscribe', data: { channel: 'someone-else', event: '*' } }));
    c.ws.send(JSON.stringify({ tid: 't3', action: 'subscribe', data: { channel: u, event: '*' } }));
    c.ws.send(JSON.stringify({ tid: 't4', action: 'ping' }));
    await eventually(
      async () => c.messages.length,
      (n) => n === 5,
    );
    expect(c.messages).toEqual([
      { tid: 't1', response: 'error', data: { message: expect.stringContaining('action') } },
      { tid: null, response: 'error', data: { message: 'a message must be JSON' } },
      { tid: 't2', response: 'error', data: { message: 'data.channel: not the user of this connection' } },
      { tid: 't3', response: 'ack' },
      { tid: 't4', response: 'pong' },
    ]);
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('sends a new message larger than the push limit with its preview cut, which the client still takes', async () => {
    const u = uid('ws-big');
    const { events } = await listen(u, await issue(`user_id:${u} ${READ}`));
    const id = await deliver(u, 'Big', { body: 'word '.repeat(2000) });
    const e = await arrives(events, (x) => x.event === 'message');
    expect(e.data?.messageId).toBe(id);
    expect(Buffer.byteLength(JSON.stringify({ event: 'message', data: e.data }))).toBeLessThanOrEqual(4096);
    expect(String(e.data?.preview)).toMatch(/^word word .*…$/);
    expect(e.data?.actions).toEqual([]);
  });
});

describe('the local socket server’s API Gateway limits', () => {
  let short: TestStack;
  beforeAll(async () => {
    short = await startTestStack({ tableName, env: LIMITS, socket: { idleMs: 600, maxMs: 2000 } });
  });
  afterAll(() => short?.stop());

  it('closes a connection idle past the idle timeout, and any connection at the maximum connection time, with 1001', async () => {
    const u = uid('ws-time');
    const token = (await short.http('POST', '/auth/issue-token', { scope: `user_id:${u} ${READ}`, expires_in: '1h' })).json.token as string;
    const connect = async () => {
      const ws = new WebSocket(`${short.wsUrl}?auth=${token}`);
      const closed = new Promise<{ code: number; at: number }>((r) => ws.on('close', (code) => r({ code, at: Date.now() })));
      await new Promise((r) => ws.once('open', r));
      return { ws, closed, at: Date.now() };
    };
    const idle = await connect();
    const busy = await connect();
    // Pings every 200 ms keep `busy` from idling; the maximum time still ends it.
    const timer = setInterval(() => busy.ws.readyState === WebSocket.OPEN && busy.ws.send(JSON.stringify({ tid: 'p', action: 'ping' })), 200);
    const [i, b] = await Promise.all([idle.closed, busy.closed]);
    clearInterval(timer);
    expect(i.code).toBe(1001);
    expect(i.at - idle.at).toBeGreaterThanOrEqual(550);
    expect(i.at - idle.at).toBeLessThan(1500);
    expect(b.code).toBe(1001);
    expect(b.at - busy.at).toBeGreaterThanOrEqual(1900);
    // Each close ran $disconnect: the user has no connection left.
    const { listConnections } = require('../../lambdas/store/sockets') as typeof import('../../lambdas/store/sockets');
    await eventually(
      async () => (await listConnections(u)).length,
      (n) => n === 0,
    );
  });
});
