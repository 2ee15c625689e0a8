import { CourierClient } from '@trycourier/courier-js';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/**
 * What a browser page needs besides the GraphQL endpoints: CORS (preflights answered as API
 * Gateway's CORS configuration answers them, the allowed origin on every answer, errors included)
 * and the end user's own device tokens by user token (courier-js `tokens.putUserToken`).
 */
const PAGE = 'https://app.example.test';
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s?.stop());

async function token(stack: TestStack, scope: string): Promise<string> {
  const res = await stack.http('POST', '/auth/issue-token', { scope, expires_in: '1h' });
  expect(res.status).toBe(200);
  return res.json.token as string;
}

const preflight = (url: string, origin: string, method = 'POST', headers = 'authorization,content-type,x-courier-user-id,x-courier-ua') =>
  fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers } });

describe('CORS', () => {
  it('answers a preflight from any page by default, with every header and method courier-js uses', async () => {
    const res = await preflight(`${s.url}/inbox/graphql`, PAGE);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-methods')?.split(',')).toEqual(expect.arrayContaining(['GET', 'POST', 'PUT', 'DELETE']));
    expect(res.headers.get('access-control-allow-headers')?.split(',')).toEqual(
      expect.arrayContaining(['authorization', 'content-type', 'x-courier-user-id', 'x-courier-ua', 'x-courier-client-source-id']),
    );
    expect(Number(res.headers.get('access-control-max-age'))).toBeGreaterThan(0);
  });

  it('sets the allowed origin on answers and on refusals (a browser reads a 401 only with it)', async () => {
    const refused = await fetch(`${s.url}/inbox/graphql`, { method: 'POST', headers: { origin: PAGE }, body: '{"query":"{count}"}' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
    const jwt = await token(s, 'user_id:u-cors inbox:read:messages');
    const answered = await fetch(`${s.url}/inbox/graphql`, {
      method: 'POST',
      headers: { origin: PAGE, authorization: `Bearer ${jwt}` },
      body: '{"query":"{ count(params: {}) }"}',
    });
    expect(answered.status).toBe(200);
    expect(answered.headers.get('access-control-allow-origin')).toBe('*');
  });
});

describe('device tokens by user token (courier-js tokens.putUserToken)', () => {
  const clientFor = (stack: TestStack, userId: string, jwt: string) =>
    new CourierClient({
      userId,
      jwt,
      apiUrls: {
        courier: { rest: stack.url, graphql: `${stack.url}/client/q` },
        inbox: { graphql: `${stack.url}/inbox/graphql`, webSocket: 'ws://127.0.0.1:1' },
      },
    });

  it('stores and deletes the user’s own token, as the admin route does', async () => {
    const user = uid('tok-user');
    const client = clientFor(s, user, await token(s, `user_id:${user} read:user-tokens write:user-tokens`));
    await client.tokens.putUserToken({ token: 'fcm-token-1', provider: 'firebase-fcm', device: { platform: 'web', model: 'Chrome' } });
    const stored = await s.http('GET', `/users/${user}/tokens/fcm-token-1`);
    expect(stored.status).toBe(200);
    expect(stored.json).toMatchObject({ token: 'fcm-token-1', provider_key: 'firebase-fcm', device: { platform: 'web', model: 'Chrome' } });
    await client.tokens.deleteUserToken({ token: 'fcm-token-1' });
    expect((await s.http('GET', `/users/${user}/tokens/fcm-token-1`)).status).toBe(404);
  });

  it('refuses another user’s tokens, a missing scope, and a token on the other admin routes', async () => {
    const user = uid('tok-user');
    const writer = await token(s, `user_id:${user} write:user-tokens`);
    const other = await s.http('PUT', `/users/someone-else/tokens/t1`, { provider_key: 'firebase-fcm' }, { key: writer });
    expect([other.status, other.json.type]).toEqual([403, 'authorization_error']);
    const reader = await token(s, `user_id:${user} read:user-tokens`);
    const noWrite = await s.http('PUT', `/users/${user}/tokens/t1`, { provider_key: 'firebase-fcm' }, { key: reader });
    expect([noWrite.status, noWrite.json.message]).toEqual([403, 'Forbidden: the token lacks the write:user-tokens scope']);
    expect((await s.http('GET', `/users/${user}/tokens`, undefined, { key: reader })).json).toEqual({ tokens: [] });
    expect((await s.http('GET', `/users/${user}/tokens`, undefined, { key: writer })).status).toBe(403);
    // PATCH and the bulk PUT stay admin routes; so do the user's preferences.
    expect((await s.http('PATCH', `/users/${user}/tokens/t1`, { patch: [{ op: 'replace', path: '/status', value: 'ACTIVE' }] }, { key: writer })).status).toBe(
      401,
    );
    expect((await s.http('PUT', `/users/${user}/tokens`, [], { key: writer })).status).toBe(401);
    expect((await s.http('GET', `/users/${user}/preferences`, undefined, { key: writer })).status).toBe(401);
    // A bad body is still a 400 naming the field, after the token checks.
    const bad = await s.http('PUT', `/users/${user}/tokens/t1`, { provider_key: 42 }, { key: writer });
    expect([bad.status, bad.json.message]).toEqual([400, expect.stringContaining('provider_key')]);
    expect((await s.http('GET', `/users/${user}/tokens/t1`)).status).toBe(404);
  });

  it('a forged token is a 401', async () => {
    const user = uid('tok-user');
    const jwt = await token(s, `user_id:${user} write:user-tokens`);
    const forged = `${jwt.slice(0, -4)}AAAA`;
    const res = await s.http('PUT', `/users/${user}/tokens/t1`, { provider_key: 'firebase-fcm' }, { key: forged });
    expect([res.status, res.json.type]).toEqual([401, 'authentication_error']);
  });
});
