import { execFileSync } from 'node:child_process';
import { createSign, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mailgunSignature, snsStringToSign, twilioSignature, vonageSignature, type SnsMessage } from '../../lambdas/domain/provider-events';
import { aUser, via } from '../helpers/builders';
import { sendAndWait } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually, uid } from '../helpers/wait';
import { startRecorder, type Recorder } from './providers/recorder';

/**
 * Provider webhooks of delivery and engagement events (issue 16): each vendor's signed request with
 * a valid, an invalid and a replayed signature, against messages sent through the local stack.
 * Keys and the SNS signing certificate are made here; the certificate is served by a local server
 * (SNS_TEST_CERT_ORIGIN, a setting for tests only).
 */
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ses-events';
const MAILGUN_KEY = 'mailgun-signing-key-for-tests';
const POSTMARK = 'postmark:credentials-for-tests';
const TWILIO_TOKEN = 'twilio-auth-token-for-the-tests';
const VONAGE_SECRET = 'vonage-signature-secret-for-tests';

const ecdsa = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const dir = mkdtempSync(join(tmpdir(), 'sns-cert-'));
execFileSync(
  'openssl',
  ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=sns.test', '-days', '2'],
  {
    stdio: 'ignore',
  },
);
const snsKey = readFileSync(join(dir, 'key.pem'), 'utf8');
const snsCert = readFileSync(join(dir, 'cert.pem'), 'utf8');

let s: TestStack;
let server: Server;
let sesApi: Recorder;
let origin: string;
const served: string[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    served.push(req.url ?? '');
    if (req.url === '/cert.pem') res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(snsCert);
    else if (req.url?.startsWith('/confirm')) res.writeHead(200).end('<ConfirmSubscriptionResponse/>');
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sesApi = await startRecorder();
  sesApi.reply(() => ({ status: 200, body: { MessageId: uid('ses') } }));
  s = await startTestStack({
    env: {
      SES_ENDPOINT: sesApi.url,
      // The SES provider configured mid-file is used by the very next send.
      CACHE_TTL_MS: '0',
      SES_EVENTS_TOPIC_ARNS: TOPIC,
      SNS_TEST_CERT_ORIGIN: origin,
      SENDGRID_WEBHOOK_VERIFICATION_KEY: ecdsa.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
      MAILGUN_WEBHOOK_SIGNING_KEY: MAILGUN_KEY,
      POSTMARK_WEBHOOK_CREDENTIALS: POSTMARK,
      TWILIO_AUTH_TOKEN: TWILIO_TOKEN,
      VONAGE_SIGNATURE_SECRET: VONAGE_SECRET,
    },
  });
});
afterAll(async () => {
  await s?.stop();
  server?.close();
  await sesApi?.close();
});

/** A message sent by email (the local SMTP server), SENT. */
async function sentEmail(): Promise<string> {
  const { messages } = await sendAndWait(s, { to: { email: `${uid('u')}@example.com` }, content: { title: 'Hi', body: 'there' } }, 1);
  expect(messages[0].status).toBe('SENT');
  return messages[0].id;
}

const message = async (id: string) => (await s.http('GET', `/messages/${id}`)).json;
/** The events providers reported, from a message's history (each has `received`, the time it arrived here). */
const history = async (id: string) =>
  ((await s.http('GET', `/messages/${id}/history`)).json.results as { type: string; received?: number }[]).filter((e) => e.received !== undefined);
const seconds = () => Math.floor(Date.now() / 1000);

// ---- SendGrid ----
const sendgrid = (events: unknown[], opts: { timestamp?: string; key?: typeof ecdsa.privateKey; tamper?: boolean } = {}) => {
  const body = JSON.stringify(events);
  const timestamp = opts.timestamp ?? String(seconds());
  const signature = sign('sha256', Buffer.from(timestamp + body), opts.key ?? ecdsa.privateKey).toString('base64');
  return s.http('POST', '/inbound/providers/sendgrid', opts.tamper ? body.replace('delivered', 'open') : body, {
    key: null,
    headers: { 'x-twilio-email-event-webhook-signature': signature, 'x-twilio-email-event-webhook-timestamp': timestamp },
  });
};

