import { createHmac } from 'node:crypto';
import { API_GROUPS } from '../../lambdas/shared/topology';
import { startTestStack, type TestStack } from '../helpers/stack';

/**
 * Every route of every API group against every credential that must be refused: no key, a wrong
 * key, a revoked key, a user token on an admin route, an API key on an end-user (inbox) route, and
 * on an inbound webhook (its shared secret configured) the API key and a wrong secret. Each refusal
 * is 401 with Courier's error shape, and the route's handler never runs.
 */
const SEGMENT_SECRET = 'segment-secret-of-the-auth-matrix';
const RUDDERSTACK_SECRET = 'rudderstack-secret-of-the-auth-matrix';
/** Read once the stack set the environment the handler modules load their configuration from. */
const webhookPaths = (): string[] => (require('../../lambdas/http/inbound') as typeof import('../../lambdas/http/inbound')).WEBHOOK_PATHS;
let s: TestStack;
let revoked: string;
let userToken: string;
/** The end-user groups: a user token, never an API key. */
const USER_TOKEN_GROUPS = new Set(['inbox', 'client']);
/** Admin routes that also take a user token for the token's own user (the end user's device tokens): another user's token is a 403. */
const ownUserRoutes = (): Set<string> =>
  new Set(
    (require('../../lambdas/http/users') as typeof import('../../lambdas/http/users')).userTokenRoutes.map(
      (r) => `${r.method} ${r.path.replace(/:\w+/g, 'matrix-id')}`,
    ),
  );
beforeAll(async () => {
  s = await startTestStack({ env: { SEGMENT_SHARED_SECRET: SEGMENT_SECRET, RUDDERSTACK_SHARED_SECRET: RUDDERSTACK_SECRET } });
  const { storeKeyHash, revokeKey } = require('../../lambdas/store/api-keys') as typeof import('../../lambdas/store/api-keys');
  const { hashApiKey } = require('../../lambdas/shared/middleware') as typeof import('../../lambdas/shared/middleware');
  revoked = 'ck_revoked-in-the-auth-matrix';
  await storeKeyHash(hashApiKey(revoked), { name: 'matrix', createdAt: new Date().toISOString(), hint: 'ck_r' });
  expect(await revokeKey(hashApiKey(revoked).slice(0, 16))).toMatchObject({ revoked: true });
  userToken = (await s.http('POST', '/auth/issue-token', { scope: 'user_id:matrix inbox:read:messages inbox:write:events', expires_in: '1h' })).json.token;
});
afterAll(() => s?.stop());

interface RouteRow {
  group: string;
  method: string;
  path: string;
}
const routes = (): RouteRow[] =>
  API_GROUPS.filter((g) => !g.public).flatMap((g) =>
    (require(`../../lambdas/http/${g.module}`) as { routes: { method: string; path: string }[] }).routes.map((r) => ({
      group: g.module,
      method: r.method,
      path: r.path.replace(/:\w+/g, 'matrix-id'),
    })),
  );

it('covers every route of every group', () => {
  const rows = routes();
  expect(new Set(rows.map((r) => r.group))).toEqual(new Set(API_GROUPS.filter((g) => !g.public).map((g) => g.module)));
  expect(rows.length).toBeGreaterThan(80);
});

it('refuses every route without a valid credential of its kind, with 401 and Courier’s error shape', async () => {
  const refusals: string[] = [];
  let requests = 0;
  for (const r of routes()) {
    const webhook = webhookPaths().includes(r.path);
    const credentials: [string, string | null, Record<string, string>?][] = [
      ['no credential', null],
      ['a wrong key', 'ck_not-a-key-of-this-workspace'],
      ['a revoked key', revoked],
      USER_TOKEN_GROUPS.has(r.group) || webhook ? ['the API key', s.apiKey] : ['a user token', userToken],
      ...(webhook
        ? ([
            ['a wrong signature', null, { 'x-signature': createHmac('sha1', 'not-the-secret').update('{}').digest('hex') }],
            ['a wrong basic secret', null, { authorization: `Basic ${Buffer.from('user:not-the-secret').toString('base64')}` }],
            [
              'the other webhook’s secret',
              null,
              r.path.endsWith('segment')
                ? { authorization: `Basic ${Buffer.from(`u:${RUDDERSTACK_SECRET}`).toString('base64')}` }
                : { 'x-signature': createHmac('sha1', SEGMENT_SECRET).update('{}').digest('hex') },
            ],
          ] as [string, null, Record<string, string>][])
        : []),
    ];
    for (const [name, key, headers] of credentials) {
      requests += 1;
      const res = await s.http(r.method, r.path, ['POST', 'PUT', 'PATCH'].includes(r.method) ? {} : undefined, { key, headers });
      if (key === userToken && ownUserRoutes().has(`${r.method} ${r.path}`)) {
        // The token is valid, but for user `matrix`, not `matrix-id`.
        if (res.status !== 403 || res.json?.type !== 'authorization_error')
          refusals.push(`${r.method} ${r.path} with ${name}: ${res.status} ${res.text.slice(0, 120)}`);
        continue;
      }
      if (res.status !== 401 || res.json?.type !== 'authentication_error' || typeof res.json?.message !== 'string')
        refusals.push(`${r.method} ${r.path} with ${name}: ${res.status} ${res.text.slice(0, 120)}`);
    }
  }
  expect(refusals).toEqual([]);
  expect(requests).toBeGreaterThan(320);
});

it('lets the webhooks in with their secret (so the refusals above are the credentials’)', async () => {
  const body = JSON.stringify({ type: 'page', messageId: 'matrix-page' });
  const signed = await s.http('POST', '/inbound/segment', body, {
    key: null,
    headers: { 'x-signature': createHmac('sha1', SEGMENT_SECRET).update(body).digest('hex') },
  });
  expect([signed.status, signed.json]).toEqual([200, { received: 1, applied: 0, duplicates: 0, ignored: 1 }]);
  const basic = await s.http('POST', '/inbound/rudderstack', body, {
    key: null,
    headers: { authorization: `Basic ${Buffer.from(`rudder:${RUDDERSTACK_SECRET}`).toString('base64')}` },
  });
  expect([basic.status, basic.json]).toEqual([200, { received: 1, applied: 0, duplicates: 0, ignored: 1 }]);
});

it('leaves /health public', async () => {
  const res = await s.http('GET', '/health', undefined, { key: null });
  expect([res.status, res.json]).toEqual([200, { status: 'ok' }]);
});
