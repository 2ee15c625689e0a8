import './allow-private-egress';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { event } from '@pagerduty/pdjs';
import type { EventPayloadV2 } from '@pagerduty/pdjs/build/src/events';
import type { RenderedOutput } from '../../../lambdas/domain/render';
import { PagerDutyAdapter } from '../../../lambdas/providers/pagerduty';
import { closedPort, contractCase, mediaType, startRecorder, sendOf, type Recorder } from './recorder';

/**
 * The PagerDuty adapter against a stand-in Events API v2, and the contract test against PagerDuty's
 * official client, @pagerduty/pdjs (`event()`). pdjs builds `https://${server}/v2/enqueue` and has
 * no plain-http form, so its requests go through a TLS front (a certificate made here, trusted by
 * the agent pdjs is given) that forwards each request unchanged to the same stand-in the adapter
 * posts to.
 */

let api: Recorder;
beforeAll(async () => {
  api = await startRecorder();
});
afterAll(() => api?.close());
beforeEach(() => {
  api.requests.length = 0;
  api.reply(() => ({ status: 202, body: { status: 'success', message: 'Event processed', dedup_key: 'm-1:direct_message:pagerduty' } }));
});

const content: RenderedOutput = {
  channel: 'direct_message',
  title: 'Disk full on db-1',
  text: 'Disk full on db-1\n\n/var is at 99%',
  blocks: [
    { type: 'text', text: '/var is at 99%' },
    { type: 'action', text: 'Runbook', href: 'https://x.test/runbook' },
  ],
};
const alert = (pagerduty: Record<string, unknown>, settings: Record<string, unknown> = {}) =>
  sendOf({
    channel: 'direct_message',
    idempotencyKey: 'm-1:direct_message:pagerduty',
    address: { pagerduty },
    content,
    settings: { api_url: api.url, ...settings },
  });

describe('pagerduty adapter against a stand-in Events API v2', () => {
  it('posts a trigger event to /v2/enqueue with the profile routing key, the message idempotency key as dedup_key and the payload', async () => {
    const result = await new PagerDutyAdapter().send(alert({ routing_key: 'R0PROFILE', severity: 'critical', source: 'db-1' }, { routing_key: 'R0SETTINGS' }));

    expect(result).toEqual({ status: 'SENT', providerMessageId: 'm-1:direct_message:pagerduty' });
    const [req] = api.requests;
    expect([req.method, req.path, req.headers['content-type'], req.headers.authorization]).toEqual(['POST', '/v2/enqueue', 'application/json', undefined]);
    expect(JSON.parse(req.body)).toEqual({
      routing_key: 'R0PROFILE',
      event_action: 'trigger',
      dedup_key: 'm-1:direct_message:pagerduty',
      payload: {
        summary: 'Disk full on db-1',
        source: 'db-1',
        severity: 'critical',
        custom_details: { title: 'Disk full on db-1', body: 'Disk full on db-1\n\n/var is at 99%' },
      },
      links: [{ href: 'https://x.test/runbook', text: 'Runbook' }],
    });
  });

  it('merges providers.pagerduty.override: body deep-merged into the event, headers and query on the call', async () => {
    const message = {
      ...alert({ routing_key: 'R0PROFILE' }),
      override: { body: { payload: { severity: 'warning', component: 'disk' } }, headers: { 'x-audit': 'a1' }, query: { v: '2' } },
    };
    await new PagerDutyAdapter().send(message);
    const [req] = api.requests;
    expect([req.path, req.headers['x-audit']]).toEqual(['/v2/enqueue?v=2', 'a1']);
    expect(JSON.parse(req.body).payload).toMatchObject({ severity: 'warning', component: 'disk', summary: 'Disk full on db-1', source: 'notifications' });
  });

  it('takes the routing key, severity and source from the settings when the profile has none (defaults: trigger, info, notifications)', async () => {
    await new PagerDutyAdapter().send(alert({}, { routing_key: 'R0SETTINGS' }));
    expect(JSON.parse(api.requests[0].body)).toMatchObject({
      routing_key: 'R0SETTINGS',
      event_action: 'trigger',
      payload: { severity: 'info', source: 'notifications' },
    });
    await new PagerDutyAdapter().send(alert({ severity: null }, { routing_key: 'R0SETTINGS', severity: 'warning', source: 'api-gw' }));
    expect(JSON.parse(api.requests[1].body).payload).toMatchObject({ severity: 'warning', source: 'api-gw' });
  });

  it('sends resolve and acknowledge without a payload, as the Events API documents', async () => {
    await new PagerDutyAdapter().send(alert({ routing_key: 'R0', event_action: 'resolve' }));
    expect(JSON.parse(api.requests[0].body)).toEqual({ routing_key: 'R0', event_action: 'resolve', dedup_key: 'm-1:direct_message:pagerduty' });
  });

  it('refuses, permanently and without a call, a recipient with no routing key anywhere', async () => {
    await expect(new PagerDutyAdapter().send(alert({ severity: 'error' }))).rejects.toMatchObject({
      transient: false,
      message: 'pagerduty: no routing_key in the profile and none in the settings',
    });
    expect(api.requests).toHaveLength(0);
  });

  it('classifies 429 and 5xx as transient and 400 (an invalid event) as permanent', async () => {
    api.reply(() => ({ status: 429, headers: { 'retry-after': '3' }, body: { status: 'throttle event' } }));
    await expect(new PagerDutyAdapter().send(alert({ routing_key: 'R0' }))).rejects.toMatchObject({ transient: true, retryAfterMs: 3000, statusCode: 429 });
    api.reply(() => ({ status: 503, body: 'unavailable' }));
    await expect(new PagerDutyAdapter().send(alert({ routing_key: 'R0' }))).rejects.toMatchObject({ transient: true, statusCode: 503 });
    api.reply(() => ({ status: 400, body: { status: 'invalid event', errors: ['Event object is invalid'] } }));
    await expect(new PagerDutyAdapter().send(alert({ routing_key: 'R0' }))).rejects.toMatchObject({ transient: false, statusCode: 400 });
  });

  it('reports an unreachable Events API as transient', async () => {
    const sent = new PagerDutyAdapter().send({ ...alert({ routing_key: 'R0' }), settings: { api_url: `http://127.0.0.1:${await closedPort()}` } });
    await expect(sent).rejects.toMatchObject({ transient: true, message: 'pagerduty unreachable (ECONNREFUSED)' });
  });
});

