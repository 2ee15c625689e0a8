import './allow-private-egress';
import { generateKeyPairSync } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { FcmAdapter } from '../../../lambdas/providers/fcm';
import { startRecorder, sendOf, type Recorder, type SendOver } from './recorder';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

let oauth: Recorder;
let fcm: Recorder;
beforeAll(async () => {
  [oauth, fcm] = await Promise.all([startRecorder(), startRecorder()]);
});
afterAll(() => Promise.all([oauth?.close(), fcm?.close()]));
beforeEach(() => {
  oauth.requests.length = 0;
  fcm.requests.length = 0;
  oauth.reply(() => ({ status: 200, body: { access_token: `tok-${oauth.requests.length}`, expires_in: 3599, token_type: 'Bearer' } }));
  fcm.reply(() => ({ status: 200, body: { name: 'projects/demo-project/messages/0:fcm-1' } }));
});

/** Settings with their own service account, so each test starts without a cached access token. */
let accounts = 0;
function settings() {
  const serviceAccount = {
    type: 'service_account',
    project_id: 'demo-project',
    private_key_id: 'key-1',
    private_key: pem,
    client_email: `sender-${++accounts}@demo-project.iam.gserviceaccount.com`,
    token_uri: `${oauth.url}/token`,
  };
  return { project_id: 'demo-project', service_account: JSON.stringify(serviceAccount), endpoint: fcm.url };
}

const push = (over: SendOver<'push'> = {}) =>
  sendOf({
    messageId: 'm-push-1',
    channel: 'push',
    address: { firebaseToken: 'device-token-1' },
    content: { channel: 'push', title: 'Order shipped', body: 'It is on its way.' },
    ...over,
  });

