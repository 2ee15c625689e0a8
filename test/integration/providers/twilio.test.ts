import './allow-private-egress';
import twilio from 'twilio';
import { TwilioAdapter } from '../../../lambdas/providers/twilio';
import { contractCase, closedPort, startRecorder, sendOf, type Recorded, type Recorder } from './recorder';

/**
 * The Twilio adapter against a stand-in Messages API, and the contract test: the official `twilio`
 * client, its own RequestClient sending with only the host of its URL changed to the stand-in's,
 * makes the same call as the adapter (method, path, Basic auth, form fields).
 */
let api: Recorder;
beforeAll(async () => {
  api = await startRecorder();
});
afterAll(() => api?.close());
const created = { status: 201, body: { sid: 'SM0123456789abcdef0123456789abcdef', status: 'queued' } };
beforeEach(() => {
  api.requests.length = 0;
  api.reply(() => created);
});

const base = { account_sid: 'AC00000000000000000000000000000001', auth_token: 'twilio-auth-token' };
const sms = (settings: Record<string, unknown>, address = '+15551230001') =>
  sendOf({
    channel: 'sms',
    messageId: '1700000000000-msg1',
    idempotencyKey: '1700000000000-msg1:sms',
    address,
    content: { channel: 'sms', body: 'Your code is 1234' },
    settings: { api_url: api.url, ...base, ...settings },
  });
const form = (req: Recorded) => Object.fromEntries(new URLSearchParams(req.body));
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('twilio adapter against a stand-in Messages API', () => {
  it('posts the form to /2010-04-01/Accounts/{sid}/Messages.json with Basic auth and the status callback carrying our message id', async () => {
    const result = await new TwilioAdapter().send(sms({ from: '+15550000000', status_callback_url: 'https://hooks.example.test/twilio?k=1' }));
    expect(result).toEqual({ status: 'SENT', providerMessageId: 'SM0123456789abcdef0123456789abcdef' });
    const [req] = api.requests;
    expect([req.method, req.path, req.headers.authorization, req.headers['content-type']]).toEqual([
      'POST',
      '/2010-04-01/Accounts/AC00000000000000000000000000000001/Messages.json',
      basic(base.account_sid, 'twilio-auth-token'),
      'application/x-www-form-urlencoded',
    ]);
    expect(form(req)).toEqual({
      To: '+15551230001',
      From: '+15550000000',
      Body: 'Your code is 1234',
      StatusCallback: 'https://hooks.example.test/twilio?k=1&courier_message_id=1700000000000-msg1',
    });
  });

  it('signs in with an API key instead of the auth token, and sends through a messaging service without From', async () => {
    await new TwilioAdapter().send(
      sms({ auth_token: undefined, api_key_sid: 'SK1', api_key_secret: 'key-secret', messaging_service_sid: 'MG1', from: '+1555' }),
    );
    const [req] = api.requests;
    expect(req.headers.authorization).toBe(basic('SK1', 'key-secret'));
    expect(form(req)).toEqual({ To: '+15551230001', MessagingServiceSid: 'MG1', Body: 'Your code is 1234' });
  });

  it('sends WhatsApp with whatsapp: on From and To when the settings say so, or when the profile number is written whatsapp:', async () => {
    await new TwilioAdapter().send(sms({ from: '+15550000000', channel: 'whatsapp' }));
    expect(form(api.requests[0])).toMatchObject({ To: 'whatsapp:+15551230001', From: 'whatsapp:+15550000000' });
    await new TwilioAdapter().send(sms({ from: '+15550000000' }, 'whatsapp:+447700900001'));
    expect(form(api.requests[1])).toMatchObject({ To: 'whatsapp:+447700900001', From: 'whatsapp:+15550000000' });
    await new TwilioAdapter().send(sms({ from: 'whatsapp:+15550000000', channel: 'whatsapp' }, 'whatsapp:+447700900001'));
    expect(form(api.requests[2])).toMatchObject({ To: 'whatsapp:+447700900001', From: 'whatsapp:+15550000000' });
  });

  it('merges providers.twilio.override: body fields into the form (a list repeats the field), headers and query on the call', async () => {
    await new TwilioAdapter().send({
      ...sms({ from: '+15550000000' }),
      override: { body: { Body: 'Overridden', MediaUrl: ['https://x.test/a.png', 'https://x.test/b.png'] }, headers: { 'x-audit': 'a1' }, query: { v: '2' } },
    });
    const [req] = api.requests;
    expect([req.path.endsWith('Messages.json?v=2'), req.headers['x-audit']]).toEqual([true, 'a1']);
    expect(new URLSearchParams(req.body).getAll('MediaUrl')).toEqual(['https://x.test/a.png', 'https://x.test/b.png']);
    expect(form(req).Body).toBe('Overridden');
  });

  it.each([
    [400, 21211, false, 'twilio answered 400 (code 21211: invalid recipient)'],
    [400, 21614, false, 'twilio answered 400 (code 21614: invalid recipient)'],
    [400, 21408, false, 'twilio answered 400 (code 21408: invalid recipient)'],
    [401, 20003, false, 'twilio answered 401 (code 20003)'],
    [429, 20429, true, 'twilio answered 429 (code 20429)'],
    [503, 20503, true, 'twilio answered 503 (code 20503)'],
  ])('classifies HTTP %i with Twilio code %i (transient: %s)', async (status, code, transient, message) => {
    api.reply(() => ({ status, body: { code, message: 'x', more_info: `https://www.twilio.com/docs/errors/${code}`, status } }));
    await expect(new TwilioAdapter().send(sms({ from: '+15550000000' }))).rejects.toMatchObject({ transient, statusCode: status, message });
  });

  it('honours retry-after on a 429, and reports an unreachable API as transient', async () => {
    api.reply(() => ({ status: 429, headers: { 'retry-after': '2' }, body: { code: 20429, message: 'Too Many Requests' } }));
    await expect(new TwilioAdapter().send(sms({ from: '+1555' }))).rejects.toMatchObject({ transient: true, retryAfterMs: 2000 });
    const unreachable = new TwilioAdapter().send({
      ...sms({ from: '+1555' }),
      settings: { ...base, from: '+1555', api_url: `http://127.0.0.1:${await closedPort()}` },
    });
    await expect(unreachable).rejects.toMatchObject({ transient: true, message: 'twilio unreachable (ECONNREFUSED)' });
  });

  it('refuses settings without a sender or a credential, and a blank number, permanently and without a call', async () => {
    await expect(new TwilioAdapter().send(sms({}))).rejects.toMatchObject({ transient: false, message: 'twilio settings are invalid: settings.from' });
    await expect(new TwilioAdapter().send(sms({ from: '+1', auth_token: undefined }))).rejects.toMatchObject({
      message: 'twilio settings are invalid: settings.auth_token',
    });
    await expect(new TwilioAdapter().send(sms({ from: '+1' }, 'whatsapp: '))).rejects.toMatchObject({
      transient: false,
      message: 'twilio: the address is not a phone number',
    });
    expect(api.requests).toHaveLength(0);
  });
});

