import './allow-private-egress';
import type { RenderedOutput } from '../../../lambdas/domain/render';
import { PagerDutyAdapter } from '../../../lambdas/providers/pagerduty';
import { closedPort, startRecorder, sendOf, type Recorder } from './recorder';

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
