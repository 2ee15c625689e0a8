import { startTestStack, type TestStack } from '../helpers/stack';
import { sendAndWait } from '../helpers/send';
import { uid } from '../helpers/wait';
import { startRecorder, type Recorded, type Recorder } from './providers/recorder';

/**
 * Issue 16 item 1, the SMS providers through the SDK: each configured with `providers.create`
 * (its `api_url` a local fake of the vendor's API), listed in the catalog with its secrets
 * redacted, and a send pinned to it through routing reaching the fake with the vendor's request
 * and our message id where its status reports will bring it back.
 */
let s: TestStack;
let fake: Recorder;
const hooks = 'https://hooks.example.test/status';
const PROVIDERS = {
  twilio: { account_sid: 'AC00000000000000000000000000000001', auth_token: 'twilio-secret-token-0001', from: '+15550000000', status_callback_url: hooks },
  vonage: { api_key: 'vonage-key', api_secret: 'vonage-secret-0000000002', from: 'Acme' },
  messagebird: { access_key: 'messagebird-key-00000003', originator: 'Acme', status_callback_url: hooks },
  plivo: { auth_id: 'MAXXXXXXXXXXXXXXXXXX', auth_token: 'plivo-secret-token-00004', from: '+14155550000', status_callback_url: hooks },
  telnyx: { api_key: 'telnyx-secret-key-000005', from: '+13125550000', status_callback_url: hooks },
} as const;
type Key = keyof typeof PROVIDERS;
const KEYS = Object.keys(PROVIDERS) as Key[];

function answer(req: Recorded) {
  if (req.path.startsWith('/twilio/')) return { status: 201, body: { sid: 'SM-twilio-1' } };
  if (req.path.startsWith('/vonage/')) return { status: 200, body: { 'message-count': '1', messages: [{ status: '0', 'message-id': 'vonage-1' }] } };
  if (req.path.startsWith('/messagebird/')) return { status: 201, body: { id: 'mb-1' } };
  if (req.path.startsWith('/plivo/')) return { status: 202, body: { message_uuid: ['plivo-1'] } };
  if (req.path.startsWith('/telnyx/')) return { status: 200, body: { data: { id: 'telnyx-1' } } };
  return { status: 404, body: {} };
}

