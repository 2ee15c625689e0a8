import { mailgunEvent, postmarkEvent, sendgridEvents, sesEvent, twilioEvent, vonageEvent, type ProviderEvent } from '../../../lambdas/domain/provider-events';
import { eventAddress, normalizeAddress, parseSuppressOn, suppressionFor } from '../../../lambdas/domain/suppressions';
import { parseConfig } from '../../../lambdas/shared/settings';

const NOW = 1_800_000_000_000;

describe('normalizeAddress', () => {
  it.each<['email' | 'sms', string, string | undefined]>([
    ['email', 'Ada@Example.COM', 'ada@example.com'],
    ['email', '  ada@example.com \n', 'ada@example.com'],
    ['email', 'Ada Lovelace <ADA@example.com>', 'ada@example.com'],
    ['email', 'not-an-email', undefined],
    ['email', 'a b@example.com', undefined],
    ['email', 'a@b@example.com', undefined],
    ['email', '@example.com', undefined],
    ['email', `${'a'.repeat(250)}@b.co`, undefined],
    ['sms', '+15550001111', '+15550001111'],
    ['sms', ' +1 (555) 000-1111 ', '+15550001111'],
    ['sms', '+44.20.7946.0958', '+442079460958'],
    ['sms', '15550001111', undefined],
    ['sms', '+0123456789', undefined],
    ['sms', '+1234567', undefined],
    ['sms', '+1234567890123456', undefined],
    ['sms', '+1555abc1111', undefined],
  ])('%s %j -> %j', (channel, raw, expected) => expect(normalizeAddress(channel, raw)).toBe(expected));
});

describe('SUPPRESS_ON', () => {
  it.each<[string, unknown]>([
    ['hard_bounce,complaint', ['hard_bounce', 'complaint']],
    [' complaint ', ['complaint']],
    ['hard_bounce,hard_bounce', ['hard_bounce']],
    ['', []],
    ['bounce', '"bounce" is not hard_bounce or complaint'],
  ])('%j -> %j', (text, expected) => expect(parseSuppressOn(text)).toEqual(expected));

  it('defaults to both, and a wrong value fails the configuration', () => {
    expect(parseConfig({ TABLE_NAME: 't' }).SUPPRESS_ON).toEqual(['hard_bounce', 'complaint']);
    expect(parseConfig({ TABLE_NAME: 't', SUPPRESS_ON: '' }).SUPPRESS_ON).toEqual([]);
    expect(() => parseConfig({ TABLE_NAME: 't', SUPPRESS_ON: 'soft_bounce' })).toThrow(/SUPPRESS_ON/);
  });
});

