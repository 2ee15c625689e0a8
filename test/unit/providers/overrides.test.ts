import type { Channel } from '../../../lambdas/domain/routing';
import { fcmMessage } from '../../../lambdas/providers/fcm';
import { capturePayload } from '../../../lambdas/providers/local-capture';
import type { ProviderSend } from '../../../lambdas/providers/port';
import { sesInput } from '../../../lambdas/providers/ses';
import { smtpMail, smtpSettingsFor } from '../../../lambdas/providers/smtp';
import { snsInput } from '../../../lambdas/providers/sns';
import { withOverride } from '../../../lambdas/providers/transport';
import { webhookRequest, webhookSignature } from '../../../lambdas/providers/webhook';

/** What each adapter builds from a channel override's envelope and a provider override (issue 15 item 3). */
function message(over: Partial<ProviderSend<'email'>>): ProviderSend<'email'>;
function message<C extends Channel>(over: Partial<ProviderSend<C>> & Pick<ProviderSend<C>, 'channel' | 'address'>): ProviderSend<C>;
function message(over: Partial<ProviderSend>): ProviderSend {
  return {
    messageId: '1700000000000-m1',
    idempotencyKey: '1700000000000-m1:email',
    channel: 'email',
    recipient: { userId: 'u1' },
    address: 'ada@example.test',
    content: { channel: 'email', subject: 'Hi', text: 'Plain', html: '<p>Plain</p>' },
    settings: {},
    timeoutMs: 1000,
    ...over,
  };
}

const envelope = {
  from: 'Billing <billing@acme.test>',
  replyTo: ['help@acme.test'],
  cc: ['c@acme.test'],
  bcc: ['b1@acme.test', 'b2@acme.test'],
  attachments: [{ filename: 'a.txt', contentType: 'text/plain', data: 'aGVsbG8=' }],
  headers: { 'X-Campaign': 'spring' },
};
const smtp = { host: 'mx.acme.test', port: 25, secure: false, from: 'Acme <no-reply@acme.test>', username: 'u', password: 'p' };

describe('smtp', () => {
  it('puts the channel override envelope on the message, the Message-ID on the overriding sender domain', () => {
    expect(smtpMail(message({ email: envelope }), smtp)).toEqual({
      from: 'Billing <billing@acme.test>',
      to: 'ada@example.test',
      replyTo: ['help@acme.test'],
      cc: ['c@acme.test'],
      bcc: ['b1@acme.test', 'b2@acme.test'],
      subject: 'Hi',
      text: 'Plain',
      html: '<p>Plain</p>',
      attachments: [{ filename: 'a.txt', content: 'aGVsbG8=', encoding: 'base64', contentType: 'text/plain' }],
      messageId: '<1700000000000-m1@acme.test>',
      headers: { 'X-Campaign': 'spring', 'X-Courier-Message-Id': '1700000000000-m1' },
    });
  });

  it("merges the provider override's body over the composed message; our message id header stays", () => {
    const mail = smtpMail(
      message({
        email: { headers: { 'X-A': '1' } },
        override: { body: { subject: 'Over', priority: 'high', headers: { 'X-B': '2', 'X-Courier-Message-Id': 'x' } } },
      }),
      smtp,
    );
    expect(mail).toMatchObject({ subject: 'Over', priority: 'high', headers: { 'X-A': '1', 'X-B': '2', 'X-Courier-Message-Id': '1700000000000-m1' } });
  });

  it.each([
    ['no config', undefined, smtp],
    ['a port on the same host keeps the credentials', { port: 2525 }, { ...smtp, port: 2525 }],
    ['another host drops the stored credentials', { host: 'other.test' }, { ...smtp, host: 'other.test', username: undefined, password: undefined }],
    ['another host with its own auth', { host: 'other.test', auth: { user: 'x', pass: 'y' } }, { ...smtp, host: 'other.test', username: 'x', password: 'y' }],
    ['secure and requireTLS', { secure: true, requireTLS: true }, { ...smtp, secure: true, require_tls: true }],
  ])('config: %s', (_, config, expected) => {
    expect(smtpSettingsFor(smtp, config)).toEqual(expected);
  });
});