describe('firebase-fcm adapter against stand-in OAuth and FCM endpoints', () => {
  it('exchanges a signed service-account assertion for a token, then posts the v1 message with it', async () => {
    const s = settings();
    const result = await new FcmAdapter().send(push({ settings: s }));

    expect(result).toEqual({ status: 'SENT', providerMessageId: 'projects/demo-project/messages/0:fcm-1' });
    const [tokenReq] = oauth.requests;
    expect([tokenReq.method, tokenReq.path, tokenReq.headers['content-type']]).toEqual(['POST', '/token', 'application/x-www-form-urlencoded']);
    const form = new URLSearchParams(tokenReq.body);
    expect(form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    const assertion = form.get('assertion')!;
    expect(decodeProtectedHeader(assertion)).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'key-1' });
    const { payload } = await jwtVerify(assertion, publicKey, { algorithms: ['RS256'] });
    expect(payload).toEqual({
      iss: JSON.parse(s.service_account).client_email,
      scope: 'https://www.googleapis.com/auth/firebase.messaging',
      aud: `${oauth.url}/token`,
      iat: expect.any(Number),
      exp: (payload.iat as number) + 3600,
    });

    const [sendReq] = fcm.requests;
    expect([sendReq.method, sendReq.path]).toEqual(['POST', '/v1/projects/demo-project/messages:send']);
    expect(sendReq.headers.authorization).toBe('Bearer tok-1');
    expect(JSON.parse(sendReq.body)).toEqual({
      message: { token: 'device-token-1', notification: { title: 'Order shipped', body: 'It is on its way.' }, data: { messageId: 'm-push-1' } },
    });
  });

  it('sends the push data of the channel override, and merges the provider override into the message, its headers and query on the call', async () => {
    await new FcmAdapter().send(
      push({
        settings: settings(),
        data: { order: '42' },
        override: {
          body: { android: { priority: 'high' }, notification: { image: 'https://x.test/i.png' } },
          headers: { 'X-Trace': 't1' },
          query: { validate_only: 'true' },
        },
      }),
    );
    const [sendReq] = fcm.requests;
    expect(sendReq.path).toBe('/v1/projects/demo-project/messages:send?validate_only=true');
    expect(sendReq.headers['x-trace']).toBe('t1');
    expect(sendReq.headers.authorization).toBe('Bearer tok-1');
    expect(JSON.parse(sendReq.body)).toEqual({
      message: {
        token: 'device-token-1',
        notification: { title: 'Order shipped', body: 'It is on its way.', image: 'https://x.test/i.png' },
        data: { order: '42', messageId: 'm-push-1' },
        android: { priority: 'high' },
      },
    });
  });

  it('reuses the access token for later sends with the same service account', async () => {
    const s = settings();
    await new FcmAdapter().send(push({ settings: s }));
    await new FcmAdapter().send(push({ settings: s }));
    expect(oauth.requests).toHaveLength(1);
    expect(fcm.requests.map((r) => r.headers.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-1']);
  });

  it('sends to every token of the profile, counts as sent when one device took it, and names the unregistered ones', async () => {
    fcm.reply((req) =>
      JSON.parse(req.body).message.token === 'stale' ? { status: 404, body: { error: { status: 'NOT_FOUND' } } } : { status: 200, body: { name: 'ok-1' } },
    );
    const result = await new FcmAdapter().send(push({ settings: settings(), address: { firebaseToken: ['stale', 'fresh'] } }));
    expect(result).toEqual({ status: 'SENT', providerMessageId: 'ok-1', invalidTokens: ['stale'] });
    expect(fcm.requests.map((r) => JSON.parse(r.body).message.token).sort()).toEqual(['fresh', 'stale']);
  });

  it('fails permanently when FCM answers 404 for the only token (unregistered device)', async () => {
    fcm.reply(() => ({ status: 404, body: { error: { status: 'NOT_FOUND' } } }));
    await expect(new FcmAdapter().send(push({ settings: settings() }))).rejects.toMatchObject({
      transient: false,
      statusCode: 404,
      invalidTokens: ['device-token-1'],
    });
  });

  it('retries a 401 as transient and exchanges a new token on the retry', async () => {
    const s = settings();
    fcm.reply(() => ({ status: 401, body: {} }));
    await expect(new FcmAdapter().send(push({ settings: s }))).rejects.toMatchObject({ transient: true, statusCode: 401 });
    fcm.reply(() => ({ status: 200, body: { name: 'ok-2' } }));
    await new FcmAdapter().send(push({ settings: s }));
    expect(oauth.requests).toHaveLength(2);
    expect(fcm.requests[1].headers.authorization).toBe('Bearer tok-2');
  });

  it('retries a 429 from FCM as transient with its retry-after', async () => {
    fcm.reply(() => ({ status: 429, headers: { 'retry-after': '10' }, body: {} }));
    await expect(new FcmAdapter().send(push({ settings: settings() }))).rejects.toMatchObject({ transient: true, statusCode: 429, retryAfterMs: 10_000 });
  });

  it('fails permanently when the token endpoint refuses the credentials', async () => {
    oauth.reply(() => ({ status: 400, body: { error: 'invalid_grant' } }));
    await expect(new FcmAdapter().send(push({ settings: settings() }))).rejects.toMatchObject({
      transient: false,
      message: 'firebase-fcm token endpoint answered 400',
    });
    expect(fcm.requests).toHaveLength(0);
  });

  it('refuses a service account that is not a key file without echoing it', async () => {
    const sent = new FcmAdapter().send(push({ settings: { project_id: 'p', service_account: 'not-json-secret-material' } }));
    await expect(sent).rejects.toMatchObject({ transient: false, message: 'firebase-fcm settings.service_account is not a service account key file' });
  });

  it('refuses a profile without a firebaseToken as permanent', async () => {
    await expect(new FcmAdapter().send(push({ settings: settings(), address: { apn: 'x' } }))).rejects.toMatchObject({ transient: false });
    expect(oauth.requests).toHaveLength(0);
  });
});
