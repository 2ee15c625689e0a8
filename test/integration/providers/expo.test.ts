import './allow-private-egress';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ExpoAdapter, fetchExpoReceipts } from '../../../lambdas/providers/expo';
import { ProviderError } from '../../../lambdas/providers/port';
import { contractCase, startRecorder, sendOf, type Recorder, type SendOver } from './recorder';

/**
 * The Expo adapter against a stand-in for Expo's push API, and the contract test against Expo's
 * official client, expo-server-sdk. That package is ESM-only and reads its base URL from
 * `EXPO_BASE_URL` when it loads, so it runs in a child node process with that variable set to the
 * stand-in.
 */
let api: Recorder;
beforeAll(async () => {
  api = await startRecorder();
});
afterAll(() => api?.close());
beforeEach(() => {
  api.requests.length = 0;
  api.reply((req) => ({ status: 200, body: { data: (JSON.parse(req.body) as unknown[]).map((_, i) => ({ status: 'ok', id: `ticket-${i}` })) } }));
});

const push = (over: SendOver<'push'> = {}) =>
  sendOf({
    messageId: '1700000000000-expo1',
    idempotencyKey: '1700000000000-expo1:push',
    channel: 'push',
    address: { expo: { token: 'ExponentPushToken[aaa]' } },
    content: { channel: 'push', title: 'Your order', body: 'It shipped.' },
    data: { order: '42' },
    settings: { api_url: api.url },
    ...over,
  });

const fail = (p: Promise<unknown>) => p.catch((e: unknown) => e) as Promise<ProviderError>;

/** Runs an ES module script with expo-server-sdk in a child node process, its EXPO_BASE_URL the stand-in. */
const expoClient = (script: string, env: Record<string, string> = {}) =>
  promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), env: { ...process.env, EXPO_BASE_URL: api.url, ...env } });