describe('ses', () => {
  it('sends cc, bcc, reply-to, the overriding from, headers and attachments; the body override merges over the input', () => {
    const input = sesInput(message({ email: envelope, override: { body: { ConfigurationSetName: 'marketing', EmailTags: [{ Name: 'k', Value: 'v' }] } } }), {
      from: 'a@acme.test',
    });
    expect(input).toEqual({
      FromEmailAddress: 'Billing <billing@acme.test>',
      Destination: { ToAddresses: ['ada@example.test'], CcAddresses: ['c@acme.test'], BccAddresses: ['b1@acme.test', 'b2@acme.test'] },
      ReplyToAddresses: ['help@acme.test'],
      ConfigurationSetName: 'marketing',
      EmailTags: [{ Name: 'k', Value: 'v' }],
      Content: {
        Simple: {
          Subject: { Data: 'Hi', Charset: 'UTF-8' },
          Body: { Text: { Data: 'Plain', Charset: 'UTF-8' }, Html: { Data: '<p>Plain</p>', Charset: 'UTF-8' } },
          Headers: [
            { Name: 'X-Campaign', Value: 'spring' },
            { Name: 'X-Courier-Message-Id', Value: '1700000000000-m1' },
          ],
          Attachments: [{ FileName: 'a.txt', RawContent: Buffer.from('hello'), ContentType: 'text/plain', ContentDisposition: 'ATTACHMENT' }],
        },
      },
    });
  });
});

describe('sns', () => {
  it('takes Message and MessageAttributes from the body override', () => {
    const input = snsInput(
      message({
        channel: 'sms',
        address: '+15550100',
        content: { channel: 'sms', body: 'rendered' },
        override: { body: { Message: 'override', MessageAttributes: { 'AWS.SNS.SMS.MaxPrice': { DataType: 'Number', StringValue: '0.5' } } } },
      }),
      { sms_type: 'Transactional' },
    );
    expect(input).toEqual({
      PhoneNumber: '+15550100',
      Message: 'override',
      MessageAttributes: {
        'AWS.SNS.SMS.SMSType': { DataType: 'String', StringValue: 'Transactional' },
        'AWS.SNS.SMS.MaxPrice': { DataType: 'Number', StringValue: '0.5' },
      },
    });
  });
});

describe('push', () => {
  const push = (over: Partial<ProviderSend<'push'>>) =>
    message({ channel: 'push', address: { firebaseToken: 't1' }, content: { channel: 'push', title: 'T', body: 'B' }, ...over });

  it("fcm: the channel override's data with our message id, the body override deep-merged into `message`", () => {
    expect(fcmMessage('t1', push({ data: { order: '7' }, override: { body: { notification: { title: 'New' }, android: { priority: 'high' } } } }))).toEqual({
      message: {
        token: 't1',
        notification: { title: 'New', body: 'B' },
        data: { order: '7', messageId: '1700000000000-m1' },
        android: { priority: 'high' },
      },
    });
  });

  it('local-capture: data and the body override in the captured content', () => {
    expect(capturePayload(push({ data: { order: '7' }, override: { body: { title: 'New', sound: 'ping' } } })).content).toEqual({
      channel: 'push',
      title: 'New',
      body: 'B',
      data: { order: '7' },
      sound: 'ping',
    });
  });
});

describe('webhook', () => {
  const hook = (override: ProviderSend['override']) =>
    webhookRequest(
      message({
        channel: 'webhook',
        address: { url: 'https://profile.test/h', headers: { 'X-P': 'p' } },
        content: { channel: 'webhook', title: 'T', body: 'B' },
        override,
      }),
      { method: 'POST', signing_secret: 'a-secret-of-16-chars' },
      1700000000,
    );

  it('goes to the override url with its query and method, its headers added, its body merged and then signed', () => {
    const req = hook({
      url: 'https://over.test/in?x=1',
      method: 'PUT',
      query: { y: '2' },
      headers: { 'X-O': 'o' },
      body: { content: { title: 'Over' }, extra: true },
    });
    expect(req.url).toBe('https://over.test/in?x=1&y=2');
    expect(req.method).toBe('PUT');
    expect(req.headers).toMatchObject({ 'x-p': 'p', 'x-o': 'o' });
    const body = JSON.parse(req.body);
    expect(body).toMatchObject({ content: { channel: 'webhook', title: 'Over' }, extra: true });
    expect(req.headers['x-courier-signature']).toBe(webhookSignature('a-secret-of-16-chars', 1700000000, req.body));
  });

  it('without an override goes where it went before', () => {
    expect(hook(undefined).url).toBe('https://profile.test/h');
  });
});

describe('withOverride (the HTTP adapters: fcm, slack, msteams)', () => {
  const call = {
    url: 'https://api.test/send?a=1',
    headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
    body: '{}',
    timeoutMs: 1,
    what: 'x',
  };
  it.each([
    ['nothing', undefined, call],
    ['query set on the url', { query: { b: '2', a: '3' } }, { ...call, url: 'https://api.test/send?a=3&b=2' }],
    ['headers added, ours win', { headers: { 'X-A': '1', Authorization: 'Bearer evil' } }, { ...call, headers: { 'X-A': '1', ...call.headers } }],
  ])('%s', (_, override, expected) => {
    expect(withOverride(call, override)).toEqual(expected);
  });
});
