import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startWebhookServer } from '../helpers/webhook-server';

/**
 * `npm run smoke` (scripts/smoke.ts) against this test's stack, as a user runs it after a deploy:
 * in its own process, with no environment but PATH and HOME, so it can only use the HTTP API.
 */
let s: TestStack;
let hook: Awaited<ReturnType<typeof startWebhookServer>>;
beforeAll(async () => {
  [s, hook] = await Promise.all([startTestStack(), startWebhookServer()]);
});
afterAll(async () => {
  await hook?.close();
  await s?.stop();
});

const root = path.resolve(__dirname, '../..');
const STEPS = [
  'health',
  'api key',
  'create tenant',
  'create profile',
  'add membership',
  'send',
  'delivery',
  'history',
  'delete membership',
  'delete tenant',
  'delete profile',
];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Never spawnSync: the stack under test serves from this process's event loop. */
function smoke(args: string[], via: 'npm' | 'tsx' = 'tsx'): Promise<Run> {
  const [command, argv] = via === 'npm' ? ['npm', ['run', 'smoke', '--', ...args]] : [process.execPath, ['--import', 'tsx', 'scripts/smoke.ts', ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill(), 100_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The ids a run printed; the test fails here if a step did not print its id. */
function idsOf(stdout: string) {
  const tenantId = /create tenant .* ms {2}(smoke-tenant-[0-9a-f]{10})$/m.exec(stdout)?.[1];
  const userId = /create profile .* ms {2}(smoke-user-[0-9a-f]{10})$/m.exec(stdout)?.[1];
  const messageId = /✓ send .* ms {2}message ([0-9a-z]{22}), trace/.exec(stdout)?.[1];
  expect([tenantId, userId, messageId]).toEqual([expect.any(String), expect.any(String), expect.any(String)]);
  return { tenantId: tenantId!, userId: userId!, messageId: messageId! };
}

/** The throw-away tenant, profile and membership are gone. */
async function expectCleanedUp(tenantId: string, userId: string) {
  expect((await s.http('GET', `/tenants/${tenantId}`)).status).toBe(404);
  expect((await s.http('GET', `/profiles/${userId}`)).status).toBe(404);
  const memberships = await s.http('GET', `/users/${userId}/tenants`);
  expect([memberships.status, memberships.json.items]).toEqual([200, []]);
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

it('passes against a working stack, delivers to the inbox and the webhook, and leaves nothing behind', async () => {
  const run = await smoke(['--url', `${s.url}/`, '--key', s.apiKey, '--webhook', hook.url, '--timeout', '30'], 'npm');
  expect([run.code, run.stderr]).toEqual([0, '']);
  for (const name of STEPS) expect(run.stdout).toMatch(new RegExp(`^ {2}✓ ${name} +\\d+ ms`, 'm'));
  expect(run.stdout).not.toContain('✗');
  expect(run.stdout).toContain('✓ delivery');
  expect(run.stdout).toMatch(/✓ history .* ms {2}\d+ events; delivered to inbox and webhook$/m);
  expect(run.stdout).toMatch(/^smoke test passed in \d+ ms$/m);

  const { tenantId, userId, messageId } = idsOf(run.stdout);
  const calls = await hook.callsFor(messageId);
  expect(calls).toHaveLength(1);
  const message = await s.http('GET', `/messages/${messageId}`);
  expect(message.json).toMatchObject({
    id: messageId,
    status: 'DELIVERED',
    recipient: userId,
    tenant_id: tenantId,
    trace_id: expect.stringMatching(/^smoke-trace-/),
  });
  await expectCleanedUp(tenantId, userId);
}, 120_000);

it('passes without a webhook, checking the inbox alone', async () => {
  const run = await smoke(['--url', s.url, '--key', s.apiKey]);
  expect([run.code, run.stderr]).toEqual([0, '']);
  expect(run.stdout).toMatch(/✓ history .* ms {2}\d+ events; delivered to inbox$/m);
  const { tenantId, userId } = idsOf(run.stdout);
  await expectCleanedUp(tenantId, userId);
}, 120_000);

it('says the key was refused, and creates nothing, for a wrong key', async () => {
  const run = await smoke(['--url', s.url, '--key', 'not-the-key']);
  expect(run.code).toBe(1);
  expect(run.stdout).toMatch(/✓ health .*\n {2}✗ api key .*the API key was refused/);
  expect(run.stdout).not.toContain('create tenant');
  // The API's own `message` ends the line.
  expect(run.stderr.trim()).toMatch(/^smoke test FAILED: the API key was refused: GET \/tenants\?limit=1 answered 401: Unauthorized: .+$/);
}, 60_000);

it('says when the URL answers but is not the API', async () => {
  const run = await smoke(['--url', `${s.url}/not-the-stage`, '--key', s.apiKey]);
  expect(run.code).toBe(1);
  expect(run.stderr.trim()).toBe(
    `smoke test FAILED: GET /health answered 404 (expected 200): No route for GET /not-the-stage/health (is ${s.url}/not-the-stage the stack's ApiUrl?)`,
  );
}, 60_000);

it('says it cannot reach a closed port', async () => {
  const port = await closedPort();
  const run = await smoke(['--url', `http://127.0.0.1:${port}`, '--key', s.apiKey]);
  expect(run.code).toBe(1);
  expect(run.stdout).toMatch(/✗ health .*cannot reach/);
  expect(run.stderr.trim()).toBe(`smoke test FAILED: cannot reach http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`);
}, 60_000);

it('names a message stuck past --timeout, and still cleans up', async () => {
  const down = await startWebhookServer({ failFirst: 1000, failStatus: 503 }); // retried, so the message stays in flight
  try {
    const run = await smoke(['--url', s.url, '--key', s.apiKey, '--webhook', down.url, '--timeout', '1']);
    expect(run.code).toBe(1);
    const { tenantId, userId, messageId } = idsOf(run.stdout);
    expect(run.stderr.trim()).toMatch(new RegExp(`^smoke test FAILED: message ${messageId} is stuck in status (ROUTED|ENQUEUED) after 1 s$`));
    expect(run.stdout).not.toMatch(/history/);
    for (const name of ['delete membership', 'delete tenant', 'delete profile']) expect(run.stdout).toMatch(new RegExp(`✓ ${name} `));
    expect((await down.callsFor(messageId)).length).toBeGreaterThanOrEqual(1);
    await expectCleanedUp(tenantId, userId);
  } finally {
    await down.close();
  }
}, 60_000);

it('fails when the message is DELIVERED (inbox) but the webhook channel refused it', async () => {
  const refusing = await startWebhookServer({ failFirst: 1000, failStatus: 400 }); // permanent: the webhook target fails at once
  try {
    const run = await smoke(['--url', s.url, '--key', s.apiKey, '--webhook', refusing.url]);
    expect(run.code).toBe(1);
    const { tenantId, userId, messageId } = idsOf(run.stdout);
    expect(run.stdout).toMatch(/✓ delivery .* ms {2}DELIVERED$/m);
    expect(run.stderr.trim()).toMatch(
      new RegExp(`^smoke test FAILED: message ${messageId} is DELIVERED but the webhook channel did not deliver \\(PROVIDER_ERROR: .*400.*\\)$`),
    );
    expect(await refusing.callsFor(messageId)).toHaveLength(1);
    await expectCleanedUp(tenantId, userId);
  } finally {
    await refusing.close();
  }
}, 60_000);

it('prints the usage and exits 2 for a bad command line, before any request', async () => {
  const bad = [
    [],
    ['--url', s.url],
    ['--key', s.apiKey],
    ['--url', 'not a url', '--key', 'k'],
    ['--url', s.url, '--key', 'k', '--timeout', 'soon'],
    ['--url', s.url, '--key', 'k', '--webhook', 'ftp://x'],
    ['--url', s.url, '--key', 'k', '--verbose'],
  ];
  for (const args of bad) {
    const run = await smoke(args);
    expect([args, run.code, run.stdout]).toEqual([args, 2, '']);
    expect(run.stderr).toMatch(/^usage: npm run smoke -- --url <ApiUrl> --key <api key>/);
  }
}, 120_000);
