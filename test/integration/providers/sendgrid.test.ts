import './allow-private-egress';
import { Client } from '@sendgrid/client';
import sgMail from '@sendgrid/mail';
import { SendgridAdapter } from '../../../lambdas/providers/sendgrid';
import { fullEmail, SDK_MESSAGE } from './email-fixtures';
import { contractCase, closedPort, sendOf, startRecorder, type Recorder } from './recorder';

/** SendGrid v3 Mail Send against a local fake; the contract test points @sendgrid/mail (its client's `baseUrl`) at the same fake. */
let api: Recorder;
beforeAll(async () => {
  api = await startRecorder();
});
afterAll(() => api?.close());
beforeEach(() => {
  api.requests.length = 0;
  api.reply(() => ({ status: 202, headers: { 'x-message-id': 'sg-123' } }));
});
const settings = () => ({ api_key: 'SG.key', from: 'noreply@example.test', api_url: api.url });

describe('sendgrid adapter', () => {
  it('posts /v3/mail/send with Bearer auth, one personalization, content, attachments, headers and our message id in custom_args', async () => {
    const result = await new SendgridAdapter().send(fullEmail(settings()));
    expect(result).toEqual({ providerMessageId: 'sg-123', status: 'SENT' });
    const [req] = api.requests;
    expect([req.method, req.path, req.headers.authorization, req.headers['content-type']]).toEqual([
      'POST',
      '/v3/mail/send',
      'Bearer SG.key',
      'application/json',
    ]);
    expect(JSON.parse(req.body)).toEqual({
      personalizations: [
        { to: [{ email: 'ada@example.test', name: 'Ada Lovelace' }], cc: [{ email: 'cc@example.test' }], bcc: [{ email: 'bcc@example.test' }] },
      ],
      from: { email: 'shop@example.test', name: 'Shop' },
      reply_to: { email: 'help@example.test' },
      subject: 'Your order',
      content: [
        { type: 'text/plain', value: 'It shipped.' },
        { type: 'text/html', value: '<p>It shipped.</p>' },
      ],
      attachments: [{ content: 'aGVsbG8=', filename: 'a.txt', type: 'text/plain', disposition: 'attachment' }],
      headers: { 'X-Campaign': 'c1', 'X-Courier-Message-Id': '1700000000000abc.x1y2z3' },
      custom_args: { courier_message_id: '1700000000000abc.x1y2z3' },
    });
  });

  it('uses the settings sender without an override, reply_to_list for several reply-to addresses', async () => {
    await new SendgridAdapter().send(sendOf({ settings: settings() }));
    expect(JSON.parse(api.requests[0].body)).toMatchObject({
      from: { email: 'noreply@example.test' },
      personalizations: [{ to: [{ email: 'ada@example.test' }] }],
    });
    await new SendgridAdapter().send(fullEmail(settings(), { email: { replyTo: ['a@example.test', 'b@example.test'] } }));
    expect(JSON.parse(api.requests[1].body).reply_to_list).toEqual([{ email: 'a@example.test' }, { email: 'b@example.test' }]);
  });

  it('merges providers.sendgrid.override: body deep-merged, headers and query on the call', async () => {
    await new SendgridAdapter().send({
      ...fullEmail(settings()),
      override: { body: { categories: ['orders'], custom_args: { tenant: 'acme' } }, headers: { 'on-behalf-of': 'sub1' }, query: { x: '1' } },
    });
    const [req] = api.requests;
    expect([req.path, req.headers['on-behalf-of']]).toEqual(['/v3/mail/send?x=1', 'sub1']);
    expect(JSON.parse(req.body)).toMatchObject({ categories: ['orders'], custom_args: { tenant: 'acme', courier_message_id: '1700000000000abc.x1y2z3' } });
  });

  it('classifies 429 and 5xx transient, a 400 about the recipient an invalid address, 401 permanent', async () => {
    api.reply(() => ({ status: 429, headers: { 'retry-after': '2' }, body: { errors: [{ message: 'too many requests' }] } }));
    await expect(new SendgridAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({ transient: true, retryAfterMs: 2000, statusCode: 429 });
    api.reply(() => ({ status: 500, body: 'oops' }));
    await expect(new SendgridAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({ transient: true, statusCode: 500 });
    api.reply(() => ({ status: 400, body: { errors: [{ message: 'Does not contain a valid address.', field: 'personalizations.0.to.0.email' }] } }));
    await expect(new SendgridAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({
      transient: false,
      message: 'sendgrid: the recipient address was refused (personalizations.0.to.0.email)',
    });
    api.reply(() => ({ status: 401, body: { errors: [{ message: 'The provided authorization grant is invalid' }] } }));
    await expect(new SendgridAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({ transient: false, statusCode: 401 });
  });

  it('reports an unreachable API as transient and refuses settings without an api_key', async () => {
    const down = new SendgridAdapter().send(sendOf({ settings: { ...settings(), api_url: `http://127.0.0.1:${await closedPort()}` } }));
    await expect(down).rejects.toMatchObject({ transient: true, message: 'sendgrid unreachable (ECONNREFUSED)' });
    await expect(new SendgridAdapter().send(sendOf({ settings: { from: 'a@example.test' } }))).rejects.toMatchObject({
      transient: false,
      message: 'sendgrid settings are invalid: settings.api_key',
    });
  });
});

describe('contract: @sendgrid/mail against the same fake', () => {
  it('sends the same method, path, auth scheme and body fields as the adapter', async () => {
    const client = new Client();
    client.setApiKey('SG.key');
    client.setDefaultRequest('baseUrl', api.url);
    sgMail.setClient(client);
    const m = SDK_MESSAGE;
    const vendor = () =>
      sgMail.send({
        to: m.to,
        cc: 'cc@example.test',
        bcc: 'bcc@example.test',
        from: m.from,
        replyTo: 'help@example.test',
        subject: m.subject,
        text: m.text,
        html: m.html,
        attachments: [{ ...m.attachment, disposition: 'attachment' }],
        headers: { 'X-Campaign': 'c1', 'X-Courier-Message-Id': m.messageId },
        customArgs: { courier_message_id: m.messageId },
      });
    await contractCase({ api, vendor, ours: () => new SendgridAdapter().send(fullEmail(settings())) });
  });
});
