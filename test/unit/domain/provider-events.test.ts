import { createHash, createHmac } from 'node:crypto';
import {
  basicCredentialsValid,
  mailgunEvent,
  postmarkEvent,
  ProviderBodyError,
  sendgridEvents,
  sesEvent,
  snsCertUrlAllowed,
  snsStringToSign,
  twilioEvent,
  twilioSignature,
  vonageEvent,
  vonageSignature,
  type SnsMessage,
} from '../../../lambdas/domain/provider-events';

const NOW = 1_800_000_000_000;
const ses = (eventType: string, extra: Record<string, unknown> = {}) => ({ eventType, mail: { tags: { courier_message_id: ['m1'] } }, ...extra });

describe('SES events', () => {
  it.each<[string, unknown, unknown]>([
    ['Delivery', ses('Delivery', { delivery: { timestamp: '2027-01-01T00:00:00.000Z' } }), { kind: 'DELIVERED', at: Date.parse('2027-01-01T00:00:00.000Z') }],
    ['Open', ses('Open', { open: { timestamp: '2027-01-01T00:00:01.000Z' } }), { kind: 'OPENED' }],
    ['Click', ses('Click', { click: {} }), { kind: 'CLICKED', at: NOW }],
    [
      'Permanent bounce',
      ses('Bounce', { bounce: { bounceType: 'Permanent', bounceSubType: 'NoEmail' } }),
      { kind: 'UNDELIVERABLE', reason: 'BOUNCED', detail: 'bounce: Permanent/NoEmail' },
    ],
    ['Transient bounce', ses('Bounce', { bounce: { bounceType: 'Transient' } }), undefined],
    [
      'Complaint',
      ses('Complaint', { complaint: { complaintFeedbackType: 'abuse' } }),
      { kind: 'UNDELIVERABLE', reason: 'UNSUBSCRIBED', detail: 'complaint: abuse' },
    ],
    [
      'notificationType (SES notifications)',
      { notificationType: 'Delivery', mail: { tags: { courier_message_id: ['m1'] } }, delivery: {} },
      { kind: 'DELIVERED' },
    ],
    ['Send', ses('Send'), undefined],
  ])('%s', (_n, message, expected) => {
    const out = sesEvent(message, NOW);
    expect(out.messageId).toBe('m1');
    if (expected === undefined) expect(out.event).toBeUndefined();
    else expect(out.event).toMatchObject({ provider: 'ses', ...(expected as object) });
  });

  it('has no message id without the tag', () => expect(sesEvent({ eventType: 'Delivery', mail: {} }, NOW).messageId).toBeUndefined());
});

describe('SNS', () => {
  it.each<[string, boolean]>([
    ['https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem', true],
    ['https://sns.cn-north-1.amazonaws.com.cn/x.pem', true],
    ['http://sns.us-east-1.amazonaws.com/x.pem', false],
    ['https://sns.us-east-1.amazonaws.com:8443/x.pem', false],
    ['https://sns.us-east-1.amazonaws.com.evil.test/x.pem', false],
    ['https://evil.test/sns.us-east-1.amazonaws.com/x.pem', false],
    ['https://sns.us-east-1.amazonaws.com/x.txt', false],
    ['not a url', false],
    ['http://127.0.0.1:9/cert.pem', false],
  ])('certificate URL %s: %s', (url, allowed) => expect(snsCertUrlAllowed(url)).toBe(allowed));

  it('allows the tests origin only when it is set', () => expect(snsCertUrlAllowed('http://127.0.0.1:9/cert.pem', 'http://127.0.0.1:9')).toBe(true));

  it('signs the fields SNS documents, in order, Subject only when present', () => {
    const m = { Type: 'Notification', MessageId: 'id', TopicArn: 'arn', Message: 'msg', Timestamp: 't' } as SnsMessage;
    expect(snsStringToSign(m)).toBe('Message\nmsg\nMessageId\nid\nTimestamp\nt\nTopicArn\narn\nType\nNotification\n');
    expect(snsStringToSign({ ...m, Subject: 's' })).toBe('Message\nmsg\nMessageId\nid\nSubject\ns\nTimestamp\nt\nTopicArn\narn\nType\nNotification\n');
    const c = { ...m, Type: 'SubscriptionConfirmation', SubscribeURL: 'u', Token: 'k' };
    expect(snsStringToSign(c)).toBe('Message\nmsg\nMessageId\nid\nSubscribeURL\nu\nTimestamp\nt\nToken\nk\nTopicArn\narn\nType\nSubscriptionConfirmation\n');
  });
});

