import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestStack, type TestStack } from '../helpers/stack';
import { messagesOf } from '../helpers/send';
import { aListOf, via, webhookProfile } from '../helpers/builders';
import { uid } from '../helpers/wait';

/**
 * A delivery worker runs every recipient of its jobs at once (25 a job, ten jobs a batch), but
 * makes at most PROVIDER_CALLS_AT_ONCE provider calls at a time: 250 simultaneous calls to one
 * provider timed out (SMTP) or were reset (HTTP) under load, each a needless retry.
 */
let s: TestStack;
let server: http.Server;
let url: string;
let running = 0;
let most = 0;
beforeAll(async () => {
  s = await startTestStack();
  server = http.createServer((req, res) => {
    running++;
    most = Math.max(most, running);
    req.resume();
    setTimeout(() => {
      running--;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    }, 150);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await s?.stop();
});

it('calls a provider at most PROVIDER_CALLS_AT_ONCE times at once, however many recipients run', async () => {
  const list = uid('calls.list');
  const users = Array.from({ length: 200 }, (_, i) => `${list}-u${i}`);
  for (const u of users) await s.client.profiles.replace(u, { profile: webhookProfile(url) });
  await aListOf(s, list, users);
  const trace = uid('trace');
  await s.client.send.message({ message: { to: { list_id: list }, content: { body: 'x' }, routing: via('webhook'), metadata: { trace_id: trace } } as never });
  const messages = await messagesOf(s, trace, users.length, 60_000);
  expect(messages.filter((m) => m.status !== 'DELIVERED')).toEqual([]);
  expect(most).toBeGreaterThan(1);
  expect(most).toBeLessThanOrEqual(32);
}, 90_000);
