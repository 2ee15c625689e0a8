import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BadRequestError } from '@trycourier/courier';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { sendAndWait } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { INBOX_READ } from '../helpers/tokens';
import { eventually, uid } from '../helpers/wait';
import { closedPort, startRecorder, type Recorder } from './providers/recorder';

/**
 * Issue 15 item 3: a send's overrides, each asserted on what the provider received: an SMTP server
 * of the test's own (it parses cc, reply-to, attachments and keeps the envelope, so bcc shows),
 * SES, Slack and webhook stand-ins recording every request, the local capture for sms and push,
 * and the user's inbox (GET /inbox/messages) for the inbox.
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
  // RETRY_BASE_MS: a first retry 50-100 ms after a failure, so a provider window of a second or two
  // has room for a fast failure's retry and none for a slower call's (the provider timeouts below).
  s = await startTestStack({
    env: { SES_ENDPOINT: ses.url, SLACK_API_URL: slack.url, CACHE_TTL_MS: '0', TRACKING_EMAIL: 'off', TRACKING_INBOX: 'off', RETRY_BASE_MS: '100' },
  });
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

  it('html and text replace the rendered bodies the SMTP server receives; the stored output keeps the rendering', async () => {
    const to = `${uid('ada')}@example.test`;
    const { messages } = await sendAndWait(
      s,
      email({ to: { email: to }, channels: { email: { override: { html: '<p>Override <b>HTML</b></p>', text: 'Override text' } } } }),
      1,
    );
    const [mail] = await mailTo(to);
    expect(mail.html).toBe('<p>Override <b>HTML</b></p>');
    expect(mail.text.trim()).toBe('Override text');
    expect(mail.subject).toBe('Order 7');
    const out = JSON.stringify(await s.client.messages.content(messages[0].id));
    expect(out).toContain('Your order shipped.');
    expect(out).not.toContain('Override');
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

  it("inbox title, body and blocks are what the user's inbox holds; the stored output keeps the rendering", async () => {
    // Regression: the inbox override was read as a chat message's (`text`), so its `body` was dropped.
    const userId = uid('inbox');
    const { messages } = await sendAndWait(
      s,
      {
        to: { user_id: userId },
        content: { title: 'T', body: 'B' },
        routing: { method: 'single', channels: ['inbox'] },
        channels: {
          inbox: { override: { title: 'Inbox title', body: 'Inbox body', blocks: [{ type: 'action', text: 'Open', href: 'https://acme.test/o' }] } },
        },
      },
      1,
    );
    expect(messages.map((m) => m.status)).toEqual(['DELIVERED']);
    const { token } = await s.client.auth.issueToken({ scope: `user_id:${userId} ${INBOX_READ}`, expires_in: '1h' });
    const inbox = await s.http('GET', '/inbox/messages', undefined, { key: token });
    expect(inbox.status).toBe(200);
    expect(inbox.json.results).toEqual([
      expect.objectContaining({
        messageId: messages[0].id,
        title: 'Inbox title',
        body: 'Inbox body',
        blocks: [expect.objectContaining({ type: 'action', text: 'Open', href: 'https://acme.test/o' })],
      }),
    ]);
    const out = JSON.stringify(await s.client.messages.content(messages[0].id));
    expect(out).toContain('"B"');
    expect(out).not.toContain('Inbox body');
  });

  it('webhook title and body are the content the receiver is posted', async () => {
    hook.requests.length = 0;
    await sendAndWait(
      s,
      {
        to: { webhook: { url: `${hook.url}/content` } },
        content: { title: 'T', body: 'B' },
        routing: { method: 'single', channels: ['webhook'] },
        channels: { webhook: { override: { title: 'Hook title', body: 'Hook body' } } },
      },
      1,
    );
    expect(hook.requests.map((r) => r.path)).toEqual(['/content']);
    expect(JSON.parse(hook.requests[0].body).content).toEqual({ channel: 'webhook', title: 'Hook title', body: 'Hook body' });
  });
});

describe('to.webhook.profile', () => {
  const bodyAt = async (path: string) => {
    const [req] = await eventually(
      async () => hook.requests.filter((r) => r.path === path),
      (rs) => rs.length > 0,
    );
    return JSON.parse(req.body) as Record<string, any>;
  };

  it("expanded: the body carries the recipient's profile, stored and inline merged, without its webhook key", async () => {
    const userId = uid('hook');
    await s.client.profiles.replace(userId, {
      profile: { email: 'stan@example.test', plan: 'gold', phone_number: '+15550000001', webhook: { url: `${hook.url}/expanded`, profile: 'expanded' } },
    });
    const { messages } = await sendAndWait(
      s,
      { to: { user_id: userId, phone_number: '+15550000002' }, content: { title: 'T', body: 'B' }, routing: { method: 'single', channels: ['webhook'] } },
      1,
    );
    expect(messages.map((m) => m.status)).toEqual(['DELIVERED']);
    const body = await bodyAt('/expanded');
    expect(body.recipient).toEqual({ userId });
    expect(body.profile).toEqual({ email: 'stan@example.test', plan: 'gold', phone_number: '+15550000002' });
  });

  it('expanded on an inline recipient: the profile is what the send gave', async () => {
    await sendAndWait(
      s,
      {
        to: {
          email: 'inline@example.test',
          webhook: { url: `${hook.url}/inline`, profile: 'expanded', authentication: { mode: 'bearer', token: 'secret-t' } },
        },
        content: { title: 'T', body: 'B' },
        routing: { method: 'single', channels: ['webhook'] },
      },
      1,
    );
    const req = (
      await eventually(
        async () => hook.requests.filter((r) => r.path === '/inline'),
        (rs) => rs.length > 0,
      )
    )[0];
    expect(req.headers.authorization).toBe('Bearer secret-t');
    expect(JSON.parse(req.body).profile).toEqual({ email: 'inline@example.test' });
    expect(req.body).not.toContain('secret-t');
  });

  it('limited, null or unset: no profile, only the ids', async () => {
    const userId = uid('hook');
    await s.client.profiles.replace(userId, { profile: { email: 'ada@example.test', plan: 'gold' } });
    for (const [path, profile] of [
      ['/limited', 'limited'],
      ['/null', null],
      ['/unset', undefined],
    ] as const) {
      await sendAndWait(
        s,
        {
          to: { user_id: userId, webhook: { url: `${hook.url}${path}`, ...(profile === undefined ? {} : { profile }) } },
          content: { title: 'T', body: 'B' },
          routing: { method: 'single', channels: ['webhook'] },
        },
        1,
      );
      const body = await bodyAt(path);
      expect(body.recipient).toEqual({ userId });
      expect(body).not.toHaveProperty('profile');
      expect(JSON.stringify(body)).not.toContain('gold');
    }
  });

  it('another value, or any malformed field of an inline webhook address, is a 400 naming it: nothing accepted, nothing posted', async () => {
    for (const [webhook, field] of [
      [{ url: `${hook.url}/full`, profile: 'full' }, 'body.message.to.webhook.profile'],
      [{ url: 'ftp://x.test/hook' }, 'body.message.to.webhook.url'],
      [{ url: `${hook.url}/full`, method: 'GET' }, 'body.message.to.webhook.method'],
    ] as const) {
      const res = await s.http('POST', '/send', {
        message: { to: { webhook }, content: { title: 'T', body: 'B' }, routing: { method: 'single', channels: ['webhook'] } },
      });
      expect([res.status, res.json.message]).toEqual([400, expect.stringContaining(field)]);
    }
    expect(hook.requests.filter((r) => r.path === '/full')).toEqual([]);
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

/** An HTTP endpoint that answers every request with `status` after `delayMs` (a provider that is slow to fail). */
async function slowEndpoint(delayMs: number, status: number): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hits += 1;
      setTimeout(() => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ message: 'busy' }] })), delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits: () => hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * A provider's time (`channels.<ch>.timeouts.provider`, `timeout.provider[key]`) is its retry
 * window, counted from its first call, the calls' own time included: a transient failure is retried
 * while the retry would still fall inside it, else the next provider is tried, or the channel fails
 * when there is none. So a provider slower than its time fails over (or fails) after one call, where
 * a fast failure is retried.
 */
