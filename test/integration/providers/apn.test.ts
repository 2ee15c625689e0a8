import './allow-private-egress';
import { generateKeyPairSync } from 'node:crypto';
import apn from '@parse/node-apn';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { ApnAdapter, apnsId, PROVIDER_TOKEN_LIFETIME_MS } from '../../../lambdas/providers/apn';
import { Http2Client } from '../../../lambdas/providers/h2';
import { ProviderError } from '../../../lambdas/providers/port';
import { startH2Recorder, type H2Recorder } from './h2-recorder';
import { contractCase, sendOf, type SendOver } from './recorder';

/**
 * The APNs adapter against a local HTTP/2 server standing in for api.push.apple.com, and the
 * contract test: Apple publishes no Node client; @parse/node-apn (the maintained fork of node-apn,
 * the client most Node servers use) is pointed at the same stand-in through its own test hook
 * (`client._mockOverrideUrl`, the URL its HTTP/2 session connects to, with its `port` option), and both requests compared.
 */
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

let fake: H2Recorder;
let http: Http2Client;
beforeAll(async () => {
  fake = await startH2Recorder();
  http = new Http2Client({ allowPrivate: true, allowHosts: [] });
});
afterAll(async () => {
  http?.close();
  await fake?.close();
});
beforeEach(() => {
  fake.requests.length = 0;
  fake.reply(() => ({ status: 200, headers: { 'apns-id': 'APPLE-ID-1' } }));
});

/** Settings with their own key id, so each test starts without a cached provider token. */
let keys = 0;
const settings = () => ({ key_id: `KEY${++keys}`, team_id: 'TEAM123456', private_key: p8, topic: 'com.example.app', api_url: fake.url });

const push = (over: SendOver<'push'> = {}) =>
  sendOf({
    messageId: '1700000000000-push1',
    idempotencyKey: '1700000000000-push1:push',
    channel: 'push',
    address: { apn: 'a1b2c3' },
    content: { channel: 'push', title: 'Your order', body: 'It shipped.' },
    data: { order: '42' },
    settings: settings(),
    ...over,
  });

const adapter = () => new ApnAdapter(http);