describe('SendGrid Event Webhook', () => {
  it('moves a message to DELIVERED then OPENED with both times in GET /messages, and a replay changes nothing', async () => {
    const id = await sentEmail();
    const t = seconds();
    const delivered = await sendgrid([{ event: 'delivered', timestamp: t - 5, courier_message_id: id, sg_event_id: 'a' }]);
    expect([delivered.status, delivered.json]).toEqual([200, { received: 1, applied: 1, unchanged: 0, ignored: 0, unknown: 0 }]);
    const opened = await sendgrid([
      { event: 'open', timestamp: t - 2, courier_message_id: id },
      { event: 'processed', timestamp: t - 9, courier_message_id: id },
    ]);
    expect(opened.json).toMatchObject({ received: 2, applied: 1, ignored: 1 });
    expect(await message(id)).toMatchObject({ status: 'OPENED', delivered: (t - 5) * 1000, opened: (t - 2) * 1000 });
    const listed = (await s.client.messages.list({ messageId: id })).results[0];
    expect(listed).toMatchObject({ status: 'OPENED', delivered: (t - 5) * 1000, opened: (t - 2) * 1000 });
    // A late delivered and the same open again: no move backwards, no second history event.
    const again = await sendgrid([{ event: 'delivered', timestamp: t, courier_message_id: id }]);
    expect(again.json).toMatchObject({ applied: 0, unchanged: 1 });
    expect((await history(id)).map((e) => e.type)).toEqual(['DELIVERED', 'OPENED']);
    expect((await message(id)).status).toBe('OPENED');
  });

  it('refuses a wrong key, an altered body and an old timestamp (a replayed request), changing nothing', async () => {
    const id = await sentEmail();
    const events = [{ event: 'delivered', timestamp: seconds(), courier_message_id: id }];
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    for (const res of [
      await sendgrid(events, { key: other }),
      await sendgrid(events, { tamper: true }),
      await sendgrid(events, { timestamp: String(seconds() - 7200) }),
      await s.http('POST', '/inbound/providers/sendgrid', JSON.stringify(events), { key: null }),
    ])
      expect([res.status, res.json.type]).toEqual([401, 'authentication_error']);
    expect(await message(id)).toMatchObject({ status: 'SENT' });
    expect((await message(id)).delivered).toBeUndefined();
  });

  it('ends a bounced message UNDELIVERABLE with its reason, and answers 200 for an unknown message', async () => {
    const id = await sentEmail();
    const res = await sendgrid([
      { event: 'bounce', timestamp: seconds(), courier_message_id: id, reason: '550 no such user', type: 'bounce' },
      { event: 'delivered', timestamp: seconds(), courier_message_id: '0000000000unknown' },
      { event: 'delivered', timestamp: seconds() },
    ]);
    expect(res.json).toMatchObject({ received: 3, applied: 1, unknown: 2 });
    expect(await message(id)).toMatchObject({ status: 'UNDELIVERABLE', reason: 'BOUNCED', error: 'bounce: 550 no such user' });
    // A click after the bounce: its time, not its status.
    await sendgrid([{ event: 'click', timestamp: seconds(), courier_message_id: id }]);
    expect(await message(id)).toMatchObject({ status: 'UNDELIVERABLE', clicked: expect.any(Number) });
  });

  it('answers a retryable 409 for a message not sent yet, and changes nothing', async () => {
    const { requestId } = await s.client.send.message({
      message: { to: { email: 'later@example.com' }, content: { title: 'Hi', body: 'x' }, delay: { duration: 600_000 } },
    });
    expect((await message(requestId)).status).toBe('DELAYED');
    const res = await sendgrid([{ event: 'delivered', timestamp: seconds(), courier_message_id: requestId }]);
    expect([res.status, res.headers.get('x-should-retry')]).toEqual([409, 'true']);
    expect(await message(requestId)).toMatchObject({ status: 'DELAYED' });
    expect((await message(requestId)).delivered).toBeUndefined();
  });

  it('applies events to every message of a fan-out (messages stored in delivery job records)', async () => {
    const to = [{ email: `${uid('a')}@example.com` }, { email: `${uid('b')}@example.com` }];
    const { messages } = await sendAndWait(s, { to, content: { title: 'Hi', body: 'x' } }, 2);
    const res = await sendgrid(messages.map((m) => ({ event: 'click', timestamp: seconds(), courier_message_id: m.id })));
    expect(res.json).toMatchObject({ applied: 2 });
    for (const m of messages) expect(await message(m.id)).toMatchObject({ status: 'CLICKED', clicked: expect.any(Number) });
  });
});