describe('provider timeouts: channels.<channel>.timeouts.provider and timeout.provider', () => {
  // A window with room for a fast failure's retries (50-100 ms away) on a loaded machine, and a provider slower than it.
  const WINDOW_MS = 1500;
  const SLOW_MS = 2000;
  type Err = { type: string; provider?: string; failover?: boolean; transient?: boolean };
  const providerErrors = async (id: string) =>
    ((await s.client.messages.history(id)).results ?? []).filter((e) => e.type === 'PROVIDER_ERROR') as unknown as Err[];

  it('channels.email.timeouts.provider: an email provider slower than it fails over to the next after one call', async () => {
    const slow = await slowEndpoint(SLOW_MS, 503);
    const { id } = await s.client.providers.create({
      provider: 'sendgrid',
      settings: { api_key: 'SG.test', from: 'app@acme.test', api_url: slow.url },
    } as never);
    try {
      const to = `${uid('slow')}@example.test`;
      const { messages } = await sendAndWait(
        s,
        email({ to: { email: to }, channels: { email: { providers: ['sendgrid', 'smtp'], timeouts: { provider: WINDOW_MS } } } }),
        1,
      );
      expect(messages.map((m) => m.status)).toEqual(['SENT']);
      expect(slow.hits()).toBe(1);
      expect((await providerErrors(messages[0].id)).map((e) => [e.provider, e.transient, e.failover])).toEqual([['sendgrid', true, true]]);
      expect(await mailTo(to)).toHaveLength(1);
    } finally {
      await s.client.providers.delete(id);
      await slow.close();
    }
  });

  it('timeout.provider: the only provider, slower than it, fails the channel after one call; failing fast, it is retried first', async () => {
    for (const [delayMs, retried] of [
      [SLOW_MS, false],
      [0, true],
    ] as const) {
      const slow = await slowEndpoint(delayMs, 503);
      try {
        const { messages } = await sendAndWait(
          s,
          {
            to: { webhook: { url: `${slow.url}/hook` } },
            content: { title: 'T', body: 'B' },
            routing: { method: 'single', channels: ['webhook'] },
            timeout: { provider: { webhook: WINDOW_MS } },
          },
          1,
        );
        expect(messages.map((m) => [m.status, m.reason])).toEqual([['UNDELIVERABLE', 'PROVIDER_ERROR']]);
        const errors = await providerErrors(messages[0].id);
        expect(errors.every((e) => e.provider === 'webhook' && e.transient === true)).toBe(true);
        if (retried) expect(slow.hits()).toBeGreaterThan(1);
        else expect(slow.hits()).toBe(1);
        expect(errors).toHaveLength(slow.hits());
      } finally {
        await slow.close();
      }
    }
  });
});