describe('expo adapter against a stand-in push API', () => {
  it('posts one message per token to /--/api/v2/push/send with our message id in data, and returns the ticket id', async () => {
    const result = await new ExpoAdapter().send(push({ address: { expo: { token: 'ExponentPushToken[aaa]', tokens: ['ExponentPushToken[bbb]'] } } }));
    expect(result).toEqual({
      status: 'SENT',
      providerMessageId: 'ticket-0',
      tickets: [
        { id: 'ticket-0', token: 'ExponentPushToken[aaa]' },
        { id: 'ticket-1', token: 'ExponentPushToken[bbb]' },
      ],
    });
    const [req] = api.requests;
    expect([req.method, req.path, req.headers['content-type'], req.headers.accept, req.headers.authorization]).toEqual([
      'POST',
      '/--/api/v2/push/send',
      'application/json',
      'application/json',
      undefined,
    ]);
    expect(JSON.parse(req.body)).toEqual(
      ['ExponentPushToken[aaa]', 'ExponentPushToken[bbb]'].map((to) => ({
        to,
        title: 'Your order',
        body: 'It shipped.',
        data: { order: '42', courier_message_id: '1700000000000-expo1' },
      })),
    );
  });

  it('sends the access token as a bearer when set', async () => {
    await new ExpoAdapter().send(push({ settings: { api_url: api.url, access_token: 'expo-secret' } }));
    expect(api.requests[0].headers.authorization).toBe('Bearer expo-secret');
  });

  it('batches at most 100 messages a request', async () => {
    const tokens = Array.from({ length: 230 }, (_, i) => `ExponentPushToken[t${i}]`);
    await new ExpoAdapter().send(push({ address: { expo: { tokens } } }));
    expect(api.requests.map((r) => (JSON.parse(r.body) as unknown[]).length)).toEqual([100, 100, 30]);
    expect(api.requests.flatMap((r) => (JSON.parse(r.body) as { to: string }[]).map((m) => m.to))).toEqual(tokens);
  });

  it('reports DeviceNotRegistered tickets invalid; sent when another device took it, a permanent failure when none did', async () => {
    api.reply(() => ({
      status: 200,
      body: {
        data: [
          { status: 'error', message: '"ExponentPushToken[aaa]" is not a registered push notification recipient', details: { error: 'DeviceNotRegistered' } },
          { status: 'ok', id: 'ticket-b' },
        ],
      },
    }));
    const result = await new ExpoAdapter().send(push({ address: { expo: { tokens: ['ExponentPushToken[aaa]', 'ExponentPushToken[bbb]'] } } }));
    expect(result).toEqual({
      status: 'SENT',
      providerMessageId: 'ticket-b',
      tickets: [{ id: 'ticket-b', token: 'ExponentPushToken[bbb]' }],
      invalidTokens: ['ExponentPushToken[aaa]'],
    });

    api.reply(() => ({ status: 200, body: { data: [{ status: 'error', message: 'gone', details: { error: 'DeviceNotRegistered' } }] } }));
    const error = await fail(new ExpoAdapter().send(push()));
    expect([error.transient, error.invalidTokens, error.message]).toEqual([false, ['ExponentPushToken[aaa]'], 'expo refused the push: DeviceNotRegistered']);
  });

  it.each([
    ['a MessageRateExceeded ticket', true, { status: 200, body: { data: [{ status: 'error', details: { error: 'MessageRateExceeded' } }] } }],
    ['a MessageTooBig ticket', false, { status: 200, body: { data: [{ status: 'error', details: { error: 'MessageTooBig' } }] } }],
    ['429', true, { status: 429, headers: { 'retry-after': '3' }, body: { errors: [{ code: 'TOO_MANY_REQUESTS' }] } }],
    ['503', true, { status: 503, body: 'unavailable' }],
    ['400 (a malformed request)', false, { status: 400, body: { errors: [{ code: 'VALIDATION_ERROR' }] } }],
    ['401 (a wrong access token)', false, { status: 401, body: { errors: [{ code: 'UNAUTHORIZED' }] } }],
    ['an answer without tickets', true, { status: 200, body: { data: [] } }],
  ])('classifies %s (transient: %s)', async (_, transient, reply) => {
    api.reply(() => reply);
    const error = await fail(new ExpoAdapter().send(push()));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.transient).toBe(transient);
  });

  it('merges providers.expo.override: body deep-merged into each message, headers and query on the call', async () => {
    await new ExpoAdapter().send(
      push({ override: { body: { sound: 'default', priority: 'high', data: { order: null } }, headers: { 'x-trace': 't1' }, query: { v: '2' } } }),
    );
    const [req] = api.requests;
    expect([req.path, req.headers['x-trace']]).toEqual(['/--/api/v2/push/send?v=2', 't1']);
    expect(JSON.parse(req.body)[0]).toEqual({
      to: 'ExponentPushToken[aaa]',
      title: 'Your order',
      body: 'It shipped.',
      sound: 'default',
      priority: 'high',
      data: { courier_message_id: '1700000000000-expo1' },
    });
  });

  it('reads the token as `expo: "<token>"` too, and refuses a profile without one', async () => {
    await new ExpoAdapter().send(push({ address: { expo: 'ExponentPushToken[ccc]' } }));
    expect(JSON.parse(api.requests[0].body)[0].to).toBe('ExponentPushToken[ccc]');
    const error = await fail(new ExpoAdapter().send(push({ address: { expo: { tokens: [] } } })));
    expect([error.transient, error.message]).toEqual([false, 'expo: the profile has no expo token']);
  });
});

