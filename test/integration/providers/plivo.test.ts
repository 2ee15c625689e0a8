import './allow-private-egress';
import * as plivo from 'plivo';
import { PlivoAdapter } from '../../../lambdas/providers/plivo';
import { contractCase, mediaType, closedPort, startRecorder, sendOf, type Recorder } from './recorder';

/**
 * The Plivo adapter against a stand-in Message API, and the contract test: the official `plivo`
 * client, its `url` option set to the stand-in's account URL, makes the same call as the adapter
 * (method, path, Basic auth, JSON body).
 */
let api: Recorder;
beforeAll(async () => {
  api = await startRecorder();
});
afterAll(() => api?.close());
const queued = { status: 202, body: { api_id: 'api-1', message: 'message(s) queued', message_uuid: ['db3ce55a-7f1d-11e1-8ea7-1231380bc196'] } };
beforeEach(() => {
  api.requests.length = 0;
  api.reply(() => queued);
});

const settings = { auth_id: 'MAXXXXXXXXXXXXXXXXXX', auth_token: 'plivo-auth-token', from: '+14155550000' };
const sms = (over: Record<string, unknown> = {}, address = '+1 (415) 555-0001') =>
  sendOf({
    channel: 'sms',
    messageId: '1700000000000-msg1',
    idempotencyKey: '1700000000000-msg1:sms',
    address,
    content: { channel: 'sms', body: 'Your code is 1234' },
    settings: { api_url: api.url, ...settings, ...over },
  });
const basic = `Basic ${Buffer.from('MAXXXXXXXXXXXXXXXXXX:plivo-auth-token').toString('base64')}`;

describe('plivo adapter against a stand-in Message API', () => {
  it('posts JSON to /v1/Account/{auth_id}/Message/ with Basic auth and the status url carrying our message id', async () => {
    const result = await new PlivoAdapter().send(sms({ status_callback_url: 'https://hooks.example.test/plivo' }));
    expect(result).toEqual({ status: 'SENT', providerMessageId: 'db3ce55a-7f1d-11e1-8ea7-1231380bc196' });
    const [req] = api.requests;
    expect([req.method, req.path, req.headers.authorization, req.headers['content-type']]).toEqual([
      'POST',
      '/v1/Account/MAXXXXXXXXXXXXXXXXXX/Message/',
      basic,
      'application/json',
    ]);
    expect(JSON.parse(req.body)).toEqual({
      src: '+14155550000',
      dst: '+14155550001',
      text: 'Your code is 1234',
      url: 'https://hooks.example.test/plivo?courier_message_id=1700000000000-msg1',
      method: 'POST',
    });
  });

  it('sends through a Powerpack instead of src when the settings name one', async () => {
    await new PlivoAdapter().send(sms({ powerpack_uuid: 'pp-1' }));
    expect(JSON.parse(api.requests[0].body)).toEqual({ powerpack_uuid: 'pp-1', dst: '+14155550001', text: 'Your code is 1234' });
  });

  it('merges providers.plivo.override: body deep-merged, headers and query on the call', async () => {
    await new PlivoAdapter().send({ ...sms(), override: { body: { log: false, type: 'sms' }, headers: { 'x-audit': 'a1' }, query: { v: '2' } } });
    const [req] = api.requests;
    expect([req.path, req.headers['x-audit']]).toEqual(['/v1/Account/MAXXXXXXXXXXXXXXXXXX/Message/?v=2', 'a1']);
    expect(JSON.parse(req.body)).toMatchObject({ log: false, type: 'sms', text: 'Your code is 1234' });
  });

  it.each([
    [400, { error: "invalid 'dst' parameter" }, false, 'plivo answered 400 (code dst: invalid recipient)'],
    [400, { error: 'src parameter not a valid number' }, false, 'plivo answered 400'],
    [401, { error: 'authentication failed' }, false, 'plivo answered 401'],
    [429, { error: 'too many requests' }, true, 'plivo answered 429'],
    [500, { error: 'server error' }, true, 'plivo answered 500'],
  ])('classifies HTTP %i %j', async (status, body, transient, message) => {
    api.reply(() => ({ status, body: { api_id: 'api-1', ...body } }));
    await expect(new PlivoAdapter().send(sms())).rejects.toMatchObject({ transient, statusCode: status, message });
  });

  it('reports an unreachable API as transient, and refuses a recipient that is not a number without a call', async () => {
    const down = new PlivoAdapter().send({ ...sms(), settings: { ...settings, api_url: `http://127.0.0.1:${await closedPort()}` } });
    await expect(down).rejects.toMatchObject({ transient: true, message: 'plivo unreachable (ECONNREFUSED)' });
    await expect(new PlivoAdapter().send(sms({}, 'ada@example.test'))).rejects.toMatchObject({
      transient: false,
      message: 'plivo: the address is not a phone number',
    });
    expect(api.requests).toHaveLength(0);
  });
});

describe('contract: the official plivo client makes the same request', () => {
  it('agrees on method, path, auth scheme and body fields', async () => {
    const client = new plivo.Client(settings.auth_id, settings.auth_token, { url: `${api.url}/v1/Account/${settings.auth_id}` });
    const vendor = async () => {
      const sent = await client.messages.create('+14155550000', '+14155550001', 'Your code is 1234', {
        url: 'https://hooks.example.test/plivo?courier_message_id=1700000000000-msg1',
        method: 'POST',
      });
      expect(sent.messageUuid).toEqual(['db3ce55a-7f1d-11e1-8ea7-1231380bc196']);
    };
    await contractCase({
      api,
      vendor,
      ours: () => new PlivoAdapter().send(sms({ status_callback_url: 'https://hooks.example.test/plivo' })),
      headers: ['authorization', ['content-type', mediaType]],
    });
  });
});