describe('apn adapter against a local HTTP/2 APNs', () => {
  it('posts the alert to /3/device/<token> with a signed ES256 provider token and Apple’s headers, apns-id derived from our message id', async () => {
    const message = push();
    const result = await adapter().send(message);

    expect(result).toEqual({ status: 'SENT', providerMessageId: 'APPLE-ID-1' });
    const [req] = fake.requests;
    expect([req.method, req.path]).toEqual(['POST', '/3/device/a1b2c3']);
    expect(req.headers).toMatchObject({
      'apns-topic': 'com.example.app',
      'apns-push-type': 'alert',
      'apns-priority': '10',
      'apns-expiration': '0',
      'apns-id': apnsId('1700000000000-push1'),
      'content-type': 'application/json',
    });
    expect(req.headers['apns-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(apnsId('1700000000000-push1')).not.toBe(apnsId('1700000000000-push2'));
    const jwt = String(req.headers.authorization).replace(/^bearer /, '');
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'ES256', kid: (message.settings as { key_id: string }).key_id });
    const { payload } = await jwtVerify(jwt, publicKey);
    expect(payload.iss).toBe('TEAM123456');
    expect(typeof payload.iat).toBe('number');
    expect(JSON.parse(req.body)).toEqual({
      aps: { alert: { title: 'Your order', body: 'It shipped.' } },
      order: '42',
      courier_message_id: '1700000000000-push1',
    });
  });

  it('keeps one provider token for 50 minutes and signs a new one after (Apple: not more than every 20, not older than 60)', async () => {
    const s = settings();
    const real = Date.now;
    await adapter().send(push({ settings: s }));
    await adapter().send(push({ settings: s }));
    const spy = jest.spyOn(Date, 'now').mockImplementation(() => real() + PROVIDER_TOKEN_LIFETIME_MS + 1000);
    try {
      await adapter().send(push({ settings: s }));
    } finally {
      spy.mockRestore();
    }
    const [a, b, c] = fake.requests.map((r) => r.headers.authorization);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(PROVIDER_TOKEN_LIFETIME_MS).toBeGreaterThanOrEqual(20 * 60_000);
    expect(PROVIDER_TOKEN_LIFETIME_MS).toBeLessThan(60 * 60_000);
  });

  it('reports 410 Unregistered and 400 BadDeviceToken tokens invalid and counts the push sent when another device took it', async () => {
    fake.reply((req) =>
      req.path.endsWith('/gone')
        ? { status: 410, body: { reason: 'Unregistered', timestamp: 1700000000000 } }
        : req.path.endsWith('/bad')
          ? { status: 400, body: { reason: 'BadDeviceToken' } }
          : { status: 200, headers: { 'apns-id': 'APPLE-ID-2' } },
    );
    const result = await adapter().send(push({ address: { apn: ['gone', 'good', 'bad', 'good'] } }));
    expect(result).toEqual({ status: 'SENT', providerMessageId: 'APPLE-ID-2', invalidTokens: ['gone', 'bad'] });
    expect(fake.requests.map((r) => r.path).sort()).toEqual(['/3/device/bad', '/3/device/gone', '/3/device/good']);
  });

  it('fails permanently, naming the invalid tokens, when every device is unregistered', async () => {
    fake.reply(() => ({ status: 410, body: { reason: 'Unregistered' } }));
    const error = (await adapter()
      .send(push({ address: { apn: ['t1', 't2'] } }))
      .catch((e: unknown) => e)) as ProviderError;
    expect(error).toBeInstanceOf(ProviderError);
    expect([error.transient, error.statusCode, error.invalidTokens, error.message]).toEqual([false, 410, ['t1', 't2'], 'apn answered 410 Unregistered']);
  });

  it.each([
    [429, 'TooManyRequests', true],
    [503, 'ServiceUnavailable', true],
    [500, 'InternalServerError', true],
    [400, 'PayloadTooLarge', false],
    [403, 'InvalidProviderToken', false],
  ])('classifies %i %s (transient: %s)', async (status, reason, transient) => {
    fake.reply(() => ({ status, headers: status === 429 ? { 'retry-after': '7' } : undefined, body: { reason } }));
    const error = (await adapter()
      .send(push())
      .catch((e: unknown) => e)) as ProviderError;
    expect([error.transient, error.statusCode, error.invalidTokens, error.message]).toEqual([transient, status, undefined, `apn answered ${status} ${reason}`]);
    if (status === 429) expect(error.retryAfterMs).toBe(7000);
  });

  it('retries an ExpiredProviderToken with a newly signed token', async () => {
    const s = settings();
    await adapter().send(push({ settings: s }));
    fake.reply(() => ({ status: 403, body: { reason: 'ExpiredProviderToken' } }));
    const error = (await adapter()
      .send(push({ settings: s }))
      .catch((e: unknown) => e)) as ProviderError;
    expect([error.transient, error.statusCode]).toEqual([true, 403]);
    fake.reply(() => ({ status: 200 }));
    await adapter().send(push({ settings: s }));
    const auth = fake.requests.map((r) => r.headers.authorization);
    expect(auth[0]).toBe(auth[1]);
    expect(auth[2]).not.toBe(auth[1]);
  });

  it('sends a background push (content-available, priority 5) when the message has no title or body', async () => {
    await adapter().send(push({ content: { channel: 'push' } }));
    const [req] = fake.requests;
    expect([req.headers['apns-push-type'], req.headers['apns-priority']]).toEqual(['background', '5']);
    expect(JSON.parse(req.body).aps).toEqual({ 'content-available': 1 });
  });

  it('returns the apns-id it sent when Apple answers without one', async () => {
    fake.reply(() => ({ status: 200 }));
    expect((await adapter().send(push())).providerMessageId).toBe(apnsId('1700000000000-push1'));
  });

  it('merges providers.apn.override: body deep-merged into the payload, headers added or replacing Apple’s, never apns-topic', async () => {
    await adapter().send(
      push({
        override: {
          body: { aps: { sound: 'chime.caf', badge: 3 }, order: null },
          headers: { 'apns-collapse-id': 'order-42', 'apns-priority': '5', 'apns-topic': 'com.evil.app' },
          query: { trace: 't1' },
        },
      }),
    );
    const [req] = fake.requests;
    expect(req.path).toBe('/3/device/a1b2c3?trace=t1');
    expect([req.headers['apns-collapse-id'], req.headers['apns-priority'], req.headers['apns-topic']]).toEqual(['order-42', '5', 'com.example.app']);
    expect(JSON.parse(req.body)).toEqual({
      aps: { alert: { title: 'Your order', body: 'It shipped.' }, sound: 'chime.caf', badge: 3 },
      courier_message_id: '1700000000000-push1',
    });
  });

  it('refuses a profile without an apn token and settings without a usable key, permanently', async () => {
    const noToken = (await adapter()
      .send(push({ address: { firebaseToken: 'f1' } }))
      .catch((e: unknown) => e)) as ProviderError;
    expect([noToken.transient, noToken.message]).toEqual([false, 'apn: the profile has no apn device token']);
    const badKey = (await adapter()
      .send(push({ settings: { ...settings(), private_key: 'not a key' } }))
      .catch((e: unknown) => e)) as ProviderError;
    expect([badKey.transient, badKey.message]).toEqual([false, 'apn settings.private_key is not a usable .p8 key']);
    expect(fake.requests).toHaveLength(0);
  });

  it('connects only where the egress policy allows: a private address is refused, permanently, before any request', async () => {
    const strict = new Http2Client({ allowPrivate: false, allowHosts: [] });
    const error = (await new ApnAdapter(strict).send(push()).catch((e: unknown) => e)) as ProviderError;
    expect([error.transient, error.message]).toEqual([false, 'apn: private address refused']);
    // A name is checked on what it resolves to, in the connection itself.
    const byName = (await new ApnAdapter(strict)
      .send(push({ settings: { ...settings(), api_url: fake.url.replace('127.0.0.1', 'localhost') } }))
      .catch((e: unknown) => e)) as ProviderError;
    strict.close();
    expect([byName.transient, byName.message]).toEqual([false, 'apn: private address refused']);
    expect(fake.requests).toHaveLength(0);
  });

  it('gives up after the provider timeout, transiently', async () => {
    fake.reply(() => 'hang');
    const error = (await adapter()
      .send(push({ timeoutMs: 200 }))
      .catch((e: unknown) => e)) as ProviderError;
    expect([error.transient, error.message]).toEqual([true, 'apn timed out after 200 ms']);
  });

  it('a connection that gets no answer is transient', async () => {
    const closed = await startH2Recorder();
    const url = closed.url;
    await closed.close();
    const error = (await adapter()
      .send(push({ settings: { ...settings(), api_url: url } }))
      .catch((e: unknown) => e)) as ProviderError;
    expect([error.transient, error.message]).toEqual([true, 'apn unreachable (ECONNREFUSED)']);
  });
});

