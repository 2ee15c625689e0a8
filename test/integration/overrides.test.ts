import type { AddressInfo } from 'node:net';
import { BadRequestError } from '@trycourier/courier';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { sendAndWait } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually, uid } from '../helpers/wait';
import { closedPort, startRecorder, type Recorder } from './providers/recorder';

/**
 * Issue 15 item 3: a send's overrides, each asserted on what the provider received: an SMTP server
 * of the test's own (it parses cc, reply-to, attachments and keeps the envelope, so bcc shows),
 * SES, Slack and webhook stand-ins recording every request, and the local capture for sms and push.
 */
interface Mail {
  envelopeTo: string[];
  from: string;
  replyTo?: string;
  cc?: string;
  subject: string;
  text: string;
  html?: string;
  headers: Record<string, string>;
  attachments: { filename?: string; contentType: string; content: string }[];
}

let s: TestStack;
let smtp: { port: number; mails: Mail[]; close(): Promise<void> };
let ses: Recorder;
let slack: Recorder;
let hook: Recorder;
const providerIds: string[] = [];

async function smtpRecorder(): Promise<typeof smtp> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 100,
    onData: (stream, session, cb) => {
      simpleParser(stream)
        .then((m) => {
          mails.push({
            envelopeTo: session.envelope.rcptTo.map((r) => r.address),
            from: m.from?.text ?? '',
            replyTo: m.replyTo?.text,
            cc: Array.isArray(m.cc) ? m.cc.map((a) => a.text).join(', ') : m.cc?.text,
            subject: m.subject ?? '',
            text: m.text ?? '',
            html: typeof m.html === 'string' ? m.html : undefined,
            headers: Object.fromEntries(m.headerLines.map((h) => [h.key, h.line.slice(h.line.indexOf(':') + 1).trim()])),
            attachments: m.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, content: a.content.toString('base64') })),
          });
          cb();
        })
        .catch((e: Error) => cb(e));
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.server.address() as AddressInfo).port, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}

beforeAll(async () => {
  [smtp, ses, slack, hook] = await Promise.all([smtpRecorder(), startRecorder(), startRecorder(), startRecorder()]);
  ses.reply(() => ({ status: 200, body: { MessageId: 'ses-1' } }));
  slack.reply(() => ({ status: 200, body: { ok: true, ts: '1.2' } }));
  // Links are asserted as the overrides and UTM parameters leave them: our click tracking (on by
  // default, D22) is off here; tracking.test.ts checks a tracked link keeps its UTM parameters.
  s = await startTestStack({ env: { SES_ENDPOINT: ses.url, SLACK_API_URL: slack.url, CACHE_TTL_MS: '0', TRACKING_EMAIL: 'off' } });
  // SMTP first by priority: a `single` email goes there; SES is the second email provider.
  const configured = [
    { provider: 'smtp', priority: 1, settings: { host: '127.0.0.1', port: smtp.port, from: 'App <app@acme.test>' } },
    { provider: 'ses', priority: 2, settings: { from: 'app@acme.test', region: 'us-east-1' } },
  ];
  for (const p of configured) providerIds.push((await s.client.providers.create(p as never)).id);
});
afterAll(async () => {
  for (const id of providerIds) await s?.client.providers.delete(id);
  await s?.stop();
  await Promise.all([smtp?.close(), ses?.close(), slack?.close(), hook?.close()]);
});

const mailTo = (address: string) =>
  eventually(
    async () => smtp.mails.filter((m) => m.envelopeTo.includes(address)),
    (ms) => ms.length > 0,
  );
const sesBodies = () => ses.requests.map((r) => JSON.parse(r.body) as Record<string, any>);
const email = (extra: Record<string, unknown>) => ({
  content: { title: 'Order {{id}}', body: 'Your order shipped.' },
  data: { id: 7 },
  routing: { method: 'single', channels: ['email'] },
  ...extra,
});

