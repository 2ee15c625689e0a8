import { createHmac } from 'node:crypto';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { startTestStack, type TestStack } from '../helpers/stack';
import { TERMINAL } from '../helpers/send';
import { eventually, uid } from '../helpers/wait';
import { startRecorder, type Recorded, type Recorder } from './providers/recorder';

/**
 * Issue 16 item 4: outbound webhooks, Courier-compatible. Endpoints registered through /webhooks
 * receive a signed `message:updated` for every status change of a message, verified here with the
 * code Courier documents for its receivers (https://www.courier.com/docs/platform/workspaces/outbound-webhooks).
 */
let s: TestStack;
let hook: Recorder;
beforeAll(async () => {
  s = await startTestStack({
    env: { CACHE_TTL_MS: '0', WEBHOOK_RETRY_BASE_SECONDS: '1', WEBHOOK_DISABLE_AFTER_FAILURES: '5', WEBHOOK_MAX_ATTEMPTS: '3' },
    // A failing last attempt is received again after this, then dead-lettered (maxReceiveCount 2).
    visibilityTimeoutSeconds: { webhooks: 2 },
  });
  hook = await startRecorder();
});
afterAll(async () => {
  await hook?.close();
  await s?.stop();
});

/** Courier's documented verification, unchanged but for the body: an Express handler's `req.body` is the parsed JSON. */
function courierVerifies(req: Recorded, secret: string): boolean {
  const body = JSON.parse(req.body) as unknown;
  const courierSignature = req.headers['courier-signature'] as string;
  const signatureParts = courierSignature.split(',');
  const timestamp = signatureParts[0].split('=')[1];
  const signature = signatureParts[1].split('=')[1];
  const payload = `${timestamp}.${JSON.stringify(body)}`;
  const hash = createHmac('sha256', secret).update(payload).digest('hex');
  return hash === signature;
}

interface Event {
  id: string;
  type: string;
  version: number;
  data: { id: string; status: string } & Record<string, unknown>;
}
const eventsOf = (messageId: string, reqs: Recorded[]) => reqs.map((r) => ({ r, e: JSON.parse(r.body) as Event })).filter(({ e }) => e.data?.id === messageId);

async function createEndpoint(path: string, extra: Record<string, unknown> = {}) {
  const res = await s.http('POST', '/webhooks', { url: `${hook.url}${path}`, events: ['message:updated'], description: 'test', ...extra });
  expect(res.status).toBe(200);
  return res.json as { id: string; secret: string; enabled: boolean };
}

async function sendInbox(delayMs?: number): Promise<string> {
  const { requestId } = await s.client.send.message({
    message: {
      to: { user_id: uid('hook-user') },
      content: { title: 'Hi', body: 'there' },
      routing: { method: 'single', channels: ['inbox'] },
      ...(delayMs ? { delay: { duration: delayMs } } : {}),
    },
  });
  return requestId;
}

async function terminal(messageId: string) {
  return eventually(
    () => s.client.messages.retrieve(messageId),
    (m) => TERMINAL.includes(m.status),
  );
}