describe('contract: the official twilio client makes the same request', () => {
  it('agrees on method, path, auth scheme and form fields (SMS with a status callback, and through a messaging service)', async () => {
    // The client's own RequestClient does the encoding and auth; only the URL's origin is moved to the stand-in.
    const real = new twilio.RequestClient();
    const httpClient = {
      request: (opts: { uri: string }) => real.request({ ...opts, uri: opts.uri.replace(/^https:\/\/api\.twilio\.com/, api.url) } as never),
    };
    const client = twilio(base.account_sid, base.auth_token, { httpClient: httpClient as never });
    const callback = 'https://hooks.example.test/twilio?courier_message_id=1700000000000-msg1';

    for (const [settings, viaSdk] of [
      [
        { from: '+15550000000', status_callback_url: 'https://hooks.example.test/twilio' },
        { to: '+15551230001', from: '+15550000000', body: 'Your code is 1234', statusCallback: callback },
      ],
      [{ messaging_service_sid: 'MG1' }, { to: '+15551230001', messagingServiceSid: 'MG1', body: 'Your code is 1234' }],
      [
        { from: '+15550000000', channel: 'whatsapp' },
        { to: 'whatsapp:+15551230001', from: 'whatsapp:+15550000000', body: 'Your code is 1234' },
      ],
    ] as const) {
      const vendor = async () => {
        const sent = await client.messages.create(viaSdk as never);
        expect(sent.sid).toBe('SM0123456789abcdef0123456789abcdef');
      };
      const { ours } = await contractCase({
        api,
        vendor,
        ours: () => new TwilioAdapter().send(sms(settings)),
        headers: ['authorization', 'content-type'],
        body: form,
      });
      expect(ours[0].headers.authorization?.split(' ')[0]).toBe('Basic');
    }
  });
});