// ---- SES through SNS ----
function sns(
  fields: Omit<SnsMessage, 'Signature' | 'SignatureVersion' | 'SigningCertURL' | 'MessageId' | 'Timestamp' | 'TopicArn'> & Partial<SnsMessage>,
  version = '1',
) {
  const m = {
    MessageId: uid('sns'),
    TopicArn: TOPIC,
    Timestamp: new Date().toISOString(),
    SignatureVersion: version,
    SigningCertURL: `${origin}/cert.pem`,
    Signature: '',
    ...fields,
  } as SnsMessage;
  const signer = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
  signer.update(snsStringToSign(m));
  return { ...m, Signature: fields.Signature ?? signer.sign(snsKey, 'base64') };
}
const postSns = (body: unknown) =>
  s.http('POST', '/inbound/providers/ses', JSON.stringify(body), { key: null, headers: { 'content-type': 'text/plain; charset=UTF-8' } });
const sesMessage = (id: string, eventType: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ eventType, mail: { messageId: 'ses-1', timestamp: new Date().toISOString(), tags: { courier_message_id: [id] } }, ...extra });

describe('SES events through SNS', () => {
  it('confirms a subscription of the allowed topic only, by fetching its SubscribeURL', async () => {
    const confirm = sns({ Type: 'SubscriptionConfirmation', Message: 'confirm', Token: 'tok', SubscribeURL: `${origin}/confirm?Token=tok` });
    expect((await postSns(confirm)).json).toEqual({ confirmed: TOPIC });
    expect(served).toContain('/confirm?Token=tok');
    const other = sns({
      Type: 'SubscriptionConfirmation',
      Message: 'c',
      Token: 't',
      SubscribeURL: `${origin}/confirm?Token=other`,
      TopicArn: 'arn:aws:sns:us-east-1:1:other',
    });
    expect((await postSns(other)).status).toBe(401);
    expect(served).not.toContain('/confirm?Token=other');
  });

  it('applies Delivery, Open and Click (signature versions 1 and 2) and a Permanent bounce; a certificate is fetched once', async () => {
    const id = await sentEmail();
    const at = new Date(Date.now() - 1000).toISOString();
    const delivery = await postSns(sns({ Type: 'Notification', Message: sesMessage(id, 'Delivery', { delivery: { timestamp: at } }) }));
    expect(delivery.json).toMatchObject({ applied: 1 });
    await postSns(sns({ Type: 'Notification', Message: sesMessage(id, 'Open', { open: { timestamp: at } }) }, '2'));
    await postSns(sns({ Type: 'Notification', Message: sesMessage(id, 'Click', { click: { timestamp: at } }) }, '2'));
    expect(await message(id)).toMatchObject({ status: 'CLICKED', delivered: Date.parse(at), opened: Date.parse(at), clicked: Date.parse(at) });
    expect(served.filter((u) => u === '/cert.pem')).toHaveLength(1);

    const bounced = await sentEmail();
    await postSns(sns({ Type: 'Notification', Message: sesMessage(bounced, 'Bounce', { bounce: { bounceType: 'Transient', timestamp: at } }) }));
    expect((await message(bounced)).status).toBe('SENT');
    await postSns(
      sns({ Type: 'Notification', Message: sesMessage(bounced, 'Bounce', { bounce: { bounceType: 'Permanent', bounceSubType: 'General', timestamp: at } }) }),
    );
    expect(await message(bounced)).toMatchObject({ status: 'UNDELIVERABLE', reason: 'BOUNCED', error: 'bounce: Permanent/General' });
  });

  it('an SES send carries the tag, and its reported open meets an escalation watch (no escalation to the next channel)', async () => {
    const created = await s.http('POST', '/providers', {
      provider: 'ses',
      priority: 1,
      settings: { from: 'hello@acme.test', region: 'us-east-1' },
    });
    expect(created.status).toBeLessThan(300);
    try {
      const userId = await aUser(s, { email: `${uid('esc')}@example.com` }, 'esc');
      const { requestId } = await s.client.send.message({
        message: {
          to: { user_id: userId },
          content: { title: 'Alert', body: 'x' },
          routing: via('email', 'inbox'),
          timeout: { escalation: 2500, criteria: 'viewed' },
        } as never,
      });
      const sent = await eventually(
        () => message(requestId),
        (m) => m.sent !== undefined,
      );
      expect(sent.status).toBe('ROUTED');
      const call = sesApi.requests.find((r) => r.body.includes(requestId))!;
      expect(JSON.parse(call.body).EmailTags).toEqual([{ Name: 'courier_message_id', Value: requestId }]);
      const open = await postSns(sns({ Type: 'Notification', Message: sesMessage(requestId, 'Open', { open: { timestamp: new Date().toISOString() } }) }));
      expect(open.json).toMatchObject({ applied: 1 });
      const done = await eventually(
        () => message(requestId),
        (m) => m.status !== 'ROUTED',
        20_000,
      );
      expect(done).toMatchObject({ opened: expect.any(Number) });
      const all = (await s.http('GET', `/messages/${requestId}/history`)).json.results as { type: string }[];
      expect(all.map((e) => e.type)).not.toContain('ESCALATED');
    } finally {
      await s.http('DELETE', `/providers/${created.json.id}`);
    }
  });

  it('refuses a bad signature, a certificate off SNS, an unknown topic and an old message', async () => {
    const id = await sentEmail();
    const good = sns({ Type: 'Notification', Message: sesMessage(id, 'Delivery') });
    const cases = [
      { ...good, Message: sesMessage(id, 'Click') },
      sns({ Type: 'Notification', Message: sesMessage(id, 'Delivery'), SigningCertURL: 'https://evil.example.com/cert.pem' }),
      sns({ Type: 'Notification', Message: sesMessage(id, 'Delivery'), SigningCertURL: 'https://sns.us-east-1.amazonaws.com.evil.com/c.pem' }),
      sns({ Type: 'Notification', Message: sesMessage(id, 'Delivery'), TopicArn: 'arn:aws:sns:us-east-1:1:other' }),
      sns({ Type: 'Notification', Message: sesMessage(id, 'Delivery'), Timestamp: new Date(Date.now() - 2 * 3600_000).toISOString() }),
      { Type: 'Notification', Message: sesMessage(id, 'Delivery') },
    ];
    for (const body of cases) {
      const res = await postSns(body);
      expect([res.status, res.json.type]).toEqual([401, 'authentication_error']);
    }
    expect(await message(id)).toMatchObject({ status: 'SENT' });
    // The same signed notification twice: applied once.
    expect((await postSns(good)).json).toMatchObject({ applied: 1 });
    expect((await postSns(good)).json).toMatchObject({ applied: 0, unchanged: 1 });
    expect((await history(id)).map((e) => e.type)).toEqual(['DELIVERED']);
  });
});