describe('outbound webhooks', () => {
  it('deliver a signed message:updated for each status change of an SDK send, in version order, as GET /messages/:id answers', async () => {
    hook.reply(() => ({ status: 200, body: {} }));
    const endpoint = await createEndpoint('/ok');
    try {
      // A delayed send, delivered from the queue: stored DELAYED (announced by the send), then the worker routes it (ROUTED) and delivers it.
      const messageId = await sendInbox(1500);
      const final = await terminal(messageId);
      const got = await eventually(
        async () =>
          eventsOf(
            messageId,
            hook.requests.filter((r) => r.path === '/ok'),
          ),
        (es) => es.some(({ e }) => e.data.status === final.status),
      );
      for (const { r } of got) {
        expect(r.method).toBe('POST');
        expect(r.headers['content-type']).toBe('application/json');
        expect(r.headers['courier-signature']).toMatch(/^t=\d{13},signature=[0-9a-f]{64}$/);
        expect(courierVerifies(r, endpoint.secret)).toBe(true);
        expect(courierVerifies(r, 'whsec_wrong')).toBe(false);
      }
      const events = got.map(({ e }) => e).sort((a, b) => a.version - b.version);
      expect(events.every((e) => e.type === 'message:updated')).toBe(true);
      expect(events.map((e) => e.data.status)).toEqual(['DELAYED', 'ROUTED', final.status]);
      expect(new Set(events.map((e) => e.version)).size).toBe(events.length);
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
      // The last event's data is the message as GET /messages/:id answers it.
      const read = await s.http('GET', `/messages/${messageId}`);
      expect(events.at(-1)!.data).toEqual(read.json);
    } finally {
      await s.http('DELETE', `/webhooks/${endpoint.id}`);
    }
  });

  it('announce a delayed send when it is stored, then its cancel', async () => {
    hook.reply(() => ({ status: 200, body: {} }));
    const endpoint = await createEndpoint('/cancel');
    try {
      const messageId = await sendInbox(60_000);
      await eventually(
        () => s.client.messages.retrieve(messageId),
        (m) => m.status === 'DELAYED',
      );
      await s.client.messages.cancel(messageId);
      const got = await eventually(
        async () =>
          eventsOf(
            messageId,
            hook.requests.filter((r) => r.path === '/cancel'),
          ).map(({ e }) => e.data.status),
        (statuses) => statuses.includes('CANCELED'),
      );
      expect(got).toEqual(['DELAYED', 'CANCELED']);
    } finally {
      await s.http('DELETE', `/webhooks/${endpoint.id}`);
    }
  });

  it('retry an endpoint that fails, then deliver each event once it recovers', async () => {
    let failuresLeft = 3;
    hook.reply((r) => (r.path === '/flaky' && failuresLeft-- > 0 ? { status: 503, body: 'down' } : { status: 200, body: {} }));
    const endpoint = await createEndpoint('/flaky');
    try {
      const messageId = await sendInbox();
      const final = await terminal(messageId);
      const answered = (r: Recorded) => hook.requests.indexOf(r);
      const got = await eventually(
        async () =>
          eventsOf(
            messageId,
            hook.requests.filter((r) => r.path === '/flaky'),
          ),
        // Every event (ENQUEUED, ROUTED, DELIVERED) delivered after the three failures.
        (es) => es.some(({ e }) => e.data.status === final.status) && new Set(es.map(({ e }) => e.id)).size === new Set(es.slice(3).map(({ e }) => e.id)).size,
        30_000,
      );
      // Every attempt carries the same event id; the first three were answered 503.
      const ids = got.map(({ e }) => e.id);
      expect(ids.length).toBeGreaterThanOrEqual(4);
      const attempts = got.sort((a, b) => answered(a.r) - answered(b.r));
      const delivered = attempts.slice(3);
      // Once delivered, each event is delivered once: no id twice among the accepted requests.
      expect(new Set(delivered.map(({ e }) => e.id)).size).toBe(delivered.length);
      expect(new Set(ids)).toEqual(new Set(delivered.map(({ e }) => e.id)));
      const after = await s.http('GET', `/webhooks/${endpoint.id}`);
      expect(after.json).toMatchObject({ enabled: true, consecutive_failures: 0, disabled_reason: null });
    } finally {
      await s.http('DELETE', `/webhooks/${endpoint.id}`);
    }
  });

  it('disable an endpoint after a failure streak, until a PUT enables it again', async () => {
    hook.reply((r) => (r.path === '/broken' ? { status: 500, body: 'broken' } : { status: 200, body: {} }));
    const endpoint = await createEndpoint('/broken');
    try {
      // Two messages: their events' attempts (three each, and SQS's one more) make a streak of five.
      await Promise.all([sendInbox(), sendInbox()]);
      const disabled = await eventually(
        async () => (await s.http('GET', `/webhooks/${endpoint.id}`)).json,
        (w) => w.enabled === false,
        30_000,
      );
      expect(disabled).toMatchObject({ enabled: false, disabled_reason: expect.stringContaining('5 consecutive failed deliveries') });
      // A POST already in flight when the fifth failure disabled it may still count.
      expect(disabled.consecutive_failures).toBeGreaterThanOrEqual(5);
      await new Promise((r) => setTimeout(r, 1000));
      const tried = hook.requests.filter((r) => r.path === '/broken').length;
      expect(tried).toBe((await s.http('GET', `/webhooks/${endpoint.id}`)).json.consecutive_failures);
      // Disabled: new changes are not sent to it, and its queued retries are dropped.
      await terminal(await sendInbox());
      await new Promise((r) => setTimeout(r, 3000));
      expect(hook.requests.filter((r) => r.path === '/broken').length).toBe(tried);

      hook.reply(() => ({ status: 200, body: {} }));
      const put = await s.http('PUT', `/webhooks/${endpoint.id}`, { url: `${hook.url}/broken`, events: ['message:updated'] });
      expect(put.status).toBe(200);
      expect(put.json).toMatchObject({ enabled: true, consecutive_failures: 0, disabled_reason: null });
      expect(put.json.secret).toBeUndefined();
      const messageId = await sendInbox();
      await eventually(
        async () =>
          eventsOf(
            messageId,
            hook.requests.filter((r) => r.path === '/broken'),
          ),
        (es) => es.length > 0,
      );
    } finally {
      await s.http('DELETE', `/webhooks/${endpoint.id}`);
    }
  });
});