describe('expo push receipts against the stand-in', () => {
  const receiptsReply = (req: { body: string }) => ({
    status: 200,
    body: { data: Object.fromEntries((JSON.parse(req.body) as { ids: string[] }).ids.map((id) => [id, { status: 'ok' }])) },
  });

  it('posts the ticket ids to /--/api/v2/push/getReceipts with the bearer, and answers the receipts by id', async () => {
    api.reply(() => ({
      status: 200,
      body: { data: { 't-1': { status: 'ok' }, 't-2': { status: 'error', message: 'gone', details: { error: 'DeviceNotRegistered' } } } },
    }));
    const receipts = await fetchExpoReceipts({ api_url: api.url, access_token: 'expo-secret' }, ['t-1', 't-2', 't-3'], 3000);
    expect(receipts).toEqual({ 't-1': { status: 'ok' }, 't-2': { status: 'error', message: 'gone', details: { error: 'DeviceNotRegistered' } } });
    const [req] = api.requests;
    expect([req.method, req.path, req.headers.authorization, req.headers['content-type']]).toEqual([
      'POST',
      '/--/api/v2/push/getReceipts',
      'Bearer expo-secret',
      'application/json',
    ]);
    expect(JSON.parse(req.body)).toEqual({ ids: ['t-1', 't-2', 't-3'] });
  });

  it('asks for at most 1000 ids a request', async () => {
    api.reply(receiptsReply);
    const ids = Array.from({ length: 2300 }, (_, i) => `t-${i}`);
    const receipts = await fetchExpoReceipts({ api_url: api.url }, ids, 3000);
    expect(Object.keys(receipts)).toHaveLength(2300);
    expect(api.requests.map((r) => (JSON.parse(r.body) as { ids: string[] }).ids.length)).toEqual([1000, 1000, 300]);
    expect(api.requests[0].headers.authorization).toBeUndefined();
  });

  it.each([
    ['503', true, { status: 503, body: 'unavailable' }],
    ['429', true, { status: 429, body: { errors: [{ code: 'TOO_MANY_REQUESTS' }] } }],
    ['401', false, { status: 401, body: { errors: [{ code: 'UNAUTHORIZED' }] } }],
    ['an answer without a data object', true, { status: 200, body: { data: [] } }],
  ])('classifies %s (transient: %s)', async (_, transient, reply) => {
    api.reply(() => reply);
    const error = await fail(fetchExpoReceipts({ api_url: api.url }, ['t-1'], 3000));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.transient).toBe(transient);
  });
});

describe('expo contract: expo-server-sdk and the adapter send the same request', () => {
  it('agree on method, path, auth scheme and body fields', async () => {
    const script = `
      import { Expo } from 'expo-server-sdk';
      const expo = new Expo({ accessToken: 'expo-secret' });
      const tickets = await expo.sendPushNotificationsAsync(JSON.parse(process.env.MESSAGES));
      process.stdout.write(JSON.stringify(tickets));
    `;
    const messages = [
      { to: 'ExponentPushToken[aaa]', title: 'Your order', body: 'It shipped.', data: { order: '42', courier_message_id: '1700000000000-expo1' } },
    ];
    const vendor = async () => {
      const { stdout } = await expoClient(script, { MESSAGES: JSON.stringify(messages) });
      expect(JSON.parse(stdout)).toEqual([{ status: 'ok', id: 'ticket-0' }]);
    };
    await contractCase({
      api,
      vendor,
      ours: () => new ExpoAdapter().send(push({ settings: { api_url: api.url, access_token: 'expo-secret' } })),
      headers: ['authorization', 'content-type'],
    });
  });
});

describe('expo contract: expo-server-sdk and fetchExpoReceipts ask for receipts alike', () => {
  it('agree on method, path, auth scheme and body fields', async () => {
    api.reply(() => ({ status: 200, body: { data: { 'ticket-0': { status: 'ok' } } } }));
    const script = `
      import { Expo } from 'expo-server-sdk';
      const expo = new Expo({ accessToken: 'expo-secret' });
      const receipts = await expo.getPushNotificationReceiptsAsync(['ticket-0', 'ticket-1']);
      process.stdout.write(JSON.stringify(receipts));
    `;
    const vendor = async () => {
      const { stdout } = await expoClient(script);
      expect(JSON.parse(stdout)).toEqual({ 'ticket-0': { status: 'ok' } });
    };
    const ours = async () =>
      expect(await fetchExpoReceipts({ api_url: api.url, access_token: 'expo-secret' }, ['ticket-0', 'ticket-1'], 3000)).toEqual({
        'ticket-0': { status: 'ok' },
      });
    await contractCase({ api, vendor, ours, headers: ['authorization', 'content-type'] });
  });
});
