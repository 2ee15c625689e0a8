import { generateKeyPairSync } from 'node:crypto';
import { decodeJwt } from 'jose';
import type { RenderedOutput } from '../../../lambdas/domain/render';
import type { Channel } from '../../../lambdas/domain/routing';
import { assertionClaims, fcmMessage, fcmTokens, parseServiceAccount, signAssertion } from '../../../lambdas/providers/fcm';
import { capturePayload } from '../../../lambdas/providers/local-capture';
import { teamsActivity } from '../../../lambdas/providers/msteams';
import type { ProviderSend } from '../../../lambdas/providers/port';
import { sesInput } from '../../../lambdas/providers/ses';
import { slackPayload } from '../../../lambdas/providers/slack';
import { smtpMail } from '../../../lambdas/providers/smtp';
import { snsInput } from '../../../lambdas/providers/sns';
import { webhookRequest, webhookSignature } from '../../../lambdas/providers/webhook';

/** An email by default; a message on another channel names its channel and that channel's address. */
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

describe('email payloads', () => {
  it('smtp: from, to, subject, bodies, a stable Message-ID on the sender domain, and X-Courier-Message-Id', () => {
    expect(smtpMail(message({}), { host: 'h', port: 25, secure: false, from: 'Acme <no-reply@acme.test>' })).toEqual({
      from: 'Acme <no-reply@acme.test>',
      to: 'ada@example.test',
      subject: 'Hi',
      text: 'Plain',
      html: '<p>Plain</p>',
      messageId: '<1700000000000-m1@acme.test>',
      headers: { 'X-Courier-Message-Id': '1700000000000-m1' },
    });
  });

  it('ses: Simple content without Html when there is none, and no configuration set unless configured', () => {
    const input = sesInput(message({ content: { channel: 'email', text: 'Only text' } }), { from: 'a@acme.test' });
    expect(input).toEqual({
      FromEmailAddress: 'a@acme.test',
      Destination: { ToAddresses: ['ada@example.test'] },
      ConfigurationSetName: undefined,
      // The tag SES event publishing carries back to /inbound/providers/ses.
      EmailTags: [{ Name: 'courier_message_id', Value: '1700000000000-m1' }],
      Content: {
        Simple: {
          Subject: { Data: '', Charset: 'UTF-8' },
          Body: { Text: { Data: 'Only text', Charset: 'UTF-8' } },
          Headers: [{ Name: 'X-Courier-Message-Id', Value: '1700000000000-m1' }],
        },
      },
    });
  });

  it('refuses an address that is not an email as permanent', () => {
    expect(() => smtpMail(message({ address: 'x' }), { host: 'h', port: 25, secure: false, from: 'a@b.c' })).toThrow(
      expect.objectContaining({ transient: false }),
    );
    expect(() => sesInput(message({ address: 'nobody' }), { from: 'a@b.c' })).toThrow(expect.objectContaining({ transient: false }));
  });
});

describe('sms payload', () => {
  it('sns: the phone number, the body text and the SMS attributes', () => {
    expect(
      snsInput(message({ channel: 'sms', address: '+4799999999', content: { channel: 'sms', body: 'Code 1' } }), {
        sms_type: 'Transactional',
        sender_id: 'ACME',
      }),
    ).toEqual({
      PhoneNumber: '+4799999999',
      Message: 'Code 1',
      MessageAttributes: {
        'AWS.SNS.SMS.SMSType': { DataType: 'String', StringValue: 'Transactional' },
        'AWS.SNS.SMS.SenderID': { DataType: 'String', StringValue: 'ACME' },
      },
    });
  });
});

describe('push payloads', () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const sa = {
    client_email: 'svc@p.iam.gserviceaccount.com',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    token_uri: 'https://oauth2.googleapis.com/token',
  };

  it('fcm: one v1 message per token with the title, body and message id', () => {
    expect(fcmMessage('tok-1', message({ channel: 'push', address: { firebaseToken: 'tok-1' }, content: { channel: 'push', title: 'T', body: 'B' } }))).toEqual(
      {
        message: { token: 'tok-1', notification: { title: 'T', body: 'B' }, data: { messageId: '1700000000000-m1' } },
      },
    );
  });

  it('fcm: takes one token or a list from firebaseToken, and refuses a profile without one', () => {
    expect(fcmTokens({ firebaseToken: 'a' })).toEqual(['a']);
    expect(fcmTokens({ firebaseToken: ['a', '', 'b'], apn: 'x' })).toEqual(['a', 'b']);
    expect(() => fcmTokens({ apn: 'x' })).toThrow(expect.objectContaining({ transient: false }));
  });

  it('fcm: signs the assertion Google expects, for one hour, audience the token_uri', async () => {
    const account = parseServiceAccount(JSON.stringify({ ...sa, token_uri: undefined }));
    expect(account.token_uri).toBe('https://oauth2.googleapis.com/token');
    expect(assertionClaims(account, 1_700_000_000)).toEqual({
      iss: 'svc@p.iam.gserviceaccount.com',
      scope: 'https://www.googleapis.com/auth/firebase.messaging',
      aud: 'https://oauth2.googleapis.com/token',
      iat: 1_700_000_000,
      exp: 1_700_003_600,
    });
    expect(decodeJwt(await signAssertion(account, 1_700_000_000))).toEqual(assertionClaims(account, 1_700_000_000));
  });

  it('fcm: refuses a key that is not PKCS#8 as permanent, without echoing it', async () => {
    const account = parseServiceAccount(JSON.stringify({ ...sa, private_key: 'secret-not-a-key' }));
    await expect(signAssertion(account, 0)).rejects.toThrow('firebase-fcm settings.service_account holds no usable private key');
  });
});

