import './allow-private-egress';
import { Resend } from 'resend';
import { messageIdFromResendTag, ResendAdapter, resendTagValue } from '../../../lambdas/providers/resend';
import { fullEmail, SDK_MESSAGE } from './email-fixtures';
import { contractCase, sendOf, startRecorder, type Recorder } from './recorder';

/** Resend's emails API against a local fake; the contract test points the resend client (`baseUrl`) at the same fake. */
let api: Recorder;
beforeAll(async () => {
  api = await startRecorder();
});
afterAll(() => api?.close());
beforeEach(() => {
  api.requests.length = 0;
  api.reply(() => ({ status: 200, body: { id: 're-1' } }));
});
const settings = () => ({ api_key: 're_key', from: 'noreply@example.test', api_url: api.url });

describe('resend adapter', () => {
  it('posts /emails with Bearer auth, the idempotency key and our message id as a tag (base64url: tag values allow no dots)', async () => {
    const result = await new ResendAdapter().send(fullEmail(settings()));
    expect(result).toEqual({ providerMessageId: 're-1', status: 'SENT' });
    const [req] = api.requests;
    expect([req.method, req.path, req.headers.authorization, req.headers['idempotency-key']]).toEqual([
      'POST',
      '/emails',
      'Bearer re_key',
      '1700000000000abc.x1y2z3:email',
    ]);
    const body = JSON.parse(req.body);
    expect(body).toEqual({
      from: '"Shop" <shop@example.test>',
      to: ['"Ada Lovelace" <ada@example.test>'],
      cc: ['cc@example.test'],
      bcc: ['bcc@example.test'],
      reply_to: ['help@example.test'],
      subject: 'Your order',
      text: 'It shipped.',
      html: '<p>It shipped.</p>',
      headers: { 'X-Campaign': 'c1', 'X-Courier-Message-Id': '1700000000000abc.x1y2z3' },
      attachments: [{ filename: 'a.txt', content: 'aGVsbG8=', content_type: 'text/plain' }],
      tags: [{ name: 'courier_message_id', value: resendTagValue('1700000000000abc.x1y2z3') }],
    });
    expect(body.tags[0].value).toMatch(/^[A-Za-z0-9_-]{1,256}$/);
    expect(messageIdFromResendTag(body.tags[0].value)).toBe('1700000000000abc.x1y2z3');
  });

  it('merges providers.resend.override (body, headers, query)', async () => {
    await new ResendAdapter().send({
      ...sendOf({ settings: settings() }),
      override: { body: { scheduled_at: 'in 1 min' }, headers: { 'x-a': '1' }, query: { q: '1' } },
    });
    const [req] = api.requests;
    expect([req.path, req.headers['x-a']]).toEqual(['/emails?q=1', '1']);
    expect(JSON.parse(req.body)).toMatchObject({ scheduled_at: 'in 1 min', from: 'noreply@example.test', to: ['ada@example.test'] });
  });

  it('classifies 429 and 5xx transient, 409 concurrent_idempotent_requests transient, a validation_error on `to` an invalid address, 403 permanent', async () => {
    const fail = (status: number, name: string, message = 'x') => api.reply(() => ({ status, body: { statusCode: status, name, message } }));
    fail(429, 'rate_limit_exceeded');
    await expect(new ResendAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({ transient: true, statusCode: 429 });
    fail(500, 'application_error');
    await expect(new ResendAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({ transient: true, statusCode: 500 });
    fail(409, 'concurrent_idempotent_requests');
    await expect(new ResendAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({ transient: true, statusCode: 409 });
    fail(409, 'invalid_idempotent_request');
    await expect(new ResendAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({ transient: false, statusCode: 409 });
    fail(422, 'validation_error', 'Invalid `to` field. The email address needs to follow the `email@example.com` format.');
    await expect(new ResendAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({
      transient: false,
      message: 'resend: the recipient address was refused (validation_error)',
    });
    fail(403, 'invalid_api_key');
    await expect(new ResendAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({
      transient: false,
      message: 'resend answered 403 (invalid_api_key)',
    });
  });
});

describe('contract: the resend client against the same fake', () => {
  it('sends the same method, path, auth scheme, idempotency key and body fields as the adapter', async () => {
    const resend = new Resend('re_key', { baseUrl: api.url });
    const m = SDK_MESSAGE;
    const vendor = async () => {
      const sent = await resend.emails.send(
        {
          from: '"Shop" <shop@example.test>',
          to: ['"Ada Lovelace" <ada@example.test>'],
          cc: ['cc@example.test'],
          bcc: ['bcc@example.test'],
          replyTo: ['help@example.test'],
          subject: m.subject,
          text: m.text,
          html: m.html,
          headers: { 'X-Campaign': 'c1', 'X-Courier-Message-Id': m.messageId },
          attachments: [{ filename: 'a.txt', content: m.attachment.content, contentType: 'text/plain' }],
          tags: [{ name: 'courier_message_id', value: resendTagValue(m.messageId) }],
        },
        { idempotencyKey: `${m.messageId}:email` },
      );
      expect(sent.error).toBeNull();
    };
    await contractCase({ api, vendor, ours: () => new ResendAdapter().send(fullEmail(settings())), headers: ['authorization', 'idempotency-key'] });
  });
});