describe('apn contract: @parse/node-apn and the adapter send the same request', () => {
  it('agree on method, path, auth scheme, provider token claims, Apple headers and payload', async () => {
    const s = settings();
    const { port } = new URL(fake.url);
    const provider = new apn.Provider({ token: { key: p8, keyId: s.key_id, teamId: s.team_id }, production: true, port: Number(port) } as apn.ProviderOptions);
    (provider as unknown as { client: { _mockOverrideUrl: string } }).client._mockOverrideUrl = fake.url;
    const note = new apn.Notification();
    note.alert = { title: 'Your order', body: 'It shipped.' };
    note.topic = s.topic;
    note.pushType = 'alert';
    note.priority = 10;
    note.expiry = 0;
    note.id = apnsId('1700000000000-push1');
    note.payload = { order: '42', courier_message_id: '1700000000000-push1' };
    const vendor = async () => {
      const sent = await provider.send(note, 'a1b2c3');
      await provider.shutdown();
      expect(sent.failed).toEqual([]);
    };
    const scheme = (v: string | undefined) => String(v).split(' ')[0].toLowerCase();
    const {
      theirs: [theirs],
      ours: [ours],
    } = await contractCase({
      api: fake,
      vendor,
      ours: () => adapter().send(push({ settings: s })),
      headers: [['authorization', scheme], 'apns-topic', 'apns-push-type', 'apns-priority', 'apns-expiration', 'apns-id'],
    });
    const jwtOf = (r: typeof ours) => String(r.headers.authorization).split(' ')[1];
    // Apple documents `alg` and `kid` in the header (node-apn adds `typ: JWT`, which Apple ignores).
    expect(decodeProtectedHeader(jwtOf(ours))).toEqual({ alg: 'ES256', kid: s.key_id });
    expect(decodeProtectedHeader(jwtOf(theirs))).toMatchObject({ alg: 'ES256', kid: s.key_id });
    const claims = async (r: typeof ours) => Object.keys((await jwtVerify(jwtOf(r), publicKey)).payload).sort();
    expect(await claims(ours)).toEqual(await claims(theirs));
  });
});