/** What each vendor's events ask of the list: a hard bounce and a complaint suppress, soft and transient failures and failures of the message (not the address) do not. */
describe('which provider events suppress', () => {
  const ses = (m: Record<string, unknown>) => sesEvent({ mail: { tags: { courier_message_id: ['m1'] } }, ...m }, NOW);
  const sg = (e: Record<string, unknown>) => sendgridEvents([{ courier_message_id: 'm1', timestamp: 1_800_000_000, ...e }], NOW)[0];
  const mg = (d: Record<string, unknown>) => mailgunEvent({ 'event-data': { 'user-variables': { courier_message_id: 'm1' }, ...d } }, NOW);
  const pm = (b: Record<string, unknown>) => postmarkEvent({ Metadata: { courier_message_id: 'm1' }, ...b }, NOW);
  const tw = (p: Record<string, string>) => twilioEvent(p, 'm1', NOW);
  const vn = (p: Record<string, string>) => vonageEvent({ 'client-ref': 'm1', ...p }, NOW);

  it.each<[string, ProviderEvent, 'hard_bounce' | 'complaint' | undefined]>([
    ['SES Permanent bounce', ses({ eventType: 'Bounce', bounce: { bounceType: 'Permanent', bounceSubType: 'General' } }), 'hard_bounce'],
    ['SES Transient bounce', ses({ eventType: 'Bounce', bounce: { bounceType: 'Transient' } }), undefined],
    ['SES Undetermined bounce', ses({ eventType: 'Bounce', bounce: { bounceType: 'Undetermined' } }), undefined],
    ['SES Complaint', ses({ eventType: 'Complaint', complaint: {} }), 'complaint'],
    ['SES Delivery', ses({ eventType: 'Delivery', delivery: {} }), undefined],
    ['SendGrid bounce', sg({ event: 'bounce', type: 'bounce' }), 'hard_bounce'],
    ['SendGrid bounce without a type', sg({ event: 'bounce' }), 'hard_bounce'],
    ['SendGrid blocked', sg({ event: 'bounce', type: 'blocked' }), undefined],
    ['SendGrid dropped', sg({ event: 'dropped', reason: 'Bounced Address' }), undefined],
    ['SendGrid deferred', sg({ event: 'deferred' }), undefined],
    ['SendGrid spamreport', sg({ event: 'spamreport' }), 'complaint'],
    ['Mailgun permanent failure', mg({ event: 'failed', severity: 'permanent', reason: 'bounce' }), 'hard_bounce'],
    ['Mailgun permanent failure, ESP block', mg({ event: 'failed', severity: 'permanent', reason: 'espblock' }), undefined],
    ['Mailgun permanent failure, too old', mg({ event: 'failed', severity: 'permanent', reason: 'old' }), undefined],
    ['Mailgun temporary failure', mg({ event: 'failed', severity: 'temporary' }), undefined],
    ['Mailgun complained', mg({ event: 'complained' }), 'complaint'],
    ['Postmark HardBounce', pm({ RecordType: 'Bounce', Type: 'HardBounce' }), 'hard_bounce'],
    ['Postmark BadEmailAddress', pm({ RecordType: 'Bounce', Type: 'BadEmailAddress' }), 'hard_bounce'],
    ['Postmark Blocked', pm({ RecordType: 'Bounce', Type: 'Blocked' }), undefined],
    ['Postmark DMARCPolicy', pm({ RecordType: 'Bounce', Type: 'DMARCPolicy' }), undefined],
    ['Postmark SoftBounce', pm({ RecordType: 'Bounce', Type: 'SoftBounce' }), undefined],
    ['Postmark SpamComplaint', pm({ RecordType: 'SpamComplaint' }), 'complaint'],
    ['Twilio failed 30005 (unknown handset)', tw({ MessageStatus: 'failed', ErrorCode: '30005' }), 'hard_bounce'],
    ['Twilio undelivered 30006 (landline)', tw({ MessageStatus: 'undelivered', ErrorCode: '30006' }), 'hard_bounce'],
    ['Twilio undelivered 30003 (handset off)', tw({ MessageStatus: 'undelivered', ErrorCode: '30003' }), undefined],
    ['Twilio failed without a code', tw({ MessageStatus: 'failed' }), undefined],
    ['Vonage failed 3 (absent subscriber, permanent)', vn({ status: 'failed', 'err-code': '3' }), 'hard_bounce'],
    ['Vonage rejected 9 (illegal number)', vn({ status: 'rejected', 'err-code': '9' }), 'hard_bounce'],
    ['Vonage expired 2 (absent subscriber, temporary)', vn({ status: 'expired', 'err-code': '2' }), undefined],
  ])('%s', (_name, out, expected) => {
    expect(out.event?.suppress).toBe(expected);
    // An event not tracked (a transient bounce) suppresses nothing either.
    expect(out.event && suppressionFor(out.event, ['hard_bounce', 'complaint'])).toBe(expected);
    if (expected) expect(out.event?.kind).toBe('UNDELIVERABLE');
  });

  it('SUPPRESS_ON chooses which of them suppress', () => {
    const bounce = { kind: 'UNDELIVERABLE' as const, suppress: 'hard_bounce' as const };
    const complaint = { kind: 'UNDELIVERABLE' as const, suppress: 'complaint' as const };
    expect([suppressionFor(bounce, ['complaint']), suppressionFor(complaint, ['complaint'])]).toEqual([undefined, 'complaint']);
    expect([suppressionFor(bounce, []), suppressionFor(complaint, [])]).toEqual([undefined, undefined]);
    expect(suppressionFor({ kind: 'DELIVERED', suppress: 'hard_bounce' }, ['hard_bounce'])).toBeUndefined();
  });
});

describe('eventAddress', () => {
  const channels = {
    email: { state: 'sent', provider: 'smtp', address: 'a@example.com' },
    'email:sendgrid': { state: 'delivered', provider: 'sendgrid', address: 'b@example.com' },
    sms: { state: 'sent', provider: 'twilio', address: '+15550001111' },
    push: { state: 'sent', provider: 'firebase-fcm' },
  };
  it.each<[string, Record<string, { state: string; provider?: string; address?: string }>, unknown]>([
    ['sendgrid', channels, { channel: 'email', address: 'b@example.com' }],
    ['ses', channels, { channel: 'email', address: 'a@example.com' }],
    ['vonage', channels, { channel: 'sms', address: '+15550001111' }],
    ['twilio', { sms: { state: 'failed', provider: 'twilio', address: '+15550001111' } }, undefined],
    ['postmark', { email: { state: 'sent', provider: 'postmark' } }, undefined],
    ['firebase-fcm', channels, undefined],
  ])('%s in %j', (provider, states, expected) => expect(eventAddress(states, provider)).toEqual(expected));
});
