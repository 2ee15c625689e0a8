import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { npmStart, type Started } from '../helpers/npm-start';
import { eventually } from '../helpers/wait';

/**
 * The local stack contract (SPEC section 10) as a person sees it: `npm start` prints the ready
 * line, serves the API with API_KEY, keeps data across restarts, and leaves no process behind.
 */
/** Whether any process of the group `pgid` is still running. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Ctrl-C in a terminal signals the whole foreground process group. */
async function interrupt(s: Started): Promise<void> {
  const exited = new Promise((r) => s.child.once('exit', r));
  process.kill(-s.child.pid!, 'SIGINT');
  await exited;
  // npm exits on the signal at once; lambdas/local/main.ts behind it exits only once its emulators
  // have: wait for the whole process group to be gone rather than for a fixed time.
  await eventually(
    async () => groupAlive(s.child.pid!),
    (alive) => !alive,
    15_000,
  );
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

const javaFor = (port: number) => spawnSync('pgrep', ['-f', `DynamoDBLocal.jar -port ${port} `], { encoding: 'utf8' }).stdout.trim();

const key = 'start-test-key';
const call = (url: string, method: string, p: string, body?: unknown, auth = true) =>
  fetch(url + p, { method, headers: auth ? { authorization: `Bearer ${key}` } : {}, body: body === undefined ? undefined : JSON.stringify(body) });

describe('npm start', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'notifications-data-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('serves the API once ready, keeps data across a restart, and leaves no Java behind on Ctrl-C', async () => {
    const first = await npmStart({ API_KEY: key, LOCAL_DATA_DIR: dataDir });
    try {
      expect((await call(first.url, 'GET', '/health', undefined, false)).status).toBe(200);
      expect((await call(first.url, 'PUT', '/profiles/u%2F1', { profile: { email: 'a@b.c' } })).status).toBe(200);
      expect((await call(first.url, 'GET', '/profiles/u%2F1', undefined, false)).status).toBe(401);
      expect(javaFor(first.dynamoPort)).not.toBe('');
      // The realtime inbox socket, on the next port: printed, in .local/stack.json, and refusing a handshake without a token.
      const wsUrl = /socket (ws:\/\/127\.0\.0\.1:\d+\/inbox)/.exec(first.output())?.[1];
      expect(wsUrl).toBe(`ws://127.0.0.1:${Number(new URL(first.url).port) + 1}/inbox`);
      expect((JSON.parse(readFileSync(path.resolve(__dirname, '../../.local/stack.json'), 'utf8')) as { wsUrl: string }).wsUrl).toBe(wsUrl);
      const refused = await new Promise<number>((resolve) => {
        const ws = new WebSocket(wsUrl!);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
        ws.on('error', () => undefined);
      });
      expect(refused).toBe(401);
      // The inbox example page on the port after, its server handing the page a user token and the stack's URLs.
      const exampleUrl = /inbox example (http:\/\/127\.0\.0\.1:\d+)\/\?user=u-1/.exec(first.output())?.[1];
      expect(exampleUrl).toBe(`http://127.0.0.1:${Number(new URL(first.url).port) + 2}`);
      expect(await (await fetch(`${exampleUrl}/`)).text()).toContain('<courier-inbox');
      const config = (await (await fetch(`${exampleUrl}/config?user=u-9`)).json()) as { userId: string; jwt: string; apiUrls: unknown };
      expect(config).toMatchObject({ userId: 'u-9', jwt: expect.stringMatching(/^eyJ/), apiUrls: { inbox: { webSocket: wsUrl } } });
    } finally {
      await interrupt(first);
    }
    expect(await portOpen(first.dynamoPort)).toBe(false);
    expect(javaFor(first.dynamoPort)).toBe('');

    const second = await npmStart({ API_KEY: key, LOCAL_DATA_DIR: dataDir });
    try {
      const res = await call(second.url, 'GET', '/profiles/u%2F1');
      expect(((await res.json()) as { profile: unknown }).profile).toEqual({ email: 'a@b.c' });
    } finally {
      await interrupt(second);
    }
    expect(javaFor(second.dynamoPort)).toBe('');
  });

  it('starts empty with --in-memory', async () => {
    const s = await npmStart({ API_KEY: key, LOCAL_DATA_DIR: dataDir }, ['--in-memory']);
    try {
      expect(s.output()).toContain('in memory');
      expect((await call(s.url, 'GET', '/profiles/u%2F1')).status).toBe(404);
    } finally {
      await interrupt(s);
    }
    expect(javaFor(s.dynamoPort)).toBe('');
  });
});
