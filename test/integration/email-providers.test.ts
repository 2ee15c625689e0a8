import { startTestStack, type TestStack } from '../helpers/stack';
import { sendAndWait } from '../helpers/send';
import { startRecorder, type Recorded, type Recorder } from './providers/recorder';

/**
 * Issue 16 item 1: the email providers SendGrid, Mailgun, Postmark, Resend, SparkPost and Mailjet,
 * configured through the SDK with `api_url` pointing at a local fake of each API, listed in the
 * catalog with their secrets redacted, and reached by a send through the SDK whose routing names
 * the provider: each request carries our message id where the vendor's webhooks echo it.
 */
let s: TestStack;
let fake: Recorder;

/** The Resend tag's value read back (lambdas/providers/resend.ts `messageIdFromResendTag`; not imported: lambda modules load after the stack sets their environment). */
const fromTag = (value: string) => Buffer.from(value, 'base64url').toString('utf8');

const SETTINGS: Record<string, Record<string, unknown>> = {
  sendgrid: { api_key: 'SG.secret-sendgrid-key-0001' },
  mailgun: { api_key: 'key-secret-mailgun-0002', domain: 'mg.example.test', region: 'eu' },
  postmark: { server_token: 'secret-postmark-token-0003', message_stream: 'outbound' },
  resend: { api_key: 're_secret_resend_key_0004' },
  sparkpost: { api_key: 'secret-sparkpost-key-00005' },
  mailjet: { api_key: 'mailjet-public-key', api_secret: 'secret-mailjet-secret-0006' },
};
const KEYS = Object.keys(SETTINGS);

function answer(req: Recorded) {
  const [, key] = req.path.split('/');
  switch (key) {
    case 'sendgrid':
      return { status: 202, headers: { 'x-message-id': 'sg-1' } };
    case 'mailgun':
      return { status: 200, body: { id: '<mg-1@mg.example.test>', message: 'Queued. Thank you.' } };
    case 'postmark':
      return { status: 200, body: { MessageID: 'pm-1', ErrorCode: 0, Message: 'OK' } };
    case 'resend':
      return { status: 200, body: { id: 're-1' } };
    case 'sparkpost':
      return { status: 200, body: { results: { id: 'sp-1', total_accepted_recipients: 1, total_rejected_recipients: 0 } } };
    default:
      return { status: 200, body: { Messages: [{ Status: 'success', To: [{ Email: 'ada@example.test', MessageID: 42, MessageUUID: 'u' }] }] } };
  }
}

beforeAll(async () => {
  fake = await startRecorder();
  s = await startTestStack({ env: { CACHE_TTL_MS: '0' } });
  for (const provider of KEYS) {
    await s.client.providers.create({ provider, settings: { ...SETTINGS[provider], from: 'Shop <shop@example.test>', api_url: `${fake.url}/${provider}` } });
  }
});
afterAll(async () => {
  await s?.stop();
  await fake?.close();
});
beforeEach(() => {
  fake.requests.length = 0;
  fake.reply(answer);
});

const content = { title: 'Your order', body: 'It shipped.' };

describe('the email providers', () => {
  it('are in the catalog as email providers, and their secrets are redacted on read', async () => {
    const catalog = await s.client.providers.catalog.list({ keys: KEYS.join(',') });
    expect(catalog.results.map((p) => [p.provider, p.channel]).sort()).toEqual(KEYS.map((k) => [k, 'email']).sort());
    const byKey = Object.fromEntries(catalog.results.map((p) => [p.provider, p]));
    expect(byKey.mailgun.settings).toMatchObject({ domain: { required: true }, region: { type: 'enum', values: ['us', 'eu'] }, api_url: { required: false } });
    expect(byKey.postmark.settings).toMatchObject({ server_token: { required: true }, message_stream: { required: false } });
    const listed = JSON.stringify(await s.client.providers.list());
    for (const settings of Object.values(SETTINGS)) {
      for (const [name, value] of Object.entries(settings)) if (/key|token|secret/.test(name)) expect(listed).not.toContain(value);
    }
    expect(listed).toContain('********0006');
    const bad = await s.http('POST', '/providers', { provider: 'mailgun', settings: { api_key: 'k', from: 'a@example.test' } });
    expect([bad.status, bad.json.message]).toEqual([400, expect.stringContaining('domain')]);
  });

  it.each(KEYS)('%s: a send through the SDK whose routing names it reaches its API with our message id in the vendor metadata', async (provider) => {
    const { messages } = await sendAndWait(s, { to: { email: 'ada@example.test' }, content, routing: { method: 'single', channels: [provider] } }, 1);
    expect(messages.map((m) => m.status)).toEqual(['SENT']);
    const id = messages[0].id;
    expect(fake.requests).toHaveLength(1);
    const [req] = fake.requests;
    const json = () => JSON.parse(req.body);
    switch (provider) {
      case 'sendgrid':
        expect([req.path, req.headers.authorization]).toEqual(['/sendgrid/v3/mail/send', 'Bearer SG.secret-sendgrid-key-0001']);
        expect(json()).toMatchObject({ subject: 'Your order', custom_args: { courier_message_id: id }, from: { email: 'shop@example.test', name: 'Shop' } });
        break;
      case 'mailgun':
        expect(req.path).toBe('/mailgun/v3/mg.example.test/messages');
        expect(req.body).toContain(`name="v:courier_message_id"\r\n\r\n${id}\r\n`);
        break;
      case 'postmark':
        expect([req.path, req.headers['x-postmark-server-token']]).toEqual(['/postmark/email', 'secret-postmark-token-0003']);
        expect(json()).toMatchObject({ To: 'ada@example.test', Metadata: { courier_message_id: id }, MessageStream: 'outbound' });
        break;
      case 'resend':
        expect([req.path, req.headers['idempotency-key']]).toEqual(['/resend/emails', `${id}:email:resend`]);
        expect(fromTag(json().tags[0].value)).toBe(id);
        break;
      case 'sparkpost':
        expect([req.path, req.headers.authorization]).toEqual(['/sparkpost/api/v1/transmissions', 'secret-sparkpost-key-00005']);
        expect(json()).toMatchObject({ metadata: { courier_message_id: id }, recipients: [{ address: { email: 'ada@example.test' } }] });
        break;
      case 'mailjet':
        expect(req.path).toBe('/mailjet/v3.1/send');
        expect(json().Messages[0]).toMatchObject({ CustomID: id, EventPayload: JSON.stringify({ courier_message_id: id }) });
        break;
    }
  });

  it('carries the channel override envelope and providers.<key>.override; a mailgun override field that is not a string is a 400', async () => {
    const { messages } = await sendAndWait(
      s,
      {
        to: { email: 'ada@example.test' },
        content,
        routing: { method: 'single', channels: ['sendgrid'] },
        channels: { email: { override: { cc: 'cc@example.test', reply_to: 'help@example.test' } } },
        providers: { sendgrid: { override: { body: { categories: ['orders'] } } } },
      },
      1,
    );
    expect(messages[0].status).toBe('SENT');
    expect(JSON.parse(fake.requests[0].body)).toMatchObject({
      categories: ['orders'],
      reply_to: { email: 'help@example.test' },
      personalizations: [{ to: [{ email: 'ada@example.test' }], cc: [{ email: 'cc@example.test' }] }],
    });
    const bad = await s.http('POST', '/send', {
      message: { to: { email: 'ada@example.test' }, content, providers: { mailgun: { override: { body: { 'o:tag': 5 } } } } },
    });
    expect([bad.status, bad.json.message]).toEqual([400, expect.stringContaining('mailgun.override.body.o:tag')]);
  });
});