// ---- Mailgun ----
const mailgun = (eventData: Record<string, unknown>, opts: { key?: string; token?: string; timestamp?: string } = {}) => {
  const timestamp = opts.timestamp ?? String(seconds());
  const token = opts.token ?? uid('token');
  return s.http(
    'POST',
    '/inbound/providers/mailgun',
    { signature: { timestamp, token, signature: mailgunSignature(opts.key ?? MAILGUN_KEY, timestamp, token) }, 'event-data': eventData },
    { key: null },
  );
};

describe('Mailgun webhooks', () => {
  it('applies delivered and a permanent failure; refuses a wrong key, an old timestamp and a token seen before', async () => {
    const id = await sentEmail();
    const event = { event: 'delivered', timestamp: seconds(), 'user-variables': { courier_message_id: id } };
    expect((await mailgun(event, { key: 'not-the-mailgun-signing-key' })).status).toBe(401);
    expect((await mailgun(event, { timestamp: String(seconds() - 7200) })).status).toBe(401);
    expect((await message(id)).status).toBe('SENT');
    const token = uid('token');
    expect((await mailgun(event, { token })).json).toMatchObject({ applied: 1 });
    const replay = await mailgun(event, { token });
    expect([replay.status, replay.json.message]).toEqual([401, expect.stringContaining('used before')]);
    await mailgun({ event: 'failed', severity: 'temporary', timestamp: seconds(), 'user-variables': { courier_message_id: id } });
    expect((await message(id)).status).toBe('DELIVERED');
    await mailgun({ event: 'failed', severity: 'permanent', reason: 'bounce', timestamp: seconds(), 'user-variables': { courier_message_id: id } });
    expect(await message(id)).toMatchObject({ status: 'UNDELIVERABLE', reason: 'BOUNCED', delivered: expect.any(Number) });
  });
});

