import './allow-private-egress';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { RenderedOutput } from '../../../lambdas/domain/render';
import { WebhookAdapter } from '../../../lambdas/providers/webhook';
import { startRecorder, sendOf, type Recorded, type Recorder } from './recorder';

const SECRET = 'whsec_0123456789abcdef';

let receiver: Recorder;
beforeAll(async () => {
  receiver = await startRecorder();
});
afterAll(() => receiver?.close());
beforeEach(() => {
  receiver.requests.length = 0;
  receiver.reply(() => ({ status: 204 }));
});

/** What a receiver does: recompute the HMAC over `${timestamp}.${rawBody}` and compare in constant time. */
function verified(req: Recorded, secret: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${req.headers['x-courier-timestamp']}.${req.body}`).digest('hex')}`);
  const given = Buffer.from(String(req.headers['x-courier-signature']));
  return expected.length === given.length && timingSafeEqual(expected, given);
}

const content: RenderedOutput = { channel: 'webhook', title: 'Order 42 shipped', body: 'It is on its way.' };
const hook = (address: Record<string, unknown>, settings: Record<string, unknown> = { signing_secret: SECRET }) =>
  sendOf({
    messageId: 'm-hook-1',
    idempotencyKey: 'm-hook-1:webhook',
    channel: 'webhook',
    address,
    content,
    settings,
    metadata: { tags: ['orders'], event: 'order-shipped' },
  });

describe('webhook adapter against a receiving server', () => {
  it('posts the signed JSON body with timestamp and idempotency-key headers, and counts a 2xx as DELIVERED', async () => {
    const before = Math.floor(Date.now() / 1000);
    const result = await new WebhookAdapter().send(hook({ url: `${receiver.url}/hooks/courier` }));

    expect(result).toEqual({ status: 'DELIVERED' });
    const [req] = receiver.requests;
    expect([req.method, req.path, req.headers['content-type'], req.headers['idempotency-key']]).toEqual([
      'POST',
      '/hooks/courier',
      'application/json',
      'm-hook-1:webhook',
    ]);
    const timestamp = Number(req.headers['x-courier-timestamp']);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(verified(req, SECRET)).toBe(true);
    expect(verified(req, 'whsec_another-secret-1234')).toBe(false);
    expect(JSON.parse(req.body)).toEqual({
      messageId: 'm-hook-1',
      channel: 'webhook',
      recipient: { userId: 'user-1', tenantId: 'acme' },
      content,
      metadata: { tags: ['orders'], event: 'order-shipped' },
      timestamp: new Date(timestamp * 1000).toISOString(),
    });
  });

  it('uses the method, headers and basic authentication of the profile, but never lets a header replace its own', async () => {
    await new WebhookAdapter().send(
      hook({
        url: `${receiver.url}/put-here`,
        method: 'PUT',
        headers: { 'X-Team': 'ops', 'X-Courier-Signature': 'forged', 'Idempotency-Key': 'forged' },
        authentication: { mode: 'basic', username: 'hook', password: 'pa:ss' },
      }),
    );
    const [req] = receiver.requests;
    expect(req.method).toBe('PUT');
    expect(req.headers['x-team']).toBe('ops');
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from('hook:pa:ss').toString('base64')}`);
    expect(req.headers['idempotency-key']).toBe('m-hook-1:webhook');
    expect(verified(req, SECRET)).toBe(true);
  });

  it('sends a bearer token when the profile asks for one', async () => {
    await new WebhookAdapter().send(hook({ url: receiver.url, authentication: { mode: 'bearer', token: 'tok-123' } }));
    expect(receiver.requests[0].headers.authorization).toBe('Bearer tok-123');
  });

  it('posts unsigned when the provider has no signing secret, to the settings url when the profile has none', async () => {
    await new WebhookAdapter().send(hook({}, { url: `${receiver.url}/from-settings` }));
    const [req] = receiver.requests;
    expect(req.path).toBe('/from-settings');
    expect(req.headers['x-courier-signature']).toBeUndefined();
    expect(req.headers['x-courier-timestamp']).toMatch(/^\d+$/);
  });

  it("posts to the provider's url when its settings name one, whatever url the profile holds", async () => {
    await new WebhookAdapter().send(hook({ url: `${receiver.url}/from-profile` }, { url: `${receiver.url}/from-provider`, signing_secret: SECRET }));
    expect(receiver.requests.map((r) => r.path)).toEqual(['/from-provider']);
    expect(verified(receiver.requests[0], SECRET)).toBe(true);
  });

  it.each([
    [500, 'transient', true],
    [503, 'transient', true],
    [408, 'transient', true],
    [410, 'permanent', false],
    [401, 'permanent', false],
  ])('classifies a %i answer as %s', async (status, _label, transient) => {
    receiver.reply(() => ({ status }));
    await expect(new WebhookAdapter().send(hook({ url: receiver.url }))).rejects.toMatchObject({ transient, statusCode: status });
  });

  it('does not follow a redirect: the signed request goes only where the profile says', async () => {
    receiver.reply((req) => (req.path === '/moved' ? { status: 302, headers: { location: '/elsewhere' } } : { status: 200 }));
    await expect(new WebhookAdapter().send(hook({ url: `${receiver.url}/moved` }))).rejects.toMatchObject({ transient: false, statusCode: 302 });
    expect(receiver.requests.map((r) => r.path)).toEqual(['/moved']);
  });

  it('times out as transient', async () => {
    receiver.reply(() => 'hang');
    await expect(new WebhookAdapter().send({ ...hook({ url: receiver.url }), timeoutMs: 150 })).rejects.toMatchObject({
      transient: true,
      message: 'webhook timed out after 150 ms',
    });
  });

  it('refuses a header value with a line break as permanent, before sending anything', async () => {
    await expect(new WebhookAdapter().send(hook({ url: receiver.url, headers: { 'x-a': 'one\r\nx-b: two' } }))).rejects.toMatchObject({ transient: false });
    expect(receiver.requests).toHaveLength(0);
  });
});