/** An HTTPS server that forwards every request, method, path, headers and body as they came, to `target` (the stand-in), and its answer back. */
async function tlsFront(target: string): Promise<{ server: string; ca: string; close: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'pd-tls-'));
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  const san = ['-addext', 'subjectAltName=IP:127.0.0.1'];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=127.0.0.1', ...san, '-days', '2'], {
    stdio: 'ignore',
  });
  const ca = readFileSync(cert, 'utf8');
  const front = https.createServer({ key: readFileSync(key), cert: ca }, (req, res) => {
    const onward = http.request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(onward);
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
  return {
    server: `127.0.0.1:${(front.address() as AddressInfo).port}`,
    ca,
    close: () => new Promise<void>((r) => front.close(() => r())),
  };
}

describe('pagerduty contract: @pagerduty/pdjs event() and the adapter send the same request', () => {
  let front: Awaited<ReturnType<typeof tlsFront>>;
  beforeAll(async () => {
    front = await tlsFront(api.url);
  });
  afterAll(() => front?.close());
  // pdjs hands its options to fetch (node-fetch in Node): the agent trusts the front's certificate.
  const pdjs = (data: EventPayloadV2) => event({ server: front.server, data, agent: new https.Agent({ ca: front.ca }) } as Parameters<typeof event>[0]);

  it('a trigger: same method, path, content type (no auth header: the routing key is in the body) and body fields', async () => {
    // The Events API v2 event as pdjs types it: a field name the client does not know fails to compile.
    const data: EventPayloadV2 = {
      routing_key: 'R0PROFILE',
      event_action: 'trigger',
      dedup_key: 'm-1:direct_message:pagerduty',
      payload: {
        summary: 'Disk full on db-1',
        source: 'db-1',
        severity: 'critical',
        custom_details: { title: 'Disk full on db-1', body: 'Disk full on db-1\n\n/var is at 99%' },
      },
      links: [{ href: 'https://x.test/runbook', text: 'Runbook' }],
    };
    const { theirs } = await contractCase({
      api,
      vendor: async () => expect((await pdjs(data)).data).toMatchObject({ status: 'success', dedup_key: 'm-1:direct_message:pagerduty' }),
      ours: () => new PagerDutyAdapter().send(alert({ routing_key: 'R0PROFILE', severity: 'critical', source: 'db-1' })),
      headers: ['authorization', ['content-type', mediaType]],
    });
    expect([theirs[0].method, theirs[0].path, theirs[0].headers.authorization]).toEqual(['POST', '/v2/enqueue', undefined]);
  });

  it('a resolve: the key and action only, alike', async () => {
    // pdjs types `payload` as required; the Events API takes an acknowledge or resolve without one.
    const data = { routing_key: 'R0', event_action: 'resolve', dedup_key: 'm-1:direct_message:pagerduty' } as EventPayloadV2;
    await contractCase({
      api,
      vendor: () => pdjs(data),
      ours: () => new PagerDutyAdapter().send(alert({ routing_key: 'R0', event_action: 'resolve' })),
      headers: ['authorization', ['content-type', mediaType]],
    });
  });
});