// ---- Postmark ----
const postmark = (body: unknown, credentials = POSTMARK) =>
  s.http('POST', '/inbound/providers/postmark', body, { key: null, headers: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` } });

describe('Postmark webhooks', () => {
  it('applies Delivery and SpamComplaint with the credentials, refuses others, and a replay changes nothing', async () => {
    const id = await sentEmail();
    const delivery = { RecordType: 'Delivery', MessageID: 'pm-1', DeliveredAt: new Date().toISOString(), Metadata: { courier_message_id: id } };
    expect((await postmark(delivery, 'postmark:wrong-credentials-here')).status).toBe(401);
    expect((await s.http('POST', '/inbound/providers/postmark', delivery, { key: null })).status).toBe(401);
    expect((await postmark(delivery)).json).toMatchObject({ applied: 1 });
    expect((await postmark(delivery)).json).toMatchObject({ applied: 0, unchanged: 1 });
    await postmark({ RecordType: 'SpamComplaint', BouncedAt: new Date().toISOString(), Metadata: { courier_message_id: id } });
    expect(await message(id)).toMatchObject({ status: 'UNDELIVERABLE', reason: 'UNSUBSCRIBED' });
    expect((await postmark({ nothing: 1 })).status).toBe(400);
  });
});

// ---- Twilio ----
const twilio = (id: string, params: Record<string, string>, opts: { token?: string; tamper?: boolean } = {}) => {
  const path = `/inbound/providers/twilio?courier_message_id=${id}`;
  const url = `http://${new URL(s.url).host}${path}`;
  const signature = twilioSignature(opts.token ?? TWILIO_TOKEN, url, params);
  const body = new URLSearchParams(opts.tamper ? { ...params, MessageStatus: 'delivered' } : params).toString();
  return s.http('POST', path, body, {
    key: null,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature, 'x-forwarded-proto': 'http' },
  });
};

describe('Twilio status callbacks', () => {
  it('applies delivered, then an undelivered callback ends it UNDELIVERABLE; wrong token, altered body and replays change nothing', async () => {
    const id = await sentEmail();
    const params = { MessageSid: 'SM1', MessageStatus: 'delivered', To: '+15555550100' };
    expect((await twilio(id, params, { token: 'not-the-twilio-auth-token' })).status).toBe(401);
    expect((await twilio(id, { ...params, MessageStatus: 'sent' }, { tamper: true })).status).toBe(401);
    expect((await message(id)).status).toBe('SENT');
    expect((await twilio(id, params)).json).toMatchObject({ applied: 1 });
    expect((await twilio(id, params)).json).toMatchObject({ applied: 0, unchanged: 1 });
    await twilio(id, { MessageSid: 'SM1', MessageStatus: 'undelivered', ErrorCode: '30003' });
    expect(await message(id)).toMatchObject({ status: 'UNDELIVERABLE', reason: 'FAILED', error: 'undelivered: 30003' });
  });
});

// ---- Vonage ----
const vonageParams = (id: string, status: string, timestamp = String(seconds()), secret = VONAGE_SECRET) => {
  const params: Record<string, string> = {
    msisdn: '15555550100',
    messageId: 'v-1',
    status,
    'client-ref': id,
    'err-code': '0',
    'message-timestamp': '2026-01-01 10:00:00',
    timestamp,
  };
  return { ...params, sig: vonageSignature(secret, params, 'md5hash') };
};

describe('Vonage delivery receipts', () => {
  it('applies a signed receipt (GET and POST JSON); refuses a wrong secret, an altered receipt and an old timestamp', async () => {
    const id = await sentEmail();
    const get = (p: Record<string, string>) => s.http('GET', `/inbound/providers/vonage?${new URLSearchParams(p).toString()}`, undefined, { key: null });
    expect((await get(vonageParams(id, 'delivered', undefined, 'not-the-vonage-secret-at-all'))).status).toBe(401);
    expect((await get({ ...vonageParams(id, 'failed'), status: 'delivered' })).status).toBe(401);
    expect((await get(vonageParams(id, 'delivered', String(seconds() - 7200)))).status).toBe(401);
    expect((await message(id)).status).toBe('SENT');
    expect((await get(vonageParams(id, 'delivered'))).json).toMatchObject({ applied: 1 });
    expect(await message(id)).toMatchObject({ status: 'DELIVERED', delivered: Date.parse('2026-01-01T10:00:00Z') });
    const failed = await s.http('POST', '/inbound/providers/vonage', vonageParams(id, 'failed'), { key: null });
    expect(failed.json).toMatchObject({ applied: 1 });
    expect(await message(id)).toMatchObject({ status: 'UNDELIVERABLE', reason: 'FAILED' });
  });
});