describe('SendGrid, Mailgun, Postmark events', () => {
  it.each<[string, string, unknown]>([
    ['delivered', 'DELIVERED', {}],
    ['open', 'OPENED', {}],
    ['click', 'CLICKED', {}],
    ['bounce', 'UNDELIVERABLE', { reason: 'BOUNCED' }],
    ['dropped', 'UNDELIVERABLE', { reason: 'BOUNCED' }],
    ['spamreport', 'UNDELIVERABLE', { reason: 'UNSUBSCRIBED' }],
  ])('sendgrid %s', (event, kind, extra) =>
    expect(sendgridEvents([{ event, timestamp: 1_800_000_000, courier_message_id: 'm1' }], NOW)[0]).toEqual({
      messageId: 'm1',
      event: expect.objectContaining({ kind, at: 1_800_000_000_000, provider: 'sendgrid', ...(extra as object) }),
    }),
  );

  it('sendgrid: deferred and processed are not tracked; a body that is not an array is refused', () => {
    expect(sendgridEvents([{ event: 'deferred' }, { event: 'processed' }], NOW).map((e) => e.event)).toEqual([undefined, undefined]);
    expect(() => sendgridEvents({}, NOW)).toThrow(ProviderBodyError);
  });

  it.each<[Record<string, unknown>, string | undefined]>([
    [{ event: 'delivered' }, 'DELIVERED'],
    [{ event: 'opened' }, 'OPENED'],
    [{ event: 'clicked' }, 'CLICKED'],
    [{ event: 'failed', severity: 'permanent' }, 'UNDELIVERABLE'],
    [{ event: 'failed', severity: 'temporary' }, undefined],
    [{ event: 'complained' }, 'UNDELIVERABLE'],
    [{ event: 'accepted' }, undefined],
  ])('mailgun %o', (d, kind) => {
    const out = mailgunEvent({ 'event-data': { ...d, timestamp: 1_800_000_000.5, 'user-variables': { courier_message_id: 'm1' } } }, NOW);
    expect(out.messageId).toBe('m1');
    expect(out.event?.kind).toBe(kind);
    if (kind) expect(out.event?.at).toBe(1_800_000_000_500);
  });

  it.each<[Record<string, unknown>, string | undefined]>([
    [{ RecordType: 'Delivery', DeliveredAt: '2027-01-01T00:00:00Z' }, 'DELIVERED'],
    [{ RecordType: 'Open' }, 'OPENED'],
    [{ RecordType: 'Click' }, 'CLICKED'],
    [{ RecordType: 'Bounce', Type: 'HardBounce' }, 'UNDELIVERABLE'],
    [{ RecordType: 'Bounce', Type: 'SoftBounce' }, undefined],
    [{ RecordType: 'SpamComplaint' }, 'UNDELIVERABLE'],
    [{ RecordType: 'SubscriptionChange' }, undefined],
  ])('postmark %o', (b, kind) => expect(postmarkEvent({ ...b, Metadata: { courier_message_id: 'm1' } }, NOW).event?.kind).toBe(kind));

  it('basic credentials: exact user:password only', () => {
    const basic = (c: string) => `Basic ${Buffer.from(c).toString('base64')}`;
    expect(basicCredentialsValid('u:p', basic('u:p'))).toBe(true);
    expect(basicCredentialsValid('u:p', basic('u:q'))).toBe(false);
    expect(basicCredentialsValid('u:p', 'Bearer x')).toBe(false);
    expect(basicCredentialsValid('u:p', undefined)).toBe(false);
  });
});

describe('Twilio and Vonage', () => {
  it('twilio signs the URL then each parameter name and value, sorted by name', () => {
    const expected = createHmac('sha1', 'tok').update('https://h/p?x=1a1b2').digest('base64');
    expect(twilioSignature('tok', 'https://h/p?x=1', { b: '2', a: '1' })).toBe(expected);
  });

  it.each<[string, string | undefined]>([
    ['delivered', 'DELIVERED'],
    ['read', 'OPENED'],
    ['undelivered', 'UNDELIVERABLE'],
    ['failed', 'UNDELIVERABLE'],
    ['sent', undefined],
    ['queued', undefined],
  ])('twilio %s', (status, kind) => expect(twilioEvent({ MessageStatus: status }, 'm1', NOW).event?.kind).toBe(kind));

  it('vonage signs the sorted parameters but sig, & and = in values replaced, md5hash or HMAC', () => {
    const params = { b: 'x=y', a: '1&2', sig: 'ignored' };
    expect(vonageSignature('s', params, 'md5hash')).toBe(createHash('md5').update('&a=1_2&b=x_ys').digest('hex'));
    expect(vonageSignature('s', params, 'sha256')).toBe(createHmac('sha256', 's').update('&a=1_2&b=x_y').digest('hex'));
  });

  it.each<[string, string | undefined]>([
    ['delivered', 'DELIVERED'],
    ['failed', 'UNDELIVERABLE'],
    ['rejected', 'UNDELIVERABLE'],
    ['expired', 'UNDELIVERABLE'],
    ['accepted', undefined],
    ['buffered', undefined],
  ])('vonage %s', (status, kind) => {
    const out = vonageEvent({ status, 'client-ref': 'm1', 'message-timestamp': '2027-01-01 00:00:00' }, NOW);
    expect([out.messageId, out.event?.kind]).toEqual(['m1', kind]);
    if (kind) expect(out.event?.at).toBe(Date.parse('2027-01-01T00:00:00Z'));
  });
});