describe('channels.email.override', () => {
  it('sends from, reply_to, cc, bcc, subject, headers and attachments to the SMTP server', async () => {
    const to = `${uid('ada')}@example.test`;
    const { messages } = await sendAndWait(
      s,
      email({
        to: { email: to },
        channels: {
          email: {
            override: {
              from: 'Billing <billing@acme.test>',
              reply_to: 'help@acme.test',
              cc: 'c1@acme.test, c2@acme.test',
              bcc: 'audit@acme.test',
              subject: 'Invoice 7',
              headers: { 'X-Campaign': 'spring' },
              attachments: [{ filename: 'invoice.txt', contentType: 'text/plain', data: Buffer.from('total: 7').toString('base64') }],
            },
          },
        },
      }),
      1,
    );
    expect(messages.map((m) => m.status)).toEqual(['SENT']);
    const [mail] = await mailTo(to);
    expect(mail.envelopeTo.sort()).toEqual(['audit@acme.test', 'c1@acme.test', 'c2@acme.test', to].sort());
    expect(mail).toMatchObject({ from: '"Billing" <billing@acme.test>', replyTo: 'help@acme.test', cc: 'c1@acme.test, c2@acme.test', subject: 'Invoice 7' });
    expect(mail.headers['x-campaign']).toBe('spring');
    expect(mail.headers.bcc).toBeUndefined();
    expect(mail.text).toContain('Your order shipped.');
    expect(mail.attachments).toEqual([{ filename: 'invoice.txt', contentType: 'text/plain', content: Buffer.from('total: 7').toString('base64') }]);
    // The stored output is the rendering (as Courier's Rendered tab): the subject the template made.
    const out = await s.client.messages.content(messages[0].id);
    expect(JSON.stringify(out)).toContain('Order 7');
  });

  it('is refused with a 400 naming a field it does not know', async () => {
    const to = `${uid('ada')}@example.test`;
    const err = await s.client.send
      .message({ message: email({ to: { email: to }, channels: { email: { override: { priority: 'high' } } } }) as never })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).message).toContain('channels.email.override');
    expect((err as BadRequestError).message).toContain('priority');
  });
});

describe('providers.<provider>.override', () => {
  it("smtp: the body is merged into what nodemailer sends (Courier's message override)", async () => {
    const to = `${uid('ada')}@example.test`;
    await sendAndWait(
      s,
      email({ to: { email: to }, providers: { smtp: { override: { body: { subject: 'From the provider', headers: { 'X-Provider': 'smtp' } } } } } }),
      1,
    );
    const [mail] = await mailTo(to);
    expect(mail.subject).toBe('From the provider');
    expect(mail.headers['x-provider']).toBe('smtp');
  });

  it('ses: the body is merged into SendEmail, and the channel envelope reaches SES too', async () => {
    ses.requests.length = 0;
    const to = `${uid('ada')}@example.test`;
    await sendAndWait(
      s,
      email({
        to: { email: to },
        channels: { email: { providers: ['ses'], override: { cc: 'c@acme.test', attachments: [{ filename: 'a.txt', data: 'aGVsbG8=' }] } } },
        providers: { ses: { override: { body: { ConfigurationSetName: 'marketing' } } } },
      }),
      1,
    );
    const [body] = sesBodies();
    expect(body.ConfigurationSetName).toBe('marketing');
    expect(body.Destination).toEqual({ ToAddresses: [to], CcAddresses: ['c@acme.test'] });
    expect(body.Content.Simple.Attachments).toEqual([expect.objectContaining({ FileName: 'a.txt', RawContent: 'aGVsbG8=' })]);
  });

  it('slack: the body is deep-merged into chat.postMessage, with the channel override text', async () => {
    slack.requests.length = 0;
    const u = uid('slack');
    await s.client.profiles.replace(u, { profile: { slack: { access_token: 'xoxp-user', channel: 'C1' } } });
    await sendAndWait(
      s,
      {
        to: { user_id: u },
        content: { title: 'Deploy', body: 'Build 7' },
        routing: { method: 'single', channels: ['direct_message'] },
        channels: { direct_message: { override: { text: 'Build 8 is live' } } },
        providers: { slack: { override: { body: { unfurl_links: false, username: 'deploy-bot' }, headers: { 'X-Trace': 't1' } } } },
      },
      1,
    );
    const [req] = slack.requests;
    expect(req.path).toBe('/chat.postMessage');
    expect(req.headers['x-trace']).toBe('t1');
    expect(req.headers.authorization).toBe('Bearer xoxp-user');
    expect(JSON.parse(req.body)).toMatchObject({ channel: 'C1', text: 'Deploy\n\nBuild 8 is live', unfurl_links: false, username: 'deploy-bot' });
  });

  it('webhook: url query, headers and body merged into the request', async () => {
    hook.requests.length = 0;
    await sendAndWait(
      s,
      {
        to: { webhook: { url: `${hook.url}/in` } },
        content: { title: 'T', body: 'B' },
        routing: { method: 'single', channels: ['webhook'] },
        providers: { webhook: { override: { query: { source: 'courier' }, headers: { 'X-Hook': 'h' }, body: { extra: { id: 7 } } } } },
      },
      1,
    );
    const [req] = hook.requests;
    expect(req.path).toBe('/in?source=courier');
    expect(req.headers['x-hook']).toBe('h');
    expect(JSON.parse(req.body)).toMatchObject({ content: { title: 'T', body: 'B' }, extra: { id: 7 } });
  });

  it('is refused with a 400 for a provider this stack does not have (whatever its entry sets), or a key the provider does not honour', async () => {
    for (const [providers, named] of [
      [{ 'carrier-pigeon': { override: { body: {} } } }, 'body.message.providers.carrier-pigeon'],
      [{ 'carrier-pigeon': { timeouts: 100 } }, 'body.message.providers.carrier-pigeon'],
      [{ 'carrier-pigeon': { metadata: { utm: { source: 's' } } } }, 'body.message.providers.carrier-pigeon'],
      [{ ses: { override: { headers: { 'X-A': '1' } } } }, 'body.message.providers.ses.override'],
    ] as const) {
      const err = await s.client.send.message({ message: email({ to: { email: 'a@example.test' }, providers }) as never }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BadRequestError);
      expect((err as BadRequestError).message).toContain(named);
    }
  });
});

