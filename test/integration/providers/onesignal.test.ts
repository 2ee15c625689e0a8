import './allow-private-egress';
import * as OneSignal from '@onesignal/node-onesignal';
import { uuidFrom } from '../../../lambdas/providers/ids';
import { OneSignalAdapter } from '../../../lambdas/providers/onesignal';
import { ProviderError } from '../../../lambdas/providers/port';
import { contractCase, startRecorder, sendOf, type Recorder, type SendOver } from './recorder';

/**
 * The OneSignal adapter against a stand-in for OneSignal's REST API, and the contract test against
 * OneSignal's official client, @onesignal/node-onesignal, pointed at the same stand-in (its
 * `baseServer` configuration).
 */
let api: Recorder;
beforeAll(async () => {
  api = await startRecorder();
});
afterAll(() => api?.close());
beforeEach(() => {
  api.requests.length = 0;
  api.reply(() => ({ status: 200, body: { id: 'os-notification-1', external_id: null } }));
});

const settings = () => ({ app_id: 'app-1', api_key: 'os_v2_app_secret', api_url: api.url });
const push = (over: SendOver<'push'> = {}) =>
  sendOf({
    messageId: '1700000000000-os1',
    idempotencyKey: '1700000000000-os1:push',
    channel: 'push',
    address: { onesignalPlayerID: 'sub-1' },
    content: { channel: 'push', title: 'Your order', body: 'It shipped.' },
    data: { order: '42' },
    settings: settings(),
    ...over,
  });

const fail = (p: Promise<unknown>) => p.catch((e: unknown) => e) as Promise<ProviderError>;

describe('onesignal adapter against a stand-in REST API', () => {
  it('posts one notification to /notifications with the app, the subscription ids, our message id in data and a UUID idempotency key', async () => {
    const result = await new OneSignalAdapter().send(push({ address: { onesignalPlayerID: ['sub-1', 'sub-2', 'sub-1'] } }));
    expect(result).toEqual({ status: 'SENT', providerMessageId: 'os-notification-1' });
    const [req] = api.requests;
    expect([req.method, req.path, req.headers.authorization, req.headers['content-type']]).toEqual([
      'POST',
      '/notifications?c=push',
      'Key os_v2_app_secret',
      'application/json',
    ]);
    const body = JSON.parse(req.body);
    expect(body).toEqual({
      app_id: 'app-1',
      include_subscription_ids: ['sub-1', 'sub-2'],
      headings: { en: 'Your order' },
      contents: { en: 'It shipped.' },
      data: { order: '42', courier_message_id: '1700000000000-os1' },
      idempotency_key: uuidFrom('1700000000000-os1:push'),
    });
    expect(body.idempotency_key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('reports the subscriptions OneSignal names in errors.invalid_player_ids, and fails permanently when it sent nothing', async () => {
    api.reply(() => ({ status: 200, body: { id: 'os-2', errors: { invalid_player_ids: ['sub-2'] } } }));
    expect(await new OneSignalAdapter().send(push({ address: { onesignalPlayerID: ['sub-1', 'sub-2'] } }))).toEqual({
      status: 'SENT',
      providerMessageId: 'os-2',
      invalidTokens: ['sub-2'],
    });

    api.reply(() => ({ status: 200, body: { id: '', errors: { invalid_player_ids: ['sub-1'] } } }));
    const gone = await fail(new OneSignalAdapter().send(push()));
    expect([gone.transient, gone.invalidTokens, gone.message]).toEqual([false, ['sub-1'], 'onesignal sent nothing: no subscribed recipient']);

    api.reply(() => ({ status: 200, body: { id: '', errors: ['All included players are not subscribed'] } }));
    const unsubscribed = await fail(new OneSignalAdapter().send(push()));
    expect([unsubscribed.transient, unsubscribed.invalidTokens, unsubscribed.message]).toEqual([
      false,
      undefined,
      'onesignal sent nothing: All included players are not subscribed',
    ]);
  });

  it.each([
    [429, true],
    [500, true],
    [503, true],
    [400, false],
    [403, false],
  ])('classifies %i (transient: %s)', async (status, transient) => {
    api.reply(() => ({ status, headers: status === 429 ? { 'retry-after': '2' } : undefined, body: { errors: ['nope'] } }));
    const error = await fail(new OneSignalAdapter().send(push()));
    expect([error.transient, error.statusCode]).toEqual([transient, status]);
    if (status === 429) expect(error.retryAfterMs).toBe(2000);
  });

  it('merges providers.onesignal.override: body deep-merged into the notification, headers and query on the call', async () => {
    await new OneSignalAdapter().send(
      push({
        override: {
          body: { ios_sound: 'chime.caf', contents: { fr: 'Expédiée.' }, data: { order: null } },
          headers: { 'x-trace': 't1' },
          query: { c: 'push', v: '2' },
        },
      }),
    );
    const [req] = api.requests;
    expect([req.path, req.headers['x-trace']]).toEqual(['/notifications?c=push&v=2', 't1']);
    expect(JSON.parse(req.body)).toMatchObject({
      ios_sound: 'chime.caf',
      contents: { en: 'It shipped.', fr: 'Expédiée.' },
      data: { courier_message_id: '1700000000000-os1' },
    });
    expect(JSON.parse(req.body).data.order).toBeUndefined();
  });

  it('refuses a profile without a onesignalPlayerID and settings without an api_key, permanently', async () => {
    const noId = await fail(new OneSignalAdapter().send(push({ address: { apn: 'x' } })));
    expect([noId.transient, noId.message]).toEqual([false, 'onesignal: the profile has no onesignalPlayerID']);
    const noKey = await fail(new OneSignalAdapter().send(push({ settings: { app_id: 'app-1', api_url: api.url } })));
    expect([noKey.transient, noKey.message]).toEqual([false, 'onesignal settings are invalid: settings.api_key']);
    expect(api.requests).toHaveLength(0);
  });
});

describe('onesignal contract: @onesignal/node-onesignal and the adapter send the same request', () => {
  it('agree on method, path, auth scheme and body fields', async () => {
    const client = new OneSignal.DefaultApi(
      OneSignal.createConfiguration({ restApiKey: 'os_v2_app_secret', baseServer: new OneSignal.ServerConfiguration(api.url, {}) }),
    );
    const notification = new OneSignal.Notification();
    notification.app_id = 'app-1';
    notification.include_subscription_ids = ['sub-1'];
    notification.headings = { en: 'Your order' };
    notification.contents = { en: 'It shipped.' };
    notification.data = { order: '42', courier_message_id: '1700000000000-os1' };
    notification.idempotency_key = uuidFrom('1700000000000-os1:push');
    const vendor = async () => {
      const answer = await client.createNotification(notification);
      expect(answer.id).toBe('os-notification-1');
    };
    // The client predates the `c=push` channel parameter of OneSignal's current docs: paths agree, the query differs.
    const { theirs } = await contractCase({ api, vendor, ours: () => new OneSignalAdapter().send(push()), path: (p) => new URL(p, api.url).pathname });
    expect(theirs[0].path).toBe(new URL(theirs[0].path, api.url).pathname);
  });
});
