import './allow-private-egress';
import { Vonage } from '@vonage/server-sdk';
import { VonageAdapter } from '../../../lambdas/providers/vonage';
import { contractCase, closedPort, startRecorder, sendOf, type Recorder } from './recorder';

/**
 * The Vonage adapter against a stand-in SMS API, and the contract test: the official
 * @vonage/server-sdk, its `restHost` set to the stand-in, makes the same call as the adapter
 * (method, path, Basic auth, JSON body).
 */
let api: Recorder;
beforeAll(async () => {
  api = await startRecorder();
});
afterAll(() => api?.close());
const ok = (status = '0') => ({
  status: 200,
  body: { 'message-count': '1', messages: [{ to: '447700900001', 'message-id': '0A0000001234ABCD', status, 'client-ref': '1700000000000-msg1' }] },
});
beforeEach(() => {
  api.requests.length = 0;
  api.reply(() => ok());
});

const settings = { api_key: 'vonage-key', api_secret: 'vonage-secret', from: 'Acme' };
const sms = (over: Record<string, unknown> = {}, address = '+44 7700 900001', body = 'Your code is 1234') =>
  sendOf({
    channel: 'sms',
    messageId: '1700000000000-msg1',
    idempotencyKey: '1700000000000-msg1:sms',
    address,
    content: { channel: 'sms', body },
    settings: { api_url: api.url, ...settings, ...over },
  });

describe('vonage adapter against a stand-in SMS API', () => {
  it('posts JSON to /sms/json with Basic auth, the number as digits and client-ref our message id', async () => {
    const result = await new VonageAdapter().send(sms({ status_callback_url: 'https://hooks.example.test/vonage' }));
    expect(result).toEqual({ status: 'SENT', providerMessageId: '0A0000001234ABCD' });
    const [req] = api.requests;
    expect([req.method, req.path, req.headers.authorization, req.headers['content-type']]).toEqual([
      'POST',
      '/sms/json',
      `Basic ${Buffer.from('vonage-key:vonage-secret').toString('base64')}`,
      'application/json',
    ]);
    expect(JSON.parse(req.body)).toEqual({
      from: 'Acme',
      to: '447700900001',
      text: 'Your code is 1234',
      'client-ref': '1700000000000-msg1',
      callback: 'https://hooks.example.test/vonage?courier_message_id=1700000000000-msg1',
    });
  });

  it('sends a text with non-ASCII characters as type unicode', async () => {
    await new VonageAdapter().send(sms({}, '+447700900001', 'Grüße 👋'));
    expect(JSON.parse(api.requests[0].body)).toMatchObject({ text: 'Grüße 👋', type: 'unicode' });
  });

  it('merges providers.vonage.override: body deep-merged, headers and query on the call', async () => {
    await new VonageAdapter().send({
      ...sms(),
      override: { body: { ttl: 600000, 'status-report-req': true }, headers: { 'x-audit': 'a1' }, query: { v: '2' } },
    });
    const [req] = api.requests;
    expect([req.path, req.headers['x-audit']]).toEqual(['/sms/json?v=2', 'a1']);
    expect(JSON.parse(req.body)).toMatchObject({ ttl: 600000, 'status-report-req': true, text: 'Your code is 1234' });
  });

  it.each([
    ['1', true, 'vonage answered 200 (code 1)'],
    ['5', true, 'vonage answered 200 (code 5)'],
    ['3', false, 'vonage answered 200 (code 3)'],
    ['4', false, 'vonage answered 200 (code 4)'],
    ['7', false, 'vonage answered 200 (code 7: invalid recipient)'],
    ['33', false, 'vonage answered 200 (code 33: invalid recipient)'],
  ])('classifies a message status %s in a 200 answer (transient: %s)', async (status, transient, message) => {
    api.reply(() => ok(status));
    await expect(new VonageAdapter().send(sms())).rejects.toMatchObject({ transient, message });
  });

  it('classifies HTTP 429 and 5xx as transient and 401 as permanent; an unreachable API is transient', async () => {
    api.reply(() => ({ status: 429, headers: { 'retry-after': '1' }, body: {} }));
    await expect(new VonageAdapter().send(sms())).rejects.toMatchObject({ transient: true, retryAfterMs: 1000, statusCode: 429 });
    api.reply(() => ({ status: 502, body: 'bad gateway' }));
    await expect(new VonageAdapter().send(sms())).rejects.toMatchObject({ transient: true, statusCode: 502 });
    api.reply(() => ({ status: 401, body: { type: 'https://developer.nexmo.com/api-errors#unauthorized' } }));
    await expect(new VonageAdapter().send(sms())).rejects.toMatchObject({ transient: false, statusCode: 401 });
    const down = new VonageAdapter().send({ ...sms(), settings: { ...settings, api_url: `http://127.0.0.1:${await closedPort()}` } });
    await expect(down).rejects.toMatchObject({ transient: true, message: 'vonage unreachable (ECONNREFUSED)' });
  });

  it('refuses a recipient that is not a phone number, permanently and without a call', async () => {
    await expect(new VonageAdapter().send(sms({}, 'ada@example.test'))).rejects.toMatchObject({
      transient: false,
      message: 'vonage: the address is not a phone number',
    });
    expect(api.requests).toHaveLength(0);
  });
});

describe('contract: the official @vonage/server-sdk makes the same request', () => {
  it('agrees on method, path, auth scheme and body fields', async () => {
    const vonage = new Vonage({ apiKey: settings.api_key, apiSecret: settings.api_secret }, { restHost: api.url });
    const vendor = async () => {
      const sent = await vonage.sms.send({
        from: 'Acme',
        to: '447700900001',
        text: 'Your code is 1234',
        clientRef: '1700000000000-msg1',
        callback: 'https://hooks.example.test/vonage?courier_message_id=1700000000000-msg1',
      });
      expect(sent.messages[0].messageId).toBe('0A0000001234ABCD');
    };
    const { ours } = await contractCase({
      api,
      vendor,
      ours: () => new VonageAdapter().send(sms({ status_callback_url: 'https://hooks.example.test/vonage' })),
      headers: ['authorization', 'content-type'],
    });
    expect(ours[0].headers.authorization).toMatch(/^Basic /);
  });
});
