import { envelope, parseClientMessage, receives, subscription, tokenHolds, type InboxEvent, type SocketConnection } from '../../../lambdas/domain/inbox-socket';

const conn = (over: Partial<SocketConnection> = {}): SocketConnection => ({ connectionId: 'c', userId: 'u', subscribed: true, connectedAt: 0, ...over });
const message = (over: Record<string, unknown> = {}) => ({
  messageId: 'm1',
  title: 'Title',
  body: 'Body',
  blocks: [{ type: 'action' as const, text: 'Go', href: 'https://acme.test' }],
  created: Date.UTC(2026, 10, 30),
  read: false,
  archived: false,
  opened: false,
  ...over,
});

describe('which connections receive an event', () => {
  const none = conn();
  const inA = conn({ tenantId: 'A' });
  const unsubscribed = conn({ subscribed: false });
  it.each<[string, InboxEvent, SocketConnection, boolean]>([
    ['a new message without tenant, to a connection without tenant', { event: 'message', message: message() }, none, true],
    ['a new message of tenant A, to a connection without tenant', { event: 'message', message: message(), tenantId: 'A' }, none, true],
    ['a new message of tenant A, to a connection of A', { event: 'message', message: message(), tenantId: 'A' }, inA, true],
    ['a new message of tenant B, to a connection of A', { event: 'message', message: message(), tenantId: 'B' }, inA, false],
    ['a new message without tenant, to a connection of A', { event: 'message', message: message() }, inA, false],
    ['anything, to a connection that did not subscribe', { event: 'read', messageId: 'm1' }, unsubscribed, false],
    ['a read of a message of B, to a connection of A', { event: 'read', messageId: 'm1', tenantId: 'B' }, inA, false],
    ['a read of a message of A, to a connection of A', { event: 'read', messageId: 'm1', tenantId: 'A' }, inA, true],
    ['mark-all-read of the whole inbox, to a connection of A', { event: 'mark-all-read' }, inA, true],
    ['mark-all-read of tenant A, to a connection of A', { event: 'mark-all-read', tenantId: 'A' }, inA, true],
    ['archive-all of tenant B, to a connection of A', { event: 'archive-all', tenantId: 'B' }, inA, false],
    ['archive-read of tenant A, to a connection without tenant', { event: 'archive-read', tenantId: 'A' }, none, false],
    ['archive-read of the whole inbox, to a connection without tenant', { event: 'archive-read' }, none, true],
  ])('%s: %s', (_name, event, c, expected) => {
    expect(receives(c, event)).toBe(expected);
  });
});

describe('an event as sent', () => {
  it.each<[string, InboxEvent, unknown]>([
    ['one message’s change names it', { event: 'archive', messageId: 'm1', tenantId: 'A' }, { event: 'archive', messageId: 'm1' }],
    ['a bulk change names none', { event: 'archive-all', tenantId: 'A' }, { event: 'archive-all' }],
    [
      'a new message is its GraphQL node',
      { event: 'message', message: message() },
      {
        event: 'message',
        data: {
          messageId: 'm1',
          title: 'Title',
          preview: 'Body',
          created: '2026-11-30T00:00:00.000Z',
          read: false,
          archived: false,
          opened: false,
          data: null,
          tags: null,
          trackingIds: { clickTrackingId: 'm1' },
          actions: [{ content: 'Go', href: 'https://acme.test', data: null }],
        },
      },
    ],
  ])('%s', (_name, event, expected) => {
    expect(envelope(event, 131_072)).toEqual(expected);
  });

  it.each([
    ['a long ASCII body', 'word '.repeat(5000), 'Title'],
    ['a body of escaped characters', '"\\\n'.repeat(3000), 'Title'],
    ['a body of astral characters', '😀'.repeat(3000), 'Title'],
    ['a long title too', 'b'.repeat(3000), 't'.repeat(3000)],
  ])('a new message over the limit (%s) keeps its id and fits, its preview (then title) cut', (_name, body, title) => {
    for (const limit of [1024, 2048, 4096]) {
      const e = envelope({ event: 'message', message: message({ body, title }) }, limit) as unknown as { event: 'message'; data: Record<string, unknown> };
      expect(Buffer.byteLength(JSON.stringify(e))).toBeLessThanOrEqual(limit);
      expect(e.data).toMatchObject({ messageId: 'm1', actions: [], read: false });
      expect(String(e.data.preview).length).toBeLessThan(body.length);
      expect(body.startsWith(String(e.data.preview).replace(/…$/, ''))).toBe(true);
    }
  });
});

