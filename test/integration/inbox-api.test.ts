import { advanceClock } from '../../lambdas/shared/clock';
import { deliverToInbox } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s?.stop());

const issue = async (scope: string, expires_in = '1h') => {
  const res = await s.http('POST', '/auth/issue-token', { scope, expires_in });
  expect(res.status).toBe(200);
  return res.json.token as string;
};
const asUser = (token: string, method: string, path: string) => s.http(method, path, undefined, { key: token });
const READ = 'inbox:read:messages';
const WRITE = 'inbox:write:events';

const deliver = (userId: string, title: string, tenantId?: string) => deliverToInbox(s, userId, title, tenantId);

describe('POST /auth/issue-token', () => {
  it('issues a signed JWT carrying the scopes for the asked lifetime', async () => {
    const token = await issue(`user_id:a ${READ}`, '2 hours');
    const [header, payload] = token
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    expect(header).toMatchObject({ alg: 'HS256', typ: 'JWT' });
    expect(payload.scope).toBe(`user_id:a ${READ}`);
    expect(payload.exp - payload.iat).toBe(7200);
  });

  it('refuses bad bodies with 400 naming the field, and anything without an API key with 401', async () => {
    for (const [body, field] of [
      [{ scope: 'user_id:a', expires_in: 'soon' }, 'body.expires_in'],
      [{ scope: 'user_id:a', expires_in: '2y' }, 'body.expires_in'],
      [{ scope: 'root:everything', expires_in: '1h' }, 'body.scope'],
      [{ scope: '   ', expires_in: '1h' }, 'body.scope'],
      [{ expires_in: '1h' }, 'body.scope'],
    ] as const) {
      const res = await s.http('POST', '/auth/issue-token', body);
      expect({ body, status: res.status, message: res.json.message, type: res.json.type }).toEqual({
        body,
        status: 400,
        message: expect.stringContaining(field),
        type: 'invalid_request_error',
      });
    }
    expect((await s.http('POST', '/auth/issue-token', { scope: 'user_id:a', expires_in: '1h' }, { key: null })).status).toBe(401);
  });
});