describe('other channels', () => {
  it('sms body and push title and data reach the capture', async () => {
    const phone = `+1555${Math.floor(Math.random() * 1e7)}`;
    const { messages } = await sendAndWait(
      s,
      {
        to: { phone_number: phone, firebaseToken: `tok-${phone}` },
        content: { title: 'T', body: 'B' },
        routing: { method: 'all', channels: ['sms', 'push'] },
        channels: { sms: { override: { body: 'SMS text' } }, push: { override: { title: 'Push title', data: { order: '7' } } } },
      },
      1,
    );
    const captured = s.captures().filter((c) => c.messageId === messages[0].id);
    expect(captured.find((c) => c.channel === 'sms')).toMatchObject({ content: { body: 'SMS text' } });
    expect(captured.find((c) => c.channel === 'push')).toMatchObject({ content: { title: 'Push title', body: 'B', data: { order: '7' } } });
  });
});

describe('metadata.utm', () => {
  it('adds UTM parameters to every link of the email: message values, channel values winning per key', async () => {
    const to = `${uid('utm')}@example.test`;
    await sendAndWait(
      s,
      {
        to: { email: to },
        content: {
          version: '2022-01-01',
          elements: [
            { type: 'text', content: 'Read https://acme.test/blog?x=1#top today.' },
            { type: 'action', content: 'Open', href: 'https://acme.test/app' },
            { type: 'action', content: 'Mail us', href: 'mailto:help@acme.test' },
          ],
        },
        routing: { method: 'single', channels: ['email'] },
        metadata: { utm: { source: 'courier', medium: 'message' } },
        channels: { email: { metadata: { utm: { medium: 'email', campaign: 'spring' } } } },
      },
      1,
    );
    const [mail] = await mailTo(to);
    const q = 'utm_source=courier&utm_medium=email&utm_campaign=spring';
    expect(mail.text).toContain(`https://acme.test/blog?x=1&${q}#top today.`);
    expect(mail.html).toContain(`href="https://acme.test/app?${q.replace(/&/g, '&amp;')}"`);
    expect(mail.html).toContain('href="mailto:help@acme.test"');
  });

  it('takes the provider metadata over the channel and message ones', async () => {
    hook.requests.length = 0;
    await sendAndWait(
      s,
      {
        to: { webhook: { url: `${hook.url}/utm` } },
        content: { title: 'T', body: 'See https://acme.test/p' },
        routing: { method: 'single', channels: ['webhook'] },
        metadata: { utm: { source: 'message', medium: 'm' } },
        providers: { webhook: { metadata: { utm: { source: 'provider' } } } },
      },
      1,
    );
    expect(JSON.parse(hook.requests[0].body).content.body).toBe('See https://acme.test/p?utm_source=provider&utm_medium=m');
  });
});

