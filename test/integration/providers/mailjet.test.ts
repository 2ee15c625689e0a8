import './allow-private-egress';
import Mailjet, { Request } from 'node-mailjet';
import { MailjetAdapter } from '../../../lambdas/providers/mailjet';
import { fullEmail } from './email-fixtures';
import { contractCase, sendOf, startRecorder, type Recorder } from './recorder';

/**
 * Mailjet's Send API v3.1 against a local fake. The contract test points node-mailjet at the same
 * fake through its `config.host`; the client always builds `https://` URLs (the static
 * `Request.protocol`, not in its typings), which the test sets to `http://` for the local fake.
 */
let api: Recorder;
beforeAll(async () => {
  api = await startRecorder();
});
afterAll(() => api?.close());
const success = {
  Messages: [
    {
      Status: 'success',
      CustomID: '1700000000000abc.x1y2z3',
      To: [{ Email: 'ada@example.test', MessageUUID: 'uuid-1', MessageID: 288230376151711740, MessageHref: 'https://api.mailjet.com/v3/REST/message/1' }],
    },
  ],
};
beforeEach(() => {
  api.requests.length = 0;
  api.reply(() => ({ status: 200, body: success }));
});
const settings = () => ({ api_key: 'mj-key', api_secret: 'mj-secret', from: 'noreply@example.test', api_url: api.url });

const EXPECTED = {
  Messages: [
    {
      From: { Email: 'shop@example.test', Name: 'Shop' },
      To: [{ Email: 'ada@example.test', Name: 'Ada Lovelace' }],
      Cc: [{ Email: 'cc@example.test' }],
      Bcc: [{ Email: 'bcc@example.test' }],
      ReplyTo: { Email: 'help@example.test' },
      Subject: 'Your order',
      TextPart: 'It shipped.',
      HTMLPart: '<p>It shipped.</p>',
      Attachments: [{ ContentType: 'text/plain', Filename: 'a.txt', Base64Content: 'aGVsbG8=' }],
      Headers: { 'X-Campaign': 'c1', 'X-Courier-Message-Id': '1700000000000abc.x1y2z3' },
      CustomID: '1700000000000abc.x1y2z3',
      EventPayload: '{"courier_message_id":"1700000000000abc.x1y2z3"}',
    },
  ],
};

describe('mailjet adapter', () => {
  it('posts /v3.1/send with Basic key:secret, our message id as CustomID and in EventPayload; the MessageID is the provider id', async () => {
    const result = await new MailjetAdapter().send(fullEmail(settings()));
    expect(result).toEqual({ providerMessageId: '288230376151711740', status: 'SENT' });
    const [req] = api.requests;
    expect([req.method, req.path, req.headers.authorization]).toEqual(['POST', '/v3.1/send', `Basic ${Buffer.from('mj-key:mj-secret').toString('base64')}`]);
    expect(JSON.parse(req.body)).toEqual(EXPECTED);
  });

  it('refuses several reply-to addresses without a call (Mailjet takes one) and merges providers.mailjet.override', async () => {
    await expect(new MailjetAdapter().send(fullEmail(settings(), { email: { replyTo: ['a@example.test', 'b@example.test'] } }))).rejects.toMatchObject({
      transient: false,
      message: 'mailjet: Mailjet takes one reply-to address',
    });
    expect(api.requests).toHaveLength(0);
    await new MailjetAdapter().send({ ...sendOf({ settings: settings() }), override: { body: { SandboxMode: true }, headers: { 'x-a': '1' } } });
    expect(api.requests[0].headers['x-a']).toBe('1');
    expect(JSON.parse(api.requests[0].body)).toMatchObject({ SandboxMode: true, Messages: [{ To: [{ Email: 'ada@example.test' }] }] });
  });

  it('classifies: mj-0013 on To an invalid address, other 400s permanent, 429 and 5xx transient', async () => {
    const error = (code: string, related: string[]) => ({
      Messages: [{ Status: 'error', Errors: [{ ErrorIdentifier: 'e1', ErrorCode: code, StatusCode: 400, ErrorMessage: 'x', ErrorRelatedTo: related }] }],
    });
    api.reply(() => ({ status: 400, body: error('mj-0013', ['To[0].Email']) }));
    await expect(new MailjetAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({
      transient: false,
      message: 'mailjet: the recipient address was refused (mj-0013)',
    });
    api.reply(() => ({ status: 400, body: error('mj-0013', ['From.Email']) }));
    await expect(new MailjetAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({
      transient: false,
      message: 'mailjet answered 400 (mj-0013)',
    });
    api.reply(() => ({ status: 429, body: { ErrorMessage: 'Too many requests' } }));
    await expect(new MailjetAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({ transient: true, statusCode: 429 });
    api.reply(() => ({ status: 500, body: 'error' }));
    await expect(new MailjetAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({ transient: true, statusCode: 500 });
    api.reply(() => ({ status: 401, body: { ErrorMessage: 'API key authentication/authorization failure' } }));
    await expect(new MailjetAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({ transient: false, statusCode: 401 });
  });
});

describe('contract: node-mailjet against the same fake', () => {
  it('sends the same method, path, auth scheme and body fields as the adapter', async () => {
    const statics = Request as unknown as { protocol: string };
    const vendor = async () => {
      const protocol = statics.protocol;
      statics.protocol = 'http://';
      try {
        const mailjet = new Mailjet({ apiKey: 'mj-key', apiSecret: 'mj-secret', config: { host: api.url.replace(/^http:\/\//, '') } });
        await mailjet.post('send', { version: 'v3.1' }).request(EXPECTED);
      } finally {
        statics.protocol = protocol;
      }
    };
    await contractCase({ api, vendor, ours: () => new MailjetAdapter().send(fullEmail(settings())) });
  });
});
