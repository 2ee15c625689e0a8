import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { startTestStack, type TestStack } from '../helpers/stack';

/** `npm run keys` (scripts/keys.ts) against this test's table, as a user would run it. */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s?.stop());

const root = path.resolve(__dirname, '../..');
function keys(...args: string[]) {
  const out = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/keys.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, TABLE_NAME: process.env.TABLE_NAME, DYNAMODB_ENDPOINT: process.env.TEST_DYNAMODB_ENDPOINT },
    timeout: 60_000,
  });
  return { code: out.status, stdout: out.stdout, stderr: out.stderr };
}

it('creates a key that works at once, lists it without the key, and revokes it for the very next request', async () => {
  const created = keys('create', '--name', 'ci deploys');
  expect(created.code).toBe(0);
  const [, id] = /created key ([0-9a-f]{12}) "ci deploys"/.exec(created.stdout) ?? [];
  const key = created.stdout.trim().split('\n').pop()!;
  expect(key).toMatch(/^ck_[A-Za-z0-9_-]{32}$/);
  expect((await s.http('GET', '/profiles/nobody', undefined, { key })).status).toBe(404);

  const listed = keys('list');
  expect(listed.code).toBe(0);
  expect(listed.stdout).toContain(`${id}  active `);
  expect(listed.stdout).toContain('ci deploys');
  expect(listed.stdout).not.toContain(key);

  const revoked = keys('revoke', id);
  expect([revoked.code, revoked.stdout.trim()]).toEqual([0, expect.stringContaining(`revoked key ${id} "ci deploys"`)]);
  const refused = await s.http('GET', '/profiles/nobody', undefined, { key });
  expect([refused.status, refused.json.type]).toEqual([401, 'authentication_error']);
  expect(keys('list').stdout).toContain(`${id}  revoked`);
  expect((await s.http('GET', '/profiles/nobody')).status).toBe(404);

  // Both changes are audit events, made by the CLI (README "Audit events").
  const events = (await s.client.auditEvents.list()).results.filter((e) => e.target === `api-key:${id}`);
  expect(events.map((e) => [e.type, e.source, e.actor.id])).toEqual([
    ['api-key:revoked', 'cli', expect.stringMatching(/^cli:/)],
    ['api-key:created', 'cli', expect.stringMatching(/^cli:/)],
  ]);
}, 120_000);

it('explains bad usage and unknown ids without touching anything', () => {
  expect(keys('rotate').code).toBe(2);
  expect(keys('create', '--name').code).toBe(2);
  const unknown = keys('revoke', 'ffffffffffff');
  expect([unknown.code, unknown.stderr.trim()]).toEqual([1, 'no key with id ffffffffffff']);
  const bad = keys('revoke', 'not-hex');
  expect([bad.code, bad.stderr]).toEqual([1, expect.stringContaining('8 to 64 hex characters')]);
}, 120_000);