describe('the inbox, for a user token', () => {
  it('lists the user’s own messages newest first, counts unread, marks read, unread, archived', async () => {
    const u = uid('reader');
    const first = await deliver(u, 'First');
    const second = await deliver(u, 'Second');
    const token = await issue(`user_id:${u} ${READ} ${WRITE}`);

    const list = await asUser(token, 'GET', '/inbox/messages');
    expect(list.status).toBe(200);
    expect(list.json.results.map((m: { messageId: string; title: string; read: boolean }) => [m.messageId, m.title, m.read])).toEqual([
      [second, 'Second', false],
      [first, 'First', false],
    ]);
    expect(list.json.paging).toEqual({ cursor: null, more: false });
    expect((await asUser(token, 'GET', '/inbox/messages/unread-count')).json).toEqual({ count: 2 });

    expect((await asUser(token, 'POST', `/inbox/messages/${first}/read`)).status).toBe(204);
    expect((await asUser(token, 'GET', '/inbox/messages/unread-count')).json).toEqual({ count: 1 });
    expect((await asUser(token, 'GET', '/inbox/messages?status=read')).json.results.map((m: { messageId: string }) => m.messageId)).toEqual([first]);
    expect((await asUser(token, 'POST', `/inbox/messages/${first}/unread`)).status).toBe(204);
    expect((await asUser(token, 'POST', `/inbox/messages/${second}/archive`)).status).toBe(204);
    expect((await asUser(token, 'GET', '/inbox/messages')).json.results.map((m: { messageId: string }) => m.messageId)).toEqual([first]);
    expect(
      (await asUser(token, 'GET', '/inbox/messages?archived=true')).json.results.map((m: { messageId: string; archived: boolean }) => [
        m.messageId,
        m.archived,
      ]),
    ).toEqual([[second, true]]);
    expect((await asUser(token, 'GET', '/inbox/messages/unread-count')).json).toEqual({ count: 1 });
  });

  it('marks everything read at once, within the token’s tenant when it has one', async () => {
    const u = uid('bulk-reader');
    const t = uid('tenant');
    await s.client.tenants.update(t, { name: t });
    await deliver(u, 'No tenant');
    const inTenant = await deliver(u, 'In tenant', t);
    const scoped = await issue(`user_id:${u} tenant_id:${t} ${READ} ${WRITE}`);
    expect((await asUser(scoped, 'POST', '/inbox/messages/read-all')).json).toEqual({ marked: 1, more: false });
    const whole = await issue(`user_id:${u} ${READ} ${WRITE}`);
    expect((await asUser(whole, 'GET', '/inbox/messages?status=read')).json.results.map((m: { messageId: string }) => m.messageId)).toEqual([inTenant]);
    expect((await asUser(whole, 'POST', '/inbox/messages/read-all')).json).toEqual({ marked: 1, more: false });
    expect((await asUser(whole, 'GET', '/inbox/messages/unread-count')).json).toEqual({ count: 0 });
    expect((await asUser(await issue(`user_id:${u} ${READ}`), 'POST', '/inbox/messages/read-all')).status).toBe(403);
  });

  it('pages with a cursor', async () => {
    const u = uid('pager');
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await deliver(u, `M${i}`));
    const token = await issue(`user_id:${u} ${READ}`);
    const one = await asUser(token, 'GET', '/inbox/messages?limit=2');
    expect(one.json.paging.more).toBe(true);
    const two = await asUser(token, 'GET', `/inbox/messages?limit=2&cursor=${encodeURIComponent(one.json.paging.cursor)}`);
    expect([...one.json.results, ...two.json.results].map((m: { messageId: string }) => m.messageId)).toEqual(ids.reverse());
    expect(two.json.paging.more).toBe(false);
  });

  it('never shows or changes another user’s inbox', async () => {
    const a = uid('alice');
    const b = uid('bob');
    const bobs = await deliver(b, 'For Bob');
    const alice = await issue(`user_id:${a} ${READ} ${WRITE}`);
    expect((await asUser(alice, 'GET', '/inbox/messages')).json.results).toEqual([]);
    for (const action of ['read', 'archive']) expect((await asUser(alice, 'POST', `/inbox/messages/${bobs}/${action}`)).status).toBe(404);
    const bob = await issue(`user_id:${b} ${READ}`);
    expect((await asUser(bob, 'GET', '/inbox/messages')).json.results).toEqual([expect.objectContaining({ messageId: bobs, read: false, archived: false })]);
  });

  it('keeps a tenant-scoped token to that tenant’s messages', async () => {
    const u = uid('member');
    const [t1, t2] = [uid('t1'), uid('t2')];
    for (const t of [t1, t2]) {
      await s.client.tenants.update(t, { name: t });
      await s.client.users.tenants.addSingle(t, { user_id: u });
    }
    const in1 = await deliver(u, 'From t1', t1);
    const in2 = await deliver(u, 'From t2', t2);
    const scoped = await issue(`user_id:${u} tenant_id:${t1} ${READ} ${WRITE}`);
    expect(
      (await asUser(scoped, 'GET', '/inbox/messages')).json.results.map((m: { messageId: string; tenant_id: string }) => [m.messageId, m.tenant_id]),
    ).toEqual([[in1, t1]]);
    expect((await asUser(scoped, 'GET', `/inbox/messages?tenant_id=${t2}`)).status).toBe(403);
    expect((await asUser(scoped, 'POST', `/inbox/messages/${in2}/read`)).status).toBe(404);
    expect((await asUser(scoped, 'GET', '/inbox/messages/unread-count')).json).toEqual({ count: 1 });
    const whole = await issue(`user_id:${u} ${READ}`);
    expect((await asUser(whole, 'GET', `/inbox/messages?tenant_id=${t2}`)).json.results.map((m: { messageId: string }) => m.messageId)).toEqual([in2]);
  });

  it('refuses API keys, expired, tampered and under-scoped tokens', async () => {
    const u = uid('strict');
    const token = await issue(`user_id:${u} ${READ}`);
    expect((await asUser(token, 'GET', '/inbox/messages')).status).toBe(200);
    const refused = async (credential: string | null, method = 'GET', path = '/inbox/messages') => {
      const res = await s.http(method, path, undefined, { key: credential });
      return [res.status, res.json?.type];
    };
    expect(await refused(s.apiKey)).toEqual([401, 'authentication_error']);
    expect(await refused(null)).toEqual([401, 'authentication_error']);
    const [h, p, sig] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), scope: `user_id:someone-else ${READ}` })).toString(
      'base64url',
    );
    expect(await refused(`${h}.${forged}.${sig}`)).toEqual([401, 'authentication_error']);
    expect(await refused(`${h}.${p}.${sig.slice(0, -2)}xx`)).toEqual([401, 'authentication_error']);
    // Expiry on the functions' clock, moved past the token's lifetime instead of waiting for it.
    const short = await issue(`user_id:${u} ${READ}`, '1m');
    expect((await asUser(short, 'GET', '/inbox/messages')).status).toBe(200);
    advanceClock(61_000);
    const expired = await asUser(short, 'GET', '/inbox/messages');
    expect([expired.status, expired.json.type, expired.json.message]).toEqual([401, 'authentication_error', 'Unauthorized: the token has expired']);
    expect(await refused(token, 'POST', '/inbox/messages/x/read')).toEqual([403, 'authorization_error']);
    expect(await refused(await issue(READ))).toEqual([403, 'authorization_error']);
    expect(await refused(await issue(`user_id:${u} user_id:other ${READ}`))).toEqual([403, 'authorization_error']);
  });

  it('is refused on admin routes', async () => {
    const token = await issue(`user_id:x ${READ} ${WRITE}`);
    for (const [method, path] of [
      ['GET', '/profiles/x'],
      ['POST', '/send'],
      ['GET', '/messages'],
      ['POST', '/auth/issue-token'],
    ]) {
      const res = await s.http(method, path, method === 'POST' ? {} : undefined, { key: token });
      expect([method, path, res.status, res.json.type]).toEqual([method, path, 401, 'authentication_error']);
    }
  });

  it('answers 400 naming the query field for a bad filter', async () => {
    const token = await issue(`user_id:q ${READ}`);
    for (const [query, field] of [
      ['limit=0', 'query.limit'],
      ['archived=maybe', 'query.archived'],
      ['status=new', 'query.status'],
    ]) {
      const res = await asUser(token, 'GET', `/inbox/messages?${query}`);
      expect([query, res.status, res.json.message]).toEqual([query, 400, expect.stringContaining(field)]);
    }
  });
});
