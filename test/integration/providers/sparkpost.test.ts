import './allow-private-egress';
import SparkPost from 'sparkpost';
import { SparkpostAdapter } from '../../../lambdas/providers/sparkpost';
import { fullEmail } from './email-fixtures';
import { contractCase, sendOf, startRecorder, type Recorder } from './recorder';

/** SparkPost's transmissions API against a local fake; the contract test points the sparkpost client (`origin`) at the same fake. */
let api: Recorder;
beforeAll(async () => {
  api = await startRecorder();
});
afterAll(() => api?.close());
const accepted = { results: { total_rejected_recipients: 0, total_accepted_recipients: 3, id: '11668787484950529' } };
beforeEach(() => {
  api.requests.length = 0;
  api.reply(() => ({ status: 200, body: accepted }));
});
const settings = (over: Record<string, unknown> = {}) => ({ api_key: 'sp-key', from: 'noreply@example.test', api_url: api.url, ...over });

const EXPECTED = {
  recipients: [
    { address: { email: 'ada@example.test', name: 'Ada Lovelace' } },
    { address: { email: 'cc@example.test', header_to: '"Ada Lovelace" <ada@example.test>' } },
    { address: { email: 'bcc@example.test', header_to: '"Ada Lovelace" <ada@example.test>' } },
  ],
  content: {
    from: { email: 'shop@example.test', name: 'Shop' },
    subject: 'Your order',
    text: 'It shipped.',
    html: '<p>It shipped.</p>',
    reply_to: 'help@example.test',
    headers: { 'X-Campaign': 'c1', 'X-Courier-Message-Id': '1700000000000abc.x1y2z3', CC: 'cc@example.test' },
    attachments: [{ name: 'a.txt', type: 'text/plain', data: 'aGVsbG8=' }],
  },
  metadata: { courier_message_id: '1700000000000abc.x1y2z3' },
};

describe('sparkpost adapter', () => {
  it('posts /api/v1/transmissions with the bare key as Authorization, cc/bcc as header_to recipients and our message id in metadata', async () => {
    const result = await new SparkpostAdapter().send(fullEmail(settings()));
    expect(result).toEqual({ providerMessageId: '11668787484950529', status: 'SENT' });
    const [req] = api.requests;
    expect([req.method, req.path, req.headers.authorization]).toEqual(['POST', '/api/v1/transmissions', 'sp-key']);
    expect(JSON.parse(req.body)).toEqual(EXPECTED);
  });

  it('uses the EU base URL for region eu and merges providers.sparkpost.override', async () => {
    const seen: string[] = [];
    const fake = {
      exchange: async (call: { url: string }) => (seen.push(call.url), { status: 200, headers: new Headers(), text: JSON.stringify(accepted) }),
    };
    await new SparkpostAdapter(fake as never).send(sendOf({ settings: { ...settings({ region: 'eu' }), api_url: undefined } }));
    expect(seen).toEqual(['https://api.eu.sparkpost.com/api/v1/transmissions']);

    await new SparkpostAdapter().send({
      ...sendOf({ settings: settings() }),
      override: { body: { campaign_id: 'orders', options: { open_tracking: false } }, query: { num_rcpt_errors: '3' } },
    });
    expect(api.requests[0].path).toBe('/api/v1/transmissions?num_rcpt_errors=3');
    expect(JSON.parse(api.requests[0].body)).toMatchObject({
      campaign_id: 'orders',
      options: { open_tracking: false },
      metadata: { courier_message_id: '1700000000000-msg1' },
    });
  });

  it('classifies: 5002 and a transmission that accepted nobody an invalid address, 420 with 2102 (hourly limit) transient, 2101 permanent, 429 and 5xx transient', async () => {
    api.reply(() => ({ status: 422, body: { errors: [{ message: 'At least one valid recipient is required', code: '5002' }] } }));
    await expect(new SparkpostAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({
      transient: false,
      message: 'sparkpost: the recipient address was refused (5002)',
    });
    api.reply(() => ({ status: 200, body: { results: { total_rejected_recipients: 1, total_accepted_recipients: 0, id: 'x' } } }));
    await expect(new SparkpostAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({ transient: false });
    api.reply(() => ({ status: 420, body: { errors: [{ message: 'Exceed Sending Limit (hourly)', code: '2102' }] } }));
    await expect(new SparkpostAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({
      transient: true,
      message: 'sparkpost answered 420 (2102)',
    });
    api.reply(() => ({ status: 420, body: { errors: [{ message: 'Exceed Sending Limit (sandbox)', code: '2101' }] } }));
    await expect(new SparkpostAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({ transient: false, statusCode: 420 });
    api.reply(() => ({ status: 429, body: { errors: [{ message: 'Too many requests' }] } }));
    await expect(new SparkpostAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({ transient: true, statusCode: 429 });
    api.reply(() => ({ status: 503, body: 'unavailable' }));
    await expect(new SparkpostAdapter().send(sendOf({ settings: settings() }))).rejects.toMatchObject({ transient: true, statusCode: 503 });
  });
});

describe('contract: the sparkpost client against the same fake', () => {
  it('sends the same method, path, auth header and body fields as the adapter', async () => {
    const client = new SparkPost('sp-key', { origin: api.url });
    await contractCase({
      api,
      vendor: () => client.transmissions.send(EXPECTED),
      ours: () => new SparkpostAdapter().send(fullEmail(settings())),
      path: (p) => p.split('?')[0],
    });
  });
});
