import './allow-private-egress';
import http from 'node:http';
import https from 'node:https';
import { initClient } from 'messagebird';
import { MessageBirdAdapter } from '../../../lambdas/providers/messagebird';
import { contractCase, closedPort, startRecorder, sendOf, type Recorder } from './recorder';

/**
 * The MessageBird adapter against a stand-in SMS API, and the contract test against the official
 * `messagebird` client. That client has no base-URL option (it calls https://rest.messagebird.com
 * with `https.request`), so the contract test hands its `https.request` call to `http.request` at
 * the stand-in's host and port, leaving everything else of the request (method, path, headers,
 * body) as the client built it.
 */
let api: Recorder;
beforeAll(async () => {
  api = await startRecorder();
});
afterAll(() => api?.close());
const created = { status: 201, body: { id: 'e8077d803532c0b5937c639b60216938', reference: '1700000000000-msg1' } };
beforeEach(() => {
  api.requests.length = 0;
  api.reply(() => created);
});

const settings = { access_key: 'live_messagebird_key', originator: 'Acme' };
const sms = (over: Record<string, unknown> = {}, address = '+31 612 345 678') =>
  sendOf({
    channel: 'sms',
    messageId: '1700000000000-msg1',
    idempotencyKey: '1700000000000-msg1:sms',
    address,
    content: { channel: 'sms', body: 'Your code is 1234' },
    settings: { api_url: api.url, ...settings, ...over },
  });

describe('messagebird adapter against a stand-in SMS API', () => {
  it('posts JSON to /messages with AccessKey auth, reference our message id and the reportUrl carrying it', async () => {
    const result = await new MessageBirdAdapter().send(sms({ status_callback_url: 'https://hooks.example.test/mb' }));
    expect(result).toEqual({ status: 'SENT', providerMessageId: 'e8077d803532c0b5937c639b60216938' });
    const [req] = api.requests;
    expect([req.method, req.path, req.headers.authorization, req.headers['content-type']]).toEqual([
      'POST',
      '/messages',
      'AccessKey live_messagebird_key',
      'application/json',
    ]);
    expect(JSON.parse(req.body)).toEqual({
      originator: 'Acme',
      recipients: '31612345678',
      body: 'Your code is 1234',
      reference: '1700000000000-msg1',
      reportUrl: 'https://hooks.example.test/mb?courier_message_id=1700000000000-msg1',
    });
  });

  it('merges providers.messagebird.override: body deep-merged, headers and query on the call', async () => {
    await new MessageBirdAdapter().send({
      ...sms(),
      override: { body: { datacoding: 'unicode', validity: 3600 }, headers: { 'x-audit': 'a1' }, query: { v: '2' } },
    });
    const [req] = api.requests;
    expect([req.path, req.headers['x-audit']]).toEqual(['/messages?v=2', 'a1']);
    expect(JSON.parse(req.body)).toMatchObject({ datacoding: 'unicode', validity: 3600, reference: '1700000000000-msg1' });
  });

  it.each([
    [422, { code: 10, description: 'no (correct) recipients found', parameter: 'recipients' }, false, 'messagebird answered 422 (code 10: invalid recipient)'],
    [422, { code: 10, description: 'originator is invalid', parameter: 'originator' }, false, 'messagebird answered 422 (code 10)'],
    [401, { code: 2, description: 'Request not allowed (incorrect access_key)', parameter: null }, false, 'messagebird answered 401 (code 2)'],
    [402, { code: 25, description: 'Not enough balance', parameter: null }, false, 'messagebird answered 402 (code 25)'],
    [500, { code: 99, description: 'Internal error', parameter: null }, true, 'messagebird answered 500 (code 99)'],
    [429, { code: 21, description: 'Too many requests', parameter: null }, true, 'messagebird answered 429 (code 21)'],
  ])('classifies HTTP %i with %j', async (status, error, transient, message) => {
    api.reply(() => ({ status, body: { errors: [error] } }));
    await expect(new MessageBirdAdapter().send(sms())).rejects.toMatchObject({ transient, statusCode: status, message });
  });

  it('reports an unreachable API as transient, and refuses a recipient that is not a number without a call', async () => {
    const down = new MessageBirdAdapter().send({ ...sms(), settings: { ...settings, api_url: `http://127.0.0.1:${await closedPort()}` } });
    await expect(down).rejects.toMatchObject({ transient: true, message: 'messagebird unreachable (ECONNREFUSED)' });
    await expect(new MessageBirdAdapter().send(sms({}, 'not a number'))).rejects.toMatchObject({
      transient: false,
      message: 'messagebird: the address is not a phone number',
    });
    expect(api.requests).toHaveLength(0);
  });
});

describe('contract: the official messagebird client makes the same request', () => {
  it('agrees on method, path, auth scheme and body fields', async () => {
    const { hostname, port } = new URL(api.url);
    const vendor = async () => {
      const redirect = jest
        .spyOn(https, 'request')
        .mockImplementation(((options: https.RequestOptions) => http.request({ ...options, hostname, port })) as unknown as typeof https.request);
      try {
        const client = initClient(settings.access_key);
        const sent = await new Promise<{ id: string }>((resolve, reject) =>
          client.messages.create(
            {
              originator: 'Acme',
              recipients: ['31612345678'],
              body: 'Your code is 1234',
              reference: '1700000000000-msg1',
              reportUrl: 'https://hooks.example.test/mb?courier_message_id=1700000000000-msg1',
            } as never,
            (err: unknown, res: unknown) => (err ? reject(err as Error) : resolve(res as { id: string })),
          ),
        );
        expect(sent.id).toBe('e8077d803532c0b5937c639b60216938');
        expect(redirect).toHaveBeenCalledTimes(1);
      } finally {
        redirect.mockRestore();
      }
    };
    await contractCase({
      api,
      vendor,
      ours: () => new MessageBirdAdapter().send(sms({ status_callback_url: 'https://hooks.example.test/mb' })),
      headers: ['authorization', 'content-type'],
    });
  });
});