describe('an event that keeps failing', () => {
  it('is tried WEBHOOK_MAX_ATTEMPTS times, once more by SQS, then dead-lettered', async () => {
    hook.reply((r) => (r.path === '/dead' ? { status: 500, body: 'no' } : { status: 200, body: {} }));
    const messageId = await sendInbox(60_000);
    await eventually(
      () => s.client.messages.retrieve(messageId),
      (m) => m.status === 'DELAYED',
    );
    // Registered after the send was stored (and announced DELAYED): the cancel is its only event.
    const endpoint = await createEndpoint('/dead');
    try {
      await s.client.messages.cancel(messageId);
      const dead = await eventually(
        async () => {
          const out = await s.sqs.send(new ReceiveMessageCommand({ QueueUrl: s.queues.webhooks.dlqUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }));
          return (out.Messages ?? []).map((m) => JSON.parse(m.Body!) as { endpointId: string; attempt: number; body: string });
        },
        (ms) => ms.some((m) => m.endpointId === endpoint.id),
        40_000,
      );
      const mine = dead.filter((m) => m.endpointId === endpoint.id);
      expect(mine).toHaveLength(1);
      expect(mine[0].attempt).toBe(3);
      expect((JSON.parse(mine[0].body) as Event).data).toMatchObject({ id: messageId, status: 'CANCELED' });
      expect(
        eventsOf(
          messageId,
          hook.requests.filter((r) => r.path === '/dead'),
        ),
      ).toHaveLength(4);
      expect((await s.http('GET', `/webhooks/${endpoint.id}`)).json).toMatchObject({ enabled: true, consecutive_failures: 4 });
    } finally {
      await s.http('DELETE', `/webhooks/${endpoint.id}`);
    }
  });
});

describe('the /webhooks API', () => {
  it('shows the secret once, rotates it, lists and deletes endpoints', async () => {
    const created = await createEndpoint('/api', { enabled: false });
    expect(created).toMatchObject({ enabled: false, consecutive_failures: 0, description: 'test', events: ['message:updated'] });
    expect(created.secret).toMatch(/^whsec_[0-9a-f]{64}$/);
    const got = await s.http('GET', `/webhooks/${created.id}`);
    expect(got.status).toBe(200);
    expect(got.json.secret).toBeUndefined();
    const list = await s.http('GET', '/webhooks');
    expect(list.json.results.map((w: { id: string }) => w.id)).toContain(created.id);
    expect(list.json.results.every((w: { secret?: string }) => w.secret === undefined)).toBe(true);
    const rotated = await s.http('POST', `/webhooks/${created.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.json.secret).toMatch(/^whsec_/);
    expect(rotated.json.secret).not.toBe(created.secret);
    expect((await s.http('DELETE', `/webhooks/${created.id}`)).status).toBe(204);
    expect((await s.http('GET', `/webhooks/${created.id}`)).status).toBe(404);
    expect((await s.http('POST', `/webhooks/${created.id}/rotate-secret`)).status).toBe(404);
    expect((await s.http('PUT', `/webhooks/${created.id}`, { url: 'https://example.com/h', events: ['message:updated'] })).status).toBe(404);
  });

  it.each([
    ['a URL that is not http(s)', { url: 'ftp://example.com/h', events: ['message:updated'] }, 'url'],
    ['no URL', { events: ['message:updated'] }, 'url'],
    ['no events', { url: 'https://example.com/h', events: [] }, 'events'],
    ['an event type not emitted', { url: 'https://example.com/h', events: ['notification:published'] }, 'events'],
    ['an unknown event type', { url: 'https://example.com/h', events: ['message:deleted'] }, 'events'],
    ['enabled not a boolean', { url: 'https://example.com/h', events: ['message:updated'], enabled: 'yes' }, 'enabled'],
  ])('answers 400 naming the field for %s', async (_, body, field) => {
    const before = (await s.http('GET', '/webhooks')).json.results.length;
    const res = await s.http('POST', '/webhooks', body);
    expect(res.status).toBe(400);
    expect(res.json.type).toBe('invalid_request_error');
    expect(res.json.message).toContain(field);
    expect((await s.http('GET', '/webhooks')).json.results.length).toBe(before);
  });
});
