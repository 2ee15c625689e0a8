import { generateKeyPairSync } from 'node:crypto';
import { startTestStack, type TestStack } from '../helpers/stack';
import { sendAndWait } from '../helpers/send';
import { via } from '../helpers/builders';
import { eventually, uid } from '../helpers/wait';
import { uuidFrom } from '../../lambdas/providers/ids';
import { startH2Recorder, type H2Recorder } from './providers/h2-recorder';
import { startRecorder, type Recorder } from './providers/recorder';

/**
 * Issue 16: the push providers apn, expo and onesignal, configured through the SDK
 * (`providers.create` with `api_url` = a local stand-in) and reached by SDK sends: the profile's
 * token and the user's stored device tokens (`users.tokens`) of that provider, our message id
 * carried, and a token the vendor reports invalid marked `failed`. (Only lambdas/providers/ids.ts is
 * imported from the functions' code: modules that read the configuration must load in the stack.)
 */
let s: TestStack;
let apns: H2Recorder;
let expo: Recorder;
let onesignal: Recorder;
const providerIds: string[] = [];
beforeAll(async () => {
  s = await startTestStack({ env: { CACHE_TTL_MS: '0' } });
  [apns, expo, onesignal] = await Promise.all([startH2Recorder(), startRecorder(), startRecorder()]);
  const p8 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const configured = [
    { provider: 'apn', settings: { key_id: 'KEY1', team_id: 'TEAM1', private_key: p8, topic: 'com.example.app', api_url: apns.url } },
    { provider: 'expo', settings: { access_token: 'expo-access-token', api_url: expo.url } },
    { provider: 'onesignal', settings: { app_id: 'app-1', api_key: 'os_v2_app_key', api_url: onesignal.url } },
  ];
  for (const p of configured) providerIds.push((await s.client.providers.create(p as never)).id);
});
afterAll(async () => {
  for (const id of providerIds) await s?.client.providers.delete(id);
  await Promise.all([apns?.close(), expo?.close(), onesignal?.close()]);
  await s?.stop();
});

const failed = (user: string, token: string) =>
  eventually(
    () => s.client.users.tokens.retrieve(token, { user_id: user }),
    (t) => t.status === 'failed',
  );

describe('push providers through the SDK', () => {
  it('apn: the profile token and the stored ones get the alert over HTTP/2, apns-id from the message id; an Unregistered token is not used again', async () => {
    const user = uid('apn-user');
    await s.client.profiles.replace(user, { profile: { apn: 'profile-apn' } });
    for (const token of ['stored-apn', 'gone-apn']) await s.client.users.tokens.addSingle(token, { user_id: user, provider_key: 'apn' });
    apns.reply((req) => (req.path.endsWith('/gone-apn') ? { status: 410, body: { reason: 'Unregistered' } } : { status: 200 }));
    apns.requests.length = 0;

    const first = await sendAndWait(s, { to: { user_id: user }, content: { title: 'Hi', body: 'From APNs' }, routing: via('apn') }, 1);
    expect(first.messages[0].status).toBe('SENT');
    expect(apns.requests.map((r) => r.path).sort()).toEqual(['/3/device/gone-apn', '/3/device/profile-apn', '/3/device/stored-apn']);
    const [req] = apns.requests;
    expect([req.headers['apns-topic'], req.headers['apns-id']]).toEqual(['com.example.app', uuidFrom(first.messages[0].id)]);
    expect(JSON.parse(req.body)).toEqual({ aps: { alert: { title: 'Hi', body: 'From APNs' } }, courier_message_id: first.messages[0].id });
    await failed(user, 'gone-apn');

    apns.requests.length = 0;
    await sendAndWait(s, { to: { user_id: user }, content: { title: 'Again', body: 'x' }, routing: via('apn') }, 1);
    expect(apns.requests.map((r) => r.path).sort()).toEqual(['/3/device/profile-apn', '/3/device/stored-apn']);
  });

  it('expo: a stored token gets the message with our message id in data and the provider override merged; DeviceNotRegistered marks it failed', async () => {
    const user = uid('expo-user');
    await s.client.profiles.replace(user, { profile: { name: 'Only stored tokens' } });
    await s.client.users.tokens.addSingle('ExponentPushToken[gone]', { user_id: user, provider_key: 'expo' });
    await s.client.users.tokens.addSingle('ExponentPushToken[ok]', { user_id: user, provider_key: 'expo' });
    expo.reply((req) => ({
      status: 200,
      body: {
        data: (JSON.parse(req.body) as { to: string }[]).map((m) =>
          m.to.includes('gone') ? { status: 'error', message: 'not registered', details: { error: 'DeviceNotRegistered' } } : { status: 'ok', id: 'ticket-1' },
        ),
      },
    }));

    const sent = await sendAndWait(
      s,
      {
        to: { user_id: user },
        content: { title: 'Hi', body: 'From Expo' },
        routing: via('expo'),
        providers: { expo: { override: { body: { sound: 'default' } } } },
      },
      1,
    );
    expect(sent.messages[0].status).toBe('SENT');
    const [req] = expo.requests;
    expect([req.path, req.headers.authorization]).toEqual(['/--/api/v2/push/send', 'Bearer expo-access-token']);
    const messages = (JSON.parse(req.body) as { to: string }[]).sort((a, b) => a.to.localeCompare(b.to));
    expect(messages).toEqual(
      ['ExponentPushToken[gone]', 'ExponentPushToken[ok]'].map((to) => ({
        to,
        title: 'Hi',
        body: 'From Expo',
        sound: 'default',
        data: { courier_message_id: sent.messages[0].id },
      })),
    );
    await failed(user, 'ExponentPushToken[gone]');
  });

  it('onesignal: the profile’s onesignalPlayerID gets the notification with the app id, Key auth and our message id', async () => {
    const user = uid('os-user');
    await s.client.profiles.replace(user, { profile: { onesignalPlayerID: 'sub-profile' } });
    onesignal.reply(() => ({ status: 200, body: { id: 'os-notification-1' } }));

    const sent = await sendAndWait(s, { to: { user_id: user }, content: { title: 'Hi', body: 'From OneSignal' }, routing: via('onesignal') }, 1);
    expect(sent.messages[0].status).toBe('SENT');
    const [req] = onesignal.requests;
    expect([req.path, req.headers.authorization]).toEqual(['/notifications?c=push', 'Key os_v2_app_key']);
    expect(JSON.parse(req.body)).toMatchObject({
      app_id: 'app-1',
      include_subscription_ids: ['sub-profile'],
      headings: { en: 'Hi' },
      contents: { en: 'From OneSignal' },
      data: { courier_message_id: sent.messages[0].id },
    });
  });

  it('lists the three in the catalog with their secrets redacted on read', async () => {
    const catalog = (await s.client.providers.catalog.list()) as unknown as { results: { provider: string }[] };
    expect(catalog.results.map((p) => p.provider)).toEqual(expect.arrayContaining(['apn', 'expo', 'onesignal']));
    const apn = await s.client.providers.retrieve(providerIds[0]);
    const settings = (apn as unknown as { settings: Record<string, string> }).settings;
    expect(settings.private_key).toMatch(/^\*{8}/);
    expect(settings.team_id).toBe('TEAM1');
  });
});
