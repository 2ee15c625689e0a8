import { spawn } from 'node:child_process';
import path from 'node:path';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually, uid } from '../helpers/wait';

/** User tokens: never kept by the Idempotency-Key store, revocable per user, and the stored secret rotatable. */
let s: TestStack;
const table = `t-tokens-${Date.now()}`;
beforeAll(async () => {
  s = await startTestStack({ tableName: table });
});
afterAll(() => s?.stop());

const READ = 'inbox:read:messages';
const issue = async (userId: string, headers: Record<string, string> = {}) => {
  const res = await s.http('POST', '/auth/issue-token', { scope: `user_id:${userId} ${READ}`, expires_in: '1h' }, { headers });
  expect(res.status).toBe(200);
  return res;
};
const inbox = (token: string) => s.http('GET', '/inbox/messages', undefined, { key: token });

describe('POST /auth/issue-token', () => {
  it('answers no-store, and an Idempotency-Key never keeps the token: a retry issues a fresh one', async () => {
    const user = uid('idem-user');
    const key = uid('key');
    const first = await issue(user, { 'Idempotency-Key': key });
    expect(first.headers.get('cache-control')).toBe('no-store');
    const { getItem } = require('../../lambdas/store/table') as typeof import('../../lambdas/store/table');
    const { idempotencyRecordKey } = require('../../lambdas/store/keys') as typeof import('../../lambdas/store/keys');
    const { scopeHash } = require('../../lambdas/shared/idempotency') as typeof import('../../lambdas/shared/idempotency');
    const record = await getItem(idempotencyRecordKey(scopeHash('POST', '/auth/issue-token', key)));
    expect(JSON.stringify(record ?? {})).not.toContain(first.json.token);
    const again = await issue(user, { 'Idempotency-Key': key });
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect((await inbox(again.json.token)).status).toBe(200);
  });
});

describe('POST /auth/revoke-tokens', () => {
  it('refuses every token of the user issued before, leaves other users alone, and accepts tokens issued after', async () => {
    const user = uid('revoked');
    const other = uid('other');
    const old = (await issue(user)).json.token as string;
    const others = (await issue(other)).json.token as string;
    expect((await inbox(old)).status).toBe(200);
    expect((await s.http('POST', '/auth/revoke-tokens', { user_id: user })).status).toBe(204);
    const refused = await inbox(old);
    expect([refused.status, refused.json.message]).toEqual([401, expect.stringMatching(/revoked/)]);
    expect((await inbox(others)).status).toBe(200);
    // Tokens issued in the revocation's second are refused too; a later one works.
    const fresh = await eventually(
      async () => inbox((await issue(user)).json.token),
      (r) => r.status === 200,
      5000,
    );
    expect(fresh.status).toBe(200);
  });

  it('refuses a bad body with 400 naming the field', async () => {
    const res = await s.http('POST', '/auth/revoke-tokens', { user: 'x' });
    expect([res.status, res.json.message]).toEqual([400, expect.stringContaining('body.user_id')]);
  });
});

describe('npm run keys -- rotate-token-secret', () => {
  it('makes every token signed with the old stored secret invalid', async () => {
    const user = uid('rotated');
    const before = (await issue(user)).json.token as string;
    expect((await inbox(before)).status).toBe(200);
    const run = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(path.resolve(__dirname, '../../node_modules/.bin/tsx'), ['scripts/keys.ts', 'rotate-token-secret'], {
        cwd: path.resolve(__dirname, '../..'),
        env: { ...process.env, TABLE_NAME: table, DYNAMODB_ENDPOINT: process.env.TEST_DYNAMODB_ENDPOINT },
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('exit', (code) => resolve({ code, out }));
    });
    expect(run).toEqual({ code: 0, out: expect.stringContaining('rotated the user-token signing secret') });
    // Warm functions read the new secret within minutes; this process's functions, now.
    (require('../../lambdas/shared/tokens') as typeof import('../../lambdas/shared/tokens')).forgetSigningKey();
    expect((await inbox(before)).status).toBe(401);
    expect((await inbox((await issue(user)).json.token)).status).toBe(200);
  });
});
