import './allow-private-egress';
import Telnyx from 'telnyx';
import { TelnyxAdapter } from '../../../lambdas/providers/telnyx';
import { contractCase, closedPort, startRecorder, sendOf, type Recorder } from './recorder';

/**
 * The Telnyx adapter against a stand-in Messaging API v2, and the contract test: the official
 * `telnyx` client, its `baseURL` set to the stand-in, makes the same call as the adapter (method,
 * path, Bearer auth, JSON body).
 */
let api: Recorder;
beforeAll(async () => {
  api = await startRecorder();
});
afterAll(() => api?.close());
const sent = { status: 200, body: { data: { id: '40385f64-5717-4562-b3fc-2c963f66afa6', record_type: 'message', type: 'SMS' } } };
beforeEach(() => {
  api.requests.length = 0;
  api.reply(() => sent);
});

const settings = { api_key: 'KEY0123456789ABCDEF_telnyx', from: '+13125550000' };
const sms = (over: Record<string, unknown> = {}, address = '+1 312 555 0001') =>
  sendOf({
    channel: 'sms',
    messageId: '1700000000000-msg1',
    idempotencyKey: '1700000000000-msg1:sms',
    address,
    content: { channel: 'sms', body: 'Your code is 1234' },
    settings: { api_url: api.url, ...settings, ...over },
  });

describe('telnyx adapter against a stand-in Messaging API v2', () => {
  it('posts JSON to /v2/messages with Bearer auth and the webhook_url carrying our message id', async () => {
    const result = await new TelnyxAdapter().send(sms({ status_callback_url: 'https://hooks.example.test/telnyx', messaging_profile_id: 'mp-1' }));
    expect(result).toEqual({ status: 'SENT', providerMessageId: '40385f64-5717-4562-b3fc-2c963f66afa6' });
    const [req] = api.requests;
    expect([req.method, req.path, req.headers.authorization, req.headers['content-type']]).toEqual([
      'POST',
      '/v2/messages',
      'Bearer KEY0123456789ABCDEF_telnyx',
      'application/json',
    ]);
    expect(JSON.parse(req.body)).toEqual({
      from: '+13125550000',
      messaging_profile_id: 'mp-1',
      to: '+13125550001',
      text: 'Your code is 1234',
      webhook_url: 'https://hooks.example.test/telnyx?courier_message_id=1700000000000-msg1',
    });
  });

  it('merges providers.telnyx.override: body deep-merged, headers and query on the call', async () => {
    await new TelnyxAdapter().send({
      ...sms(),
      override: { body: { type: 'MMS', media_urls: ['https://x.test/a.png'] }, headers: { 'x-audit': 'a1' }, query: { v: '2' } },
    });
    const [req] = api.requests;
    expect([req.path, req.headers['x-audit']]).toEqual(['/v2/messages?v=2', 'a1']);
    expect(JSON.parse(req.body)).toMatchObject({ type: 'MMS', media_urls: ['https://x.test/a.png'], text: 'Your code is 1234' });
  });

  it.each([
    [400, '40310', false, 'telnyx answered 400 (code 40310: invalid recipient)'],
    [422, '10016', false, 'telnyx answered 422 (code 10016: invalid recipient)'],
    [401, '10009', false, 'telnyx answered 401 (code 10009)'],
    [429, '10011', true, 'telnyx answered 429 (code 10011)'],
    [400, '40011', true, 'telnyx answered 400 (code 40011)'],
    [500, '10007', true, 'telnyx answered 500 (code 10007)'],
  ])('classifies HTTP %i with Telnyx code %s (transient: %s)', async (status, code, transient, message) => {
    api.reply(() => ({ status, body: { errors: [{ code, title: 'x', detail: 'y' }] } }));
    await expect(new TelnyxAdapter().send(sms())).rejects.toMatchObject({ transient, statusCode: status, message });
  });

  it('reports an unreachable API as transient, and refuses a recipient that is not a number without a call', async () => {
    const down = new TelnyxAdapter().send({ ...sms(), settings: { ...settings, api_url: `http://127.0.0.1:${await closedPort()}` } });
    await expect(down).rejects.toMatchObject({ transient: true, message: 'telnyx unreachable (ECONNREFUSED)' });
    await expect(new TelnyxAdapter().send(sms({}, 'ada@example.test'))).rejects.toMatchObject({
      transient: false,
      message: 'telnyx: the address is not a phone number',
    });
    expect(api.requests).toHaveLength(0);
  });
});

describe('contract: the official telnyx client makes the same request', () => {
  it('agrees on method, path, auth scheme and body fields', async () => {
    const client = new Telnyx({ apiKey: settings.api_key, baseURL: `${api.url}/v2`, maxRetries: 0 });
    const vendor = async () => {
      const viaSdk = await client.messages.send({
        from: '+13125550000',
        to: '+13125550001',
        text: 'Your code is 1234',
        webhook_url: 'https://hooks.example.test/telnyx?courier_message_id=1700000000000-msg1',
      });
      expect(viaSdk.data?.id).toBe('40385f64-5717-4562-b3fc-2c963f66afa6');
    };
    await contractCase({
      api,
      vendor,
      ours: () => new TelnyxAdapter().send(sms({ status_callback_url: 'https://hooks.example.test/telnyx' })),
      headers: ['authorization', 'content-type'],
    });
  });
});