beforeAll(async () => {
  fake = await startRecorder();
  s = await startTestStack();
  for (const key of KEYS) {
    const created = await s.client.providers.create({ provider: key, settings: { ...PROVIDERS[key], api_url: `${fake.url}/${key}` } });
    expect([key, created.provider]).toEqual([key, key]);
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

const content = { title: 'Sign in', body: 'Your code is 1234' };
const sendVia = (provider: Key, to: Record<string, unknown> = { phone_number: '+15551230001' }) =>
  sendAndWait(s, { to, content, routing: { method: 'single', channels: [provider] } }, 1);
const form = (req: Recorded) => Object.fromEntries(new URLSearchParams(req.body));

describe('the SMS providers', () => {
  it('are in the catalog on the sms channel with their settings schema, and their secrets are redacted on read', async () => {
    const catalog = await s.client.providers.catalog.list({ keys: KEYS.join(',') });
    const byKey = Object.fromEntries((catalog.results ?? []).map((e) => [e.provider, e]));
    expect(Object.keys(byKey).sort()).toEqual([...KEYS].sort());
    for (const key of KEYS) expect([key, byKey[key].channel, byKey[key].settings.api_url?.required]).toEqual([key, 'sms', false]);
    expect(byKey.twilio.settings).toMatchObject({ account_sid: { required: true }, channel: { type: 'enum', values: ['sms', 'whatsapp'] } });
    const listed = JSON.stringify(await s.client.providers.list());
    for (const secret of [
      'twilio-secret-token-0001',
      'vonage-secret-0000000002',
      'messagebird-key-00000003',
      'plivo-secret-token-00004',
      'telnyx-secret-key-000005',
    ])
      expect(listed).not.toContain(secret);
  });

  it('refuses settings without a sender with a 400 naming the field', async () => {
    await expect(s.client.providers.create({ provider: 'twilio', settings: { account_sid: 'AC1', auth_token: 't' } })).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('settings.from'),
    });
  });

  it('twilio: a send reaches the Messages API with Basic auth and a StatusCallback carrying the message id', async () => {
    const { messages } = await sendVia('twilio');
    expect(messages.map((m) => [m.status, m.channel])).toEqual([['SENT', 'sms']]);
    const [req] = fake.requests;
    expect([req.method, req.path, req.headers.authorization?.split(' ')[0]]).toEqual([
      'POST',
      '/twilio/2010-04-01/Accounts/AC00000000000000000000000000000001/Messages.json',
      'Basic',
    ]);
    expect(form(req)).toEqual({
      To: '+15551230001',
      From: '+15550000000',
      Body: 'Your code is 1234',
      StatusCallback: `${hooks}?courier_message_id=${messages[0].id}`,
    });
  });

  it("twilio: a user's phone_number written whatsapp:+... goes as WhatsApp, and providers.twilio.override reaches the form", async () => {
    const user = uid('wa');
    await s.client.profiles.replace(user, { profile: { phone_number: 'whatsapp:+447700900001' } });
    await sendAndWait(
      s,
      {
        to: { user_id: user },
        content,
        routing: { method: 'single', channels: ['twilio'] },
        providers: { twilio: { override: { body: { ContentSid: 'HX1' } } } },
      },
      1,
    );
    expect(form(fake.requests[0])).toMatchObject({ To: 'whatsapp:+447700900001', From: 'whatsapp:+15550000000', ContentSid: 'HX1' });
  });

  it('vonage: a send reaches /sms/json with client-ref the message id', async () => {
    const { messages } = await sendVia('vonage');
    expect(messages[0].status).toBe('SENT');
    const [req] = fake.requests;
    expect([req.path, req.headers.authorization?.split(' ')[0]]).toEqual(['/vonage/sms/json', 'Basic']);
    expect(JSON.parse(req.body)).toEqual({ from: 'Acme', to: '15551230001', text: 'Your code is 1234', 'client-ref': messages[0].id });
  });

  it('messagebird: a send reaches /messages with reference the message id and the reportUrl carrying it', async () => {
    const { messages } = await sendVia('messagebird');
    expect(messages[0].status).toBe('SENT');
    const [req] = fake.requests;
    expect([req.path, req.headers.authorization]).toEqual(['/messagebird/messages', 'AccessKey messagebird-key-00000003']);
    expect(JSON.parse(req.body)).toEqual({
      originator: 'Acme',
      recipients: '15551230001',
      body: 'Your code is 1234',
      reference: messages[0].id,
      reportUrl: `${hooks}?courier_message_id=${messages[0].id}`,
    });
  });

  it('plivo: a send reaches the Message API with the status url carrying the message id', async () => {
    const { messages } = await sendVia('plivo');
    expect(messages[0].status).toBe('SENT');
    const [req] = fake.requests;
    expect(req.path).toBe('/plivo/v1/Account/MAXXXXXXXXXXXXXXXXXX/Message/');
    expect(JSON.parse(req.body)).toEqual({
      src: '+14155550000',
      dst: '+15551230001',
      text: 'Your code is 1234',
      url: `${hooks}?courier_message_id=${messages[0].id}`,
      method: 'POST',
    });
  });

  it('telnyx: a send reaches /v2/messages with Bearer auth and the webhook_url carrying the message id', async () => {
    const { messages } = await sendVia('telnyx');
    expect(messages[0].status).toBe('SENT');
    const [req] = fake.requests;
    expect([req.path, req.headers.authorization]).toEqual(['/telnyx/v2/messages', 'Bearer telnyx-secret-key-000005']);
    expect(JSON.parse(req.body)).toEqual({
      from: '+13125550000',
      to: '+15551230001',
      text: 'Your code is 1234',
      webhook_url: `${hooks}?courier_message_id=${messages[0].id}`,
    });
  });

  it('an invalid number (Twilio 21211) makes the message UNDELIVERABLE at once, without retries', async () => {
    fake.reply((req) =>
      req.path.startsWith('/twilio/') ? { status: 400, body: { code: 21211, message: "The 'To' number is not a valid phone number." } } : answer(req),
    );
    const { messages } = await sendVia('twilio');
    expect(messages[0].status).toBe('UNDELIVERABLE');
    expect(fake.requests).toHaveLength(1);
  });
});
