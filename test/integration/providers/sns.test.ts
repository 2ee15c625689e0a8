import { startRecorder, sendOf, type Recorder, type SendOver } from './recorder';

// fauxqs's SNS publishes to topics only (Publish without TopicArn is refused), so a local server
// stands in for the SNS endpoint. The adapter reads SNS_ENDPOINT when its module loads.
let sns: typeof import('../../../lambdas/providers/sns');
let api: Recorder;
beforeAll(async () => {
  api = await startRecorder();
  process.env.SNS_ENDPOINT = api.url;
  sns = require('../../../lambdas/providers/sns');
});
afterAll(() => api?.close());
beforeEach(() => (api.requests.length = 0));

const published = (id: string) => ({
  status: 200,
  headers: { 'content-type': 'text/xml' },
  body: `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${id}</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>`,
});
const snsError = (status: number, code: string) => ({
  status,
  headers: { 'content-type': 'text/xml' },
  body: `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>${code}</Code><Message>nope</Message></Error><RequestId>r-2</RequestId></ErrorResponse>`,
});

const sms = (over: SendOver<'sms'> = {}) =>
  sendOf({ channel: 'sms', address: '+15550001111', content: { channel: 'sms', body: 'Your code is 1234' }, ...over });

describe('sns adapter against a stand-in SNS endpoint', () => {
  it('publishes to the phone number with the SMS type and sender id attributes, and returns the SNS MessageId', async () => {
    api.reply(() => published('sns-0001'));

    const result = await new sns.SnsAdapter().send(sms({ settings: { sender_id: 'ACME', sms_type: 'Promotional', region: 'eu-west-1' } }));

    expect(result).toEqual({ status: 'SENT', providerMessageId: 'sns-0001' });
    const [req] = api.requests;
    expect(req.headers.authorization).toContain('/eu-west-1/sns/aws4_request');
    expect(Object.fromEntries(new URLSearchParams(req.body))).toEqual({
      Action: 'Publish',
      Version: '2010-03-31',
      PhoneNumber: '+15550001111',
      Message: 'Your code is 1234',
      'MessageAttributes.entry.1.Name': 'AWS.SNS.SMS.SMSType',
      'MessageAttributes.entry.1.Value.DataType': 'String',
      'MessageAttributes.entry.1.Value.StringValue': 'Promotional',
      'MessageAttributes.entry.2.Name': 'AWS.SNS.SMS.SenderID',
      'MessageAttributes.entry.2.Value.DataType': 'String',
      'MessageAttributes.entry.2.Value.StringValue': 'ACME',
    });
  });

  it('sends Transactional and no sender id by default', async () => {
    api.reply(() => published('sns-0002'));
    await new sns.SnsAdapter().send(sms());
    const form = new URLSearchParams(api.requests[0].body);
    expect(form.get('MessageAttributes.entry.1.Value.StringValue')).toBe('Transactional');
    expect(form.has('MessageAttributes.entry.2.Name')).toBe(false);
  });

  it('fails permanently on InvalidParameter (400)', async () => {
    api.reply(() => snsError(400, 'InvalidParameter'));
    await expect(new sns.SnsAdapter().send(sms())).rejects.toMatchObject({
      transient: false,
      statusCode: 400,
      message: 'sns answered 400 InvalidParameterException',
    });
  });

  it('retries throttling as transient even when SNS answers it with a 400', async () => {
    api.reply(() => snsError(400, 'Throttling'));
    await expect(new sns.SnsAdapter().send(sms())).rejects.toMatchObject({ transient: true, statusCode: 400 });
  });

  it('retries a 500 as transient', async () => {
    api.reply(() => snsError(500, 'InternalError'));
    await expect(new sns.SnsAdapter().send(sms())).rejects.toMatchObject({ transient: true, statusCode: 500 });
  });
});
