import { generateKeyPairSync } from 'node:crypto';
import { BadRequestError, NotFoundError } from '@trycourier/courier';
import { startTestStack, type TestStack } from '../helpers/stack';
import { sendAndWait } from '../helpers/send';
import { via } from '../helpers/builders';
import { eventually, uid } from '../helpers/wait';
import { startRecorder, type Recorder } from './providers/recorder';

/**
 * Issue 14: a user's device tokens (the SDK's `users.tokens`), stored per user, and used by push
 * sends: a user with no token in the profile is reached on every usable stored token, and a token
 * the provider reports unregistered is marked `failed` and not used again.
 */
let s: TestStack;
let oauth: Recorder;
let fcm: Recorder;
let providerId: string;
beforeAll(async () => {
  s = await startTestStack({ env: { CACHE_TTL_MS: '0' } });
  [oauth, fcm] = await Promise.all([startRecorder(), startRecorder()]);
  oauth.reply(() => ({ status: 200, body: { access_token: 'tok', expires_in: 3599, token_type: 'Bearer' } }));
  const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const serviceAccount = {
    type: 'service_account',
    project_id: 'demo',
    private_key_id: 'k1',
    private_key: pem,
    client_email: 'sender@demo.iam.gserviceaccount.com',
    token_uri: `${oauth.url}/token`,
  };
  providerId = (
    await s.client.providers.create({
      provider: 'firebase-fcm',
      settings: { project_id: 'demo', service_account: JSON.stringify(serviceAccount), endpoint: fcm.url },
    } as never)
  ).id;
});
afterAll(async () => {
  if (providerId) await s.client.providers.delete(providerId);
  await Promise.all([oauth?.close(), fcm?.close()]);
  await s?.stop();
});

describe("a user's device tokens", () => {
  it('are added, read, listed, patched and deleted through the SDK', async () => {
    const user = uid('tokens-user');
    await s.client.users.tokens.addSingle('device-a', {
      user_id: user,
      provider_key: 'firebase-fcm',
      device: { platform: 'ios', model: 'iPhone' },
      tracking: { os_version: '18.1', ip: null },
      properties: { app: 'shop' },
    });
    await s.client.users.tokens.addSingle('device-b', { user_id: user, provider_key: 'apn', expiry_date: false });
    const a = await s.client.users.tokens.retrieve('device-a', { user_id: user });
    expect(a).toMatchObject({
      token: 'device-a',
      provider_key: 'firebase-fcm',
      device: { platform: 'ios', model: 'iPhone' },
      tracking: { os_version: '18.1' },
      properties: { app: 'shop' },
      status: 'active',
      expiry_date: expect.any(String),
    });
    // `ip: null` is the SDK's "not set": nothing stored for it.
    expect(a.tracking).not.toHaveProperty('ip');
    expect(Date.parse(a.expiry_date as string) - Date.now()).toBeGreaterThan(55 * 86_400_000);
    expect((await s.client.users.tokens.retrieve('device-b', { user_id: user })).expiry_date).toBe(false);
    expect((await s.client.users.tokens.list(user)).tokens.map((t) => t.token).sort()).toEqual(['device-a', 'device-b']);

    await s.client.users.tokens.update('device-a', { user_id: user, patch: [{ op: 'replace', path: '/status', value: 'revoked' }] });
    expect(await s.client.users.tokens.retrieve('device-a', { user_id: user })).toMatchObject({ status: 'revoked', device: { platform: 'ios' } });
    await expect(
      s.client.users.tokens.update('device-a', { user_id: user, patch: [{ op: 'replace', path: '/provider_key', value: 'fax' }] }),
    ).rejects.toBeInstanceOf(BadRequestError);
    await expect(s.client.users.tokens.update('nope', { user_id: user, patch: [{ op: 'replace', path: '/status', value: 'active' }] })).rejects.toBeInstanceOf(
      NotFoundError,
    );

    await s.client.users.tokens.delete('device-a', { user_id: user });
    await expect(s.client.users.tokens.retrieve('device-a', { user_id: user })).rejects.toBeInstanceOf(NotFoundError);
    // The SDK's addMultiple sends no body: nothing is added, nothing changes.
    await s.client.users.tokens.addMultiple(user);
    expect((await s.client.users.tokens.list(user)).tokens.map((t) => t.token)).toEqual(['device-b']);
    const bad = await s.http('PUT', `/users/${user}/tokens/device-c`, { provider_key: 'carrier-pigeon' });
    expect([bad.status, bad.json.message]).toEqual([400, expect.stringContaining('body.provider_key')]);
  });

  it('reach a push send, and one the provider reports unregistered is not used again', async () => {
    const user = uid('push-user');
    await s.client.profiles.replace(user, { profile: { name: 'No token in the profile' } });
    for (const token of ['good-1', 'gone-1']) await s.client.users.tokens.addSingle(token, { user_id: user, provider_key: 'firebase-fcm' });
    await s.client.users.tokens.addSingle('revoked-1', { user_id: user, provider_key: 'firebase-fcm' });
    await s.client.users.tokens.update('revoked-1', { user_id: user, patch: [{ op: 'replace', path: '/status', value: 'revoked' }] });
    fcm.reply((req) =>
      req.body.includes('gone-1')
        ? {
            status: 404,
            body: { error: { code: 404, message: 'Requested entity was not found.', status: 'NOT_FOUND', details: [{ errorCode: 'UNREGISTERED' }] } },
          }
        : { status: 200, body: { name: 'projects/demo/messages/1' } },
    );
    const tokensSent = () => fcm.requests.map((r) => (JSON.parse(r.body) as { message: { token: string } }).message.token);

    const first = await sendAndWait(s, { to: { user_id: user }, content: { title: 'Hi', body: 'x' }, routing: via('push') }, 1);
    expect(first.messages[0].status).toBe('SENT');
    expect(tokensSent().sort()).toEqual(['gone-1', 'good-1']);
    await eventually(
      () => s.client.users.tokens.retrieve('gone-1', { user_id: user }),
      (t) => t.status === 'failed',
    );

    fcm.requests.length = 0;
    const second = await sendAndWait(s, { to: { user_id: user }, content: { title: 'Again', body: 'y' }, routing: via('push') }, 1);
    expect(second.messages[0].status).toBe('SENT');
    expect(tokensSent()).toEqual(['good-1']);
  });
});
