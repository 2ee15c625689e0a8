import { startRecorder, sendOf, type Recorder } from './recorder';

// The adapter reads SES_ENDPOINT when its module loads, so it is required after the stand-in starts.
let ses: typeof import('../../../lambdas/providers/ses');
let api: Recorder;
beforeAll(async () => {
  api = await startRecorder();
  process.env.SES_ENDPOINT = api.url;
  ses = require('../../../lambdas/providers/ses');
});
afterAll(() => api?.close());
beforeEach(() => (api.requests.length = 0));

const settings = { from: 'notifications@acme.test', region: 'eu-west-1', configuration_set: 'transactional' };

describe('ses adapter against a stand-in SESv2 endpoint', () => {
  it('sends SendEmail with Simple content and the message id header, and returns the SES MessageId', async () => {
    api.reply(() => ({ status: 200, body: { MessageId: 'ses-0001' } }));

    const result = await new ses.SesAdapter().send(sendOf({ messageId: 'm-ses-1', settings }));

    expect(result).toEqual({ status: 'SENT', providerMessageId: 'ses-0001' });
    const [req] = api.requests;
    expect([req.method, req.path]).toEqual(['POST', '/v2/email/outbound-emails']);
    expect(req.headers.authorization).toContain('/eu-west-1/ses/aws4_request');
    expect(JSON.parse(req.body)).toEqual({
      FromEmailAddress: 'notifications@acme.test',
      Destination: { ToAddresses: ['ada@example.test'] },
      ConfigurationSetName: 'transactional',
      // Our message id as a message tag: SES event publishing hands it back to /inbound/providers/ses.
      EmailTags: [{ Name: 'courier_message_id', Value: 'm-ses-1' }],
      Content: {
        Simple: {
          Subject: { Data: 'Hello Ada', Charset: 'UTF-8' },
          Body: { Text: { Data: 'Your order shipped.', Charset: 'UTF-8' }, Html: { Data: '<p>Your order shipped.</p>', Charset: 'UTF-8' } },
          Headers: [{ Name: 'X-Courier-Message-Id', Value: 'm-ses-1' }],
        },
      },
    });
  });

  it('fails permanently on MessageRejected (400), naming the AWS error code', async () => {
    api.reply(() => ({ status: 400, headers: { 'x-amzn-errortype': 'MessageRejected' }, body: { message: 'Email address is not verified.' } }));
    const sent = new ses.SesAdapter().send(sendOf({ settings }));
    await expect(sent).rejects.toMatchObject({ transient: false, statusCode: 400, message: 'ses answered 400 MessageRejected' });
  });

  it('retries TooManyRequestsException (429) as transient with its retry-after, without SDK retries', async () => {
    api.reply(() => ({ status: 429, headers: { 'x-amzn-errortype': 'TooManyRequestsException', 'retry-after': '3' }, body: { message: 'slow down' } }));
    const sent = new ses.SesAdapter().send(sendOf({ settings }));
    await expect(sent).rejects.toMatchObject({ transient: true, statusCode: 429, retryAfterMs: 3000 });
    expect(api.requests).toHaveLength(1);
  });

  it('gives up after the provider timeout as transient', async () => {
    api.reply(() => 'hang');
    const sent = new ses.SesAdapter().send(sendOf({ settings, timeoutMs: 200 }));
    await expect(sent).rejects.toMatchObject({ transient: true, message: 'ses timed out after 200 ms' });
  });
});
