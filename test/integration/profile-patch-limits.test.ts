import net from 'node:net';
import { npmStart } from '../helpers/npm-start';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually, uid } from '../helpers/wait';

/**
 * JSON-Patch limits on profiles (issue 11, item 13): operations, the size of the result (checked
 * as the operations apply) and prototype paths are refused with 400 naming body.patch, and the
 * local stack survives a socket that breaks after its request ended.
 */

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({ scheduleEveryMs: 0 });
});
afterAll(() => s?.stop());

async function newProfile(profile: Record<string, unknown>): Promise<string> {
  const u = uid('patched');
  expect((await s.http('PUT', `/profiles/${u}`, { profile })).status).toBe(200);
  return u;
}

describe('PATCH /profiles/:id limits', () => {
  it('refuses 18 `copy from ""` operations (a 265 MB document) with 400 naming body.patch, and keeps answering', async () => {
    const profile = { x: 'a'.repeat(1000) };
    const u = await newProfile(profile);
    const patch = Array.from({ length: 18 }, (_, i) => ({ op: 'copy', from: '', path: `/k${i}` }));
    const res = await s.http('PATCH', `/profiles/${u}`, { patch });
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(/^Invalid request: body\.patch\.\d+: .*bytes/);
    const after = await s.http('GET', `/profiles/${u}`);
    expect([after.status, after.json.profile]).toEqual([200, profile]);
    expect((await s.http('GET', '/health', undefined, { key: null })).status).toBe(200);
  });

  it('refuses more than 100 operations', async () => {
    const u = await newProfile({ n: 0 });
    const patch = Array.from({ length: 101 }, (_, i) => ({ op: 'replace', path: '/n', value: i }));
    const res = await s.http('PATCH', `/profiles/${u}`, { patch });
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(/^Invalid request: body\.patch: .*100/);
    expect((await s.http('PATCH', `/profiles/${u}`, { patch: patch.slice(0, 100) })).status).toBe(200);
    expect((await s.http('GET', `/profiles/${u}`)).json.profile).toEqual({ n: 99 });
  });

  it.each([
    ['add under __proto__', { op: 'add', path: '/__proto__/polluted', value: 1 }, 'body.patch.0.path'],
    ['add a constructor key', { op: 'add', path: '/constructor', value: 1 }, 'body.patch.0.path'],
    ['replace under prototype', { op: 'replace', path: '/a/prototype', value: 1 }, 'body.patch.0.path'],
    ['copy from __proto__', { op: 'copy', from: '/__proto__', path: '/y' }, 'body.patch.0.from'],
    ['move a value into itself', { op: 'move', from: '/a', path: '/a/b' }, 'body.patch.0'],
  ])('refuses %s with 400 naming the field', async (_name, op, field) => {
    const u = await newProfile({ a: { b: 1 } });
    const res = await s.http('PATCH', `/profiles/${u}`, { patch: [op] });
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(new RegExp(`^Invalid request: ${field.replace(/\./g, '\\.')}: `));
    expect((await s.http('GET', `/profiles/${u}`)).json.profile).toEqual({ a: { b: 1 } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a POST merge that would make the profile larger than a profile may be, naming body.profile', async () => {
    const u = await newProfile({ a: 'x'.repeat(200_000) });
    const res = await s.http('POST', `/profiles/${u}`, { profile: { b: 'y'.repeat(200_000) } });
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(/^Invalid request: body\.profile: .*bytes/);
    expect(Object.keys((await s.http('GET', `/profiles/${u}`)).json.profile)).toEqual(['a']);
  });
});

describe('the local stack survives a broken socket', () => {
  it('logs an error on a client socket that nobody listens to any more, instead of dying of it', async () => {
    // A server that resets every connection: the client socket then emits ECONNRESET, with no
    // listener of its own, as the SDK's socket did with EPIPE after DynamoDB Local answered 413.
    const server = net.createServer((socket) => socket.resetAndDestroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const logged = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
      await eventually(
        async () => socket.destroyed,
        (d) => d,
        10_000,
      );
      await eventually(
        async () => logged.mock.calls.map((c) => c.join(' ')).join('\n'),
        (text) => /ECONNRESET/.test(text),
        10_000,
      );
    } finally {
      logged.mockRestore();
      await new Promise((r) => server.close(r));
    }
    expect((await s.http('GET', '/health', undefined, { key: null })).status).toBe(200);
  });
});

describe('npm start', () => {
  it('answers the 18-operation patch with 400 and keeps serving (it used to die of EPIPE)', async () => {
    const { child, url, output } = await npmStart({ API_KEY: 'patch-limits-key' }, ['--in-memory']);
    const exited = new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(undefined)));
    try {
      const call = (method: string, p: string, body?: unknown) =>
        fetch(url + p, { method, headers: { authorization: 'Bearer patch-limits-key' }, body: body === undefined ? undefined : JSON.stringify(body) });
      expect((await call('PUT', '/profiles/u1', { profile: { x: 'a'.repeat(1000) } })).status).toBe(200);
      const patch = Array.from({ length: 18 }, (_, i) => ({ op: 'copy', from: '', path: `/k${i}` }));
      expect((await call('PATCH', '/profiles/u1', { patch })).status).toBe(400);
      expect((await call('PATCH', '/profiles/u1', { patch: [{ op: 'add', path: '/__proto__/x', value: 1 }] })).status).toBe(400);
      expect((await call('GET', '/profiles/u1')).status).toBe(200);
      expect(child.exitCode).toBeNull();
    } finally {
      process.kill(-child.pid!, 'SIGINT');
      await exited;
    }
    expect(output()).not.toMatch(/EPIPE|exited \(/);
  });
});