describe('client messages', () => {
  it.each([
    ['subscribe, as courier-js sends it', { tid: 't', action: 'subscribe', data: { channel: 'u', event: '*', accountId: 'A' } }],
    ['unsubscribe', { tid: 't', action: 'unsubscribe', data: { channel: 'u' } }],
    ['ping with stats', { tid: 't', action: 'ping', stats: { n: 1 } }],
    ['pong', { tid: 't', action: 'pong' }],
    ['get-config', { tid: 't', action: 'get-config' }],
  ])('accepts %s', (_name, m) => {
    expect(parseClientMessage(JSON.stringify(m))).toEqual({ ok: true, message: m });
  });

  it.each([
    ['not JSON', 'x', null, 'a message must be JSON'],
    ['JSON null', 'null', null, 'message'],
    ['an unknown action', JSON.stringify({ tid: 't', action: 'boom' }), 't', 'action'],
    ['no tid', JSON.stringify({ action: 'ping' }), null, 'tid'],
    ['subscribe without a channel', JSON.stringify({ tid: 't', action: 'subscribe', data: {} }), 't', 'data.channel'],
    ['a tid of 10,000 characters', JSON.stringify({ tid: 'x'.repeat(10_000), action: 'ping' }), 'x'.repeat(128), 'tid'],
  ])('answers %s with an error naming it', (_name, body, tid, names) => {
    const out = parseClientMessage(body);
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.answer).toEqual({ tid, response: 'error', data: { message: expect.stringContaining(names) } });
  });
});

describe('a subscription binds its connection', () => {
  it.each([
    ['to no tenant', { userId: 'u' }, { channel: 'u' }, { ok: true }],
    ['to the accountId it names', { userId: 'u' }, { channel: 'u', accountId: 'A' }, { ok: true, tenantId: 'A' }],
    ['to the token’s tenant', { userId: 'u', tokenTenantId: 'A' }, { channel: 'u' }, { ok: true, tenantId: 'A' }],
    ['to the token’s tenant, named again', { userId: 'u', tokenTenantId: 'A' }, { channel: 'u', accountId: 'A' }, { ok: true, tenantId: 'A' }],
    [
      'not to another tenant than the token’s',
      { userId: 'u', tokenTenantId: 'A' },
      { channel: 'u', accountId: 'B' },
      { ok: false, message: expect.stringContaining('accountId') },
    ],
    ['not to another user', { userId: 'u' }, { channel: 'v' }, { ok: false, message: expect.stringContaining('channel') }],
  ])('%s', (_name, c, data, expected) => {
    expect(subscription(c, data)).toEqual(expected);
  });
});

describe('whether a connection’s token still holds', () => {
  const at = 1_000_000_000_000;
  it.each<[string, Partial<SocketConnection>, number | undefined, boolean]>([
    ['no expiry kept (a connection stored before tokens were kept)', {}, undefined, true],
    ['not expired, nothing revoked', { tokenIssuedAt: at / 1000 - 60, tokenExpiresAt: at + 1 }, undefined, true],
    ['expired a millisecond ago', { tokenIssuedAt: at / 1000 - 60, tokenExpiresAt: at - 1 }, undefined, false],
    ['expiring now', { tokenExpiresAt: at }, undefined, false],
    ['issued before the revocation', { tokenIssuedAt: at / 1000 - 60, tokenExpiresAt: at + 60_000 }, at / 1000 - 10, false],
    ['issued in the revocation’s second', { tokenIssuedAt: at / 1000, tokenExpiresAt: at + 60_000 }, at / 1000, true],
    ['issued after the revocation', { tokenIssuedAt: at / 1000 + 5, tokenExpiresAt: at + 60_000 }, at / 1000, true],
    ['a revocation, no issue time kept', { tokenExpiresAt: at + 60_000 }, at / 1000, true],
  ])('%s: %s', (_name, over, validAfter, expected) => expect(tokenHolds(conn(over), at, validAfter)).toBe(expected));
});
