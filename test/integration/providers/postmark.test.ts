import './allow-private-egress';
import { ServerClient } from 'postmark';
import { PostmarkAdapter } from '../../../lambdas/providers/postmark';
import { fullEmail, SDK_MESSAGE } from './email-fixtures';
import { contractCase, sendOf, startRecorder, type Recorder } from './recorder';

/** Postmark's email API against a local fake; the contract test points the postmark client (`useHttps: false`, `requestHost`) at the same fake. */
let api: Recorder;
beforeAll(async () => {
  api = await startRecorder();
});
afterAll(() => api?.close());
const ok = { To: 'ada@example.test', SubmittedAt: '2026-11-30T06:00:00Z', MessageID: 'pm-1', ErrorCode: 0, Message: 'OK' };
beforeEach(() => {
  api.requests.length = 0;
  api.reply(() => ({ status: 200, body: ok }));
});
const settings = (over: Record<string, unknown> = {}) => ({ server_token: 'pm-token', from: 'noreply@example.test', api_url: api.url, ...over });

describe('postmark adapter', () => {
  it('posts /email with X-Postmark-Server-Token, the message stream and our message id in Metadata', async () => {
    const result = await new PostmarkAdapter().send(fullEmail(settings({ message_stream: 'transactional' })));
    expect(result).toEqual({ providerMessageId: 'pm-1', status: 'SENT' });
    const [req] = api.requests;
    expect([req.method, req.path, req.headers['x-postmark-server-token'], req.headers.authorization]).toEqual(['POST', '/email', 'pm-token', undefined]);
    expect(JSON.parse(req.body)).toEqual({
      From: '"Shop" <shop@example.test>',
      To: '"Ada Lovelace" <ada@example.test>',
      Cc: 'cc@example.test',
      Bcc: 'bcc@example.test',
      ReplyTo: 'help@example.test',
      Subject: 'Your order',
      TextBody: 'It shipped.',
      HtmlBody: '<p>It shipped.</p>',
      Headers: [
        { Name: 'X-Campaign', Value: 'c1' },
        { Name: 'X-Courier-Message-Id', Value: '1700000000000abc.x1y2z3' },
      ],
      Attachments: [{ Name: 'a.txt', Content: 'aGVsbG8=', ContentType: 'text/plain' }],
      Metadata: { courier_message_id: '1700000000000abc.x1y2z3' },
      MessageStream: 'transactional',
    });
  });

  it('defaults the stream to outbound and merges providers.postmark.override (body, headers, query)', async () => {
    await new PostmarkAdapter().send({
      ...sendOf({ settings: settings() }),
      override: { body: { Tag: 'orders', TrackOpens: true }, headers: { 'x-a': '1' }, query: { q: '1' } },
    });
    const [req] = api.requests;
    expect([req.path, req.headers['x-a']]).toEqual(['/email?q=1', '1']);
    expect(JSON.parse(req.body)).toMatchObject({
      MessageStream: 'outbound',
      From: 'noreply@example.test',
      To: 'ada@example.test',
      Tag: 'orders',
      TrackOpens: true,
    });
  });

  it('classifies by ErrorCode: 406 (inactive recipient) an invalid address, 300 and 10 permanent, 429 and 500 transient', async () => {
    api.reply(() => ({ status: 422, body: { ErrorCode: 406, Message: 'You tried to send to a recipient that has been marked as inactive.' } }));
    await expect(new PostmarkAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({
      transient: false,
      message: 'postmark: the recipient address was refused (406)',
    });
    api.reply(() => ({ status: 422, body: { ErrorCode: 300, Message: 'Invalid email request' } }));
    await expect(new PostmarkAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({
      transient: false,
      message: 'postmark answered 422 (300)',
    });
    api.reply(() => ({ status: 401, body: { ErrorCode: 10, Message: 'Bad or missing API token' } }));
    await expect(new PostmarkAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({ transient: false, statusCode: 401 });
    api.reply(() => ({ status: 429, body: { ErrorCode: 429, Message: 'Rate limit exceeded' } }));
    await expect(new PostmarkAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({ transient: true, statusCode: 429 });
    api.reply(() => ({ status: 500, body: 'error' }));
    await expect(new PostmarkAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({ transient: true, statusCode: 500 });
  });
});

describe('contract: the postmark client against the same fake', () => {
  it('sends the same method, path, token header and body fields as the adapter', async () => {
    const client = new ServerClient('pm-token', { useHttps: false, requestHost: api.url.replace(/^http:\/\//, '') });
    const m = SDK_MESSAGE;
    const vendor = () =>
      client.sendEmail({
        From: '"Shop" <shop@example.test>',
        To: '"Ada Lovelace" <ada@example.test>',
        Cc: 'cc@example.test',
        Bcc: 'bcc@example.test',
        ReplyTo: 'help@example.test',
        Subject: m.subject,
        TextBody: m.text,
        HtmlBody: m.html,
        Headers: [
          { Name: 'X-Campaign', Value: 'c1' },
          { Name: 'X-Courier-Message-Id', Value: m.messageId },
        ],
        Attachments: [{ Name: 'a.txt', Content: m.attachment.content, ContentType: 'text/plain', ContentID: null }],
        Metadata: { courier_message_id: m.messageId },
        MessageStream: 'outbound',
      });
    await contractCase({
      api,
      vendor,
      ours: () => new PostmarkAdapter().send(fullEmail(settings())),
      headers: ['x-postmark-server-token'],
      // The client sends each attachment's ContentID as null; the adapter leaves it out.
      vendorBody: (sdk) => {
        const sdkBody = JSON.parse(sdk.body);
        sdkBody.Attachments = sdkBody.Attachments.map(({ ContentID: _, ...a }: Record<string, unknown>) => a);
        return sdkBody;
      },
    });
  });
});
