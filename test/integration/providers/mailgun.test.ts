import './allow-private-egress';
import FormData from 'form-data';
import Mailgun from 'mailgun.js';
import { MailgunAdapter } from '../../../lambdas/providers/mailgun';
import { fullEmail, SDK_MESSAGE } from './email-fixtures';
import { contractCase, sendOf, startRecorder, type Recorded, type Recorder } from './recorder';

/** Mailgun's messages API against a local fake; the contract test points mailgun.js (its client `url`, with form-data) at the same fake. */
let api: Recorder;
beforeAll(async () => {
  api = await startRecorder();
});
afterAll(() => api?.close());
beforeEach(() => {
  api.requests.length = 0;
  api.reply(() => ({ status: 200, body: { id: '<20261130.1@mg.example.test>', message: 'Queued. Thank you.' } }));
});
const settings = (over: Record<string, unknown> = {}) => ({
  api_key: 'key-1',
  domain: 'mg.example.test',
  from: 'noreply@example.test',
  api_url: api.url,
  ...over,
});

/** The multipart form as [name, value] pairs (a file as `file:<name>:<type>:<text>`). */
async function form(req: Recorded): Promise<[string, string][]> {
  const data = await new Response(Buffer.from(req.body, 'utf8'), { headers: { 'content-type': String(req.headers['content-type']) } }).formData();
  const out: [string, string][] = [];
  for (const [k, v] of data.entries()) out.push([k, typeof v === 'string' ? v : `file:${v.name}:${v.type}:${await v.text()}`]);
  return out;
}

describe('mailgun adapter', () => {
  it('posts a multipart form to /v3/<domain>/messages with Basic api:<key>, h: headers and v:courier_message_id', async () => {
    const result = await new MailgunAdapter().send(fullEmail(settings()));
    expect(result).toEqual({ providerMessageId: '<20261130.1@mg.example.test>', status: 'SENT' });
    const [req] = api.requests;
    expect([req.method, req.path, req.headers.authorization]).toEqual([
      'POST',
      '/v3/mg.example.test/messages',
      `Basic ${Buffer.from('api:key-1').toString('base64')}`,
    ]);
    expect(req.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(await form(req)).toEqual([
      ['from', '"Shop" <shop@example.test>'],
      ['to', '"Ada Lovelace" <ada@example.test>'],
      ['cc', 'cc@example.test'],
      ['bcc', 'bcc@example.test'],
      ['subject', 'Your order'],
      ['text', 'It shipped.'],
      ['html', '<p>It shipped.</p>'],
      ['h:Reply-To', 'help@example.test'],
      ['h:X-Campaign', 'c1'],
      ['h:X-Courier-Message-Id', '1700000000000abc.x1y2z3'],
      ['v:courier_message_id', '1700000000000abc.x1y2z3'],
      ['attachment', 'file:a.txt:text/plain:hello'],
    ]);
  });

  it('uses the EU base URL for region eu', async () => {
    const seen: string[] = [];
    const adapter = new MailgunAdapter({
      exchange: async (call: { url: string }) => {
        seen.push(call.url);
        return { status: 200, headers: new Headers(), text: '{"id":"x"}' };
      },
    } as never);
    await adapter.send(sendOf({ settings: { ...settings({ region: 'eu' }), api_url: undefined } }));
    await adapter.send(sendOf({ settings: { ...settings(), api_url: undefined } }));
    expect(seen).toEqual(['https://api.eu.mailgun.net/v3/mg.example.test/messages', 'https://api.mailgun.net/v3/mg.example.test/messages']);
  });

  it('merges providers.mailgun.override: body fields over ours (a list repeats the field), headers and query on the call', async () => {
    await new MailgunAdapter().send({
      ...sendOf({ settings: settings() }),
      override: { body: { 'o:tag': ['a', 'b'], subject: 'Other' }, headers: { 'x-audit': '1' }, query: { q: '1' } },
    });
    const [req] = api.requests;
    expect([req.path, req.headers['x-audit']]).toEqual(['/v3/mg.example.test/messages?q=1', '1']);
    const fields = await form(req);
    expect(fields.filter(([k]) => k === 'o:tag' || k === 'subject')).toEqual([
      ['subject', 'Other'],
      ['o:tag', 'a'],
      ['o:tag', 'b'],
    ]);
  });

  it('classifies 429 and 5xx transient, a 400 about `to` an invalid address, 401 permanent', async () => {
    api.reply(() => ({ status: 429, body: { message: 'Too many requests' } }));
    await expect(new MailgunAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({ transient: true, statusCode: 429 });
    api.reply(() => ({ status: 502, body: 'bad gateway' }));
    await expect(new MailgunAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({ transient: true, statusCode: 502 });
    api.reply(() => ({ status: 400, body: { message: "'to' parameter is not a valid address. please check documentation" } }));
    await expect(new MailgunAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({
      transient: false,
      message: 'mailgun: the recipient address was refused (to)',
    });
    api.reply(() => ({ status: 401, body: 'Forbidden' }));
    await expect(new MailgunAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({ transient: false, statusCode: 401 });
  });
});

describe('contract: mailgun.js (with form-data) against the same fake', () => {
  it('sends the same method, path, auth scheme and form fields as the adapter', async () => {
    const mg = new Mailgun(FormData).client({ username: 'api', key: 'key-1', url: api.url });
    const m = SDK_MESSAGE;
    const vendor = () =>
      mg.messages.create('mg.example.test', {
        from: '"Shop" <shop@example.test>',
        to: '"Ada Lovelace" <ada@example.test>',
        cc: 'cc@example.test',
        bcc: 'bcc@example.test',
        subject: m.subject,
        text: m.text,
        html: m.html,
        'h:Reply-To': 'help@example.test',
        'h:X-Campaign': 'c1',
        'h:X-Courier-Message-Id': m.messageId,
        'v:courier_message_id': m.messageId,
        attachment: [{ filename: 'a.txt', contentType: 'text/plain', data: Buffer.from('hello') }],
      });
    const sort = (f: [string, string][]) => [...f].sort((a, b) => a[0].localeCompare(b[0]) || a[1].localeCompare(b[1]));
    await contractCase({ api, vendor, ours: () => new MailgunAdapter().send(fullEmail(settings())), body: async (r) => sort(await form(r)) });
  });
});