describe('direct message payloads', () => {
  const content: RenderedOutput = {
    channel: 'direct_message',
    title: 'T'.repeat(200),
    text: 'Hello <!channel>',
    blocks: [
      { type: 'quote', text: 'one\ntwo' },
      { type: 'action', text: 'No link' },
      { type: 'image', text: '', src: 'https://x.test/i.png' },
    ],
  };

  it('slack: escapes markup so content cannot mention anyone, quotes line by line, and cuts the header to its limit', () => {
    const payload = slackPayload('C1', content);
    expect(payload.text).toBe(`${'T'.repeat(200)}\n\nHello &lt;!channel&gt;`);
    expect(payload.blocks).toEqual([
      { type: 'header', text: { type: 'plain_text', text: `${'T'.repeat(149)}…`, emoji: true } },
      { type: 'section', text: { type: 'mrkdwn', text: '&gt; one\n&gt; two' } },
      { type: 'section', text: { type: 'mrkdwn', text: 'No link' } },
      { type: 'image', image_url: 'https://x.test/i.png', alt_text: 'image' },
    ]);
  });

  it('slack: text only when there are no blocks and no title', () => {
    expect(slackPayload('C1', { channel: 'direct_message', text: 'raw' })).toEqual({ channel: 'C1', text: 'raw' });
  });

  it('teams: a divider separates what follows; text stands in when there are no blocks', () => {
    const card = (c: RenderedOutput) => teamsActivity(c).attachments[0].content;
    expect(
      card({
        channel: 'direct_message',
        blocks: [
          { type: 'text', text: 'a' },
          { type: 'divider', text: '' },
          { type: 'quote', text: 'b' },
        ],
      }).body,
    ).toEqual([
      { type: 'TextBlock', text: 'a', wrap: true },
      { type: 'TextBlock', text: 'b', wrap: true, isSubtle: true, separator: true },
    ]);
    expect(card({ channel: 'direct_message', text: 'raw text' })).toEqual({
      $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
      type: 'AdaptiveCard',
      version: '1.4',
      body: [{ type: 'TextBlock', text: 'raw text', wrap: true }],
    });
  });
});

describe('webhook request', () => {
  const SECRET = 'whsec_0123456789abcdef';

  it('signs `${timestamp}.${rawBody}` with HMAC-SHA256 as sha256=<hex>', () => {
    // Reference value computed independently (Python hmac).
    expect(webhookSignature(SECRET, 1_700_000_000, '{"a":1}')).toBe('sha256=9f5e37cdc7ea587c7c02062d93283cad000d66a831b2a1676418696db47ed6c2');
  });

  it('builds the body, the headers and the signature over exactly the body it sends', () => {
    const content: RenderedOutput = { channel: 'webhook', title: 'T', body: 'B' };
    const req = webhookRequest(
      message({ channel: 'webhook', idempotencyKey: 'k-1', address: { url: 'https://hooks.example/x', headers: { 'X-Env': 'prod' } }, content }),
      { method: 'POST', signing_secret: SECRET },
      1_700_000_000,
    );
    expect(req).toEqual({
      url: 'https://hooks.example/x',
      method: 'POST',
      headers: {
        'x-env': 'prod',
        'content-type': 'application/json',
        'x-courier-timestamp': '1700000000',
        'x-courier-signature': webhookSignature(SECRET, 1_700_000_000, req.body),
        'idempotency-key': 'k-1',
      },
      body: JSON.stringify({
        messageId: '1700000000000-m1',
        channel: 'webhook',
        recipient: { userId: 'u1' },
        content,
        metadata: {},
        timestamp: '2023-11-14T22:13:20.000Z',
      }),
    });
  });

  it('refuses a profile url that is not http(s), and no url at all, as permanent', () => {
    expect(() => webhookRequest(message({ channel: 'webhook', address: { url: 'ftp://x.test/a' } }), { method: 'POST' }, 0)).toThrow(
      expect.objectContaining({ transient: false }),
    );
    expect(() => webhookRequest(message({ channel: 'webhook', address: {} }), { method: 'POST' }, 0)).toThrow(
      'webhook: no url in the profile and none in the settings',
    );
  });
});

describe('local capture payload', () => {
  it('carries the message id, channel, address and rendered content', () => {
    const content: RenderedOutput = { channel: 'sms', body: 'Code' };
    expect(capturePayload(message({ channel: 'sms', address: '+1555', content }))).toEqual({
      messageId: '1700000000000-m1',
      channel: 'sms',
      address: '+1555',
      content,
    });
  });
});