describe('channels.<channel>.routing_method, brand_id and providers.<provider>.timeouts', () => {
  it('all: every email provider is sent the message; single sends to the first only', async () => {
    ses.requests.length = 0;
    const both = `${uid('all')}@example.test`;
    const { messages } = await sendAndWait(s, email({ to: { email: both }, channels: { email: { routing_method: 'all' } } }), 1);
    expect(messages.map((m) => m.status)).toEqual(['SENT']);
    expect(await mailTo(both)).toHaveLength(1);
    expect(sesBodies().map((b) => b.Destination.ToAddresses)).toEqual([[both]]);
    const history = await s.client.messages.history(messages[0].id);
    expect((history.results ?? []).filter((e) => e.type === 'SENT').map((e) => (e as { provider?: string }).provider)).toEqual(
      expect.arrayContaining(['smtp', 'ses']),
    );

    ses.requests.length = 0;
    const one = `${uid('single')}@example.test`;
    await sendAndWait(s, email({ to: { email: one }, channels: { email: { routing_method: 'single' } } }), 1);
    expect(await mailTo(one)).toHaveLength(1);
    expect(ses.requests).toHaveLength(0);
  });

  it('all: when no provider takes it, each failure is in the history and the message ends UNDELIVERABLE', async () => {
    ses.reply(() => ({ status: 400, body: { message: 'MessageRejected' } }));
    const closed = await closedPort();
    try {
      const to = `${uid('none')}@example.test`;
      const { messages } = await sendAndWait(
        s,
        email({
          to: { email: to },
          channels: { email: { routing_method: 'all' } },
          // SMTP pointed at a closed port by its config override: a transient failure, with a retry window too short to retry in.
          providers: { smtp: { timeouts: 1, override: { config: { host: '127.0.0.1', port: closed } } } },
        }),
        1,
      );
      expect(messages.map((m) => [m.status, m.reason])).toEqual([['UNDELIVERABLE', 'PROVIDER_ERROR']]);
      const history = await s.client.messages.history(messages[0].id);
      const errors = (history.results ?? []).filter((e) => e.type === 'PROVIDER_ERROR') as { provider?: string; transient?: boolean }[];
      expect(errors.map((e) => [e.provider, e.transient]).sort()).toEqual([
        ['ses', false],
        ['smtp', true],
      ]);
      expect(smtp.mails.some((m) => m.envelopeTo.includes(to))).toBe(false);
    } finally {
      ses.reply(() => ({ status: 200, body: { MessageId: 'ses-1' } }));
    }
  });

  it("brand_id: the channel's brand renders the channel, over the send's", async () => {
    const b = uid('brand');
    await s.client.brands.create({ id: `${b}-send`, name: 'Send', settings: { colors: { primary: '#111111' } } });
    await s.client.brands.create({ id: `${b}-email`, name: 'Email', settings: { colors: { primary: '#222222' } } });
    const withChannel = `${uid('brand')}@example.test`;
    await sendAndWait(s, email({ to: { email: withChannel }, brand_id: `${b}-send`, channels: { email: { brand_id: `${b}-email` } } }), 1);
    const [branded] = await mailTo(withChannel);
    expect(branded.html).toContain('#222222');
    expect(branded.html).not.toContain('#111111');

    const sendOnly = `${uid('brand')}@example.test`;
    await sendAndWait(s, email({ to: { email: sendOnly }, brand_id: `${b}-send` }), 1);
    expect((await mailTo(sendOnly))[0].html).toContain('#111111');
  });

  it("timeouts: a provider's retry window, so a failing provider fails over at once", async () => {
    ses.requests.length = 0;
    ses.reply(() => ({ status: 503, body: { message: 'busy' } }));
    try {
      const to = `${uid('timeout')}@example.test`;
      const { messages } = await sendAndWait(
        s,
        email({ to: { email: to }, channels: { email: { providers: ['ses', 'smtp'] } }, providers: { ses: { timeouts: 1 } } }),
        1,
      );
      expect(messages.map((m) => m.status)).toEqual(['SENT']);
      expect(ses.requests).toHaveLength(1);
      const history = await s.client.messages.history(messages[0].id);
      const errors = (history.results ?? []).filter((e) => e.type === 'PROVIDER_ERROR') as { provider?: string; failover?: boolean }[];
      expect(errors.map((e) => [e.provider, e.failover])).toEqual([['ses', true]]);
      expect(await mailTo(to)).toHaveLength(1);
    } finally {
      ses.reply(() => ({ status: 200, body: { MessageId: 'ses-1' } }));
    }
  });
});
