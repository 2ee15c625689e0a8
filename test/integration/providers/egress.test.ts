import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { startRecorder, sendOf, type Recorder } from './recorder';

/**
 * Issue 11, item 8: API callers choose webhook URLs, Teams URLs, FCM endpoints, the Slack API URL
 * and the SMTP host. With private egress off (the default everywhere but the local stack), every
 * adapter refuses a target that is or resolves to a loopback, private, link-local or other special
 * address: a permanent failure that says only "private address refused", and the target never
 * sees a connection. The stand-ins listen on 127.0.0.1, as a service on the worker's own network
 * would.
 */
type Adapters = {
  webhook: typeof import('../../../lambdas/providers/webhook');
  msteams: typeof import('../../../lambdas/providers/msteams');
  slack: typeof import('../../../lambdas/providers/slack');
  fcm: typeof import('../../../lambdas/providers/fcm');
  smtp: typeof import('../../../lambdas/providers/smtp');
  capture: typeof import('../../../lambdas/providers/local-capture');
};

/** The adapters as a function started with `env` loads them (configuration is read once, at load). */
function loadAdapters(env: Record<string, string | undefined>): Adapters {
  let loaded: Adapters | undefined;
  jest.isolateModules(() => {
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    loaded = {
      webhook: require('../../../lambdas/providers/webhook'),
      msteams: require('../../../lambdas/providers/msteams'),
      slack: require('../../../lambdas/providers/slack'),
      fcm: require('../../../lambdas/providers/fcm'),
      smtp: require('../../../lambdas/providers/smtp'),
      capture: require('../../../lambdas/providers/local-capture'),
    };
  });
  return loaded!;
}

const closed = loadAdapters({ ALLOW_PRIVATE_EGRESS: undefined, EGRESS_ALLOW_HOSTS: undefined, SLACK_API_URL: undefined });
const allowLocalhost = loadAdapters({ ALLOW_PRIVATE_EGRESS: 'false', EGRESS_ALLOW_HOSTS: 'localhost' });

let target: Recorder;
let port: string;
let smtp: { port: number; connections: number; close(): Promise<void> };
beforeAll(async () => {
  target = await startRecorder();
  port = new URL(target.url).port;
  let connections = 0;
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 100,
    onConnect: (_session, cb) => {
      connections += 1;
      cb();
    },
    onData: (stream, _s, cb) => stream.resume().on('end', () => cb()),
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  smtp = {
    port: (server.server.address() as AddressInfo).port,
    get connections() {
      return connections;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
});
afterAll(() => Promise.all([target?.close(), smtp?.close()]));
beforeEach(() => {
  target.requests.length = 0;
  target.reply(() => ({ status: 200, body: { ok: true, ts: '1.2', access_token: 'tok', expires_in: 3600, name: 'n' } }));
});

const refused = (what: string) => ({ transient: false, message: `${what}: private address refused` });

const hookTo = (url: string) => sendOf({ channel: 'webhook', address: { url }, content: { channel: 'webhook', title: 'T', body: 'B' } });

describe('with private egress off', () => {
  it.each([
    ['127.0.0.1', () => `http://127.0.0.1:${port}/hook`],
    ['0x7f.1 (hexadecimal, short form)', () => `http://0x7f.1:${port}/hook`],
    ['2130706433 (one decimal number)', () => `http://2130706433:${port}/hook`],
    ['0177.0.0.1 (octal)', () => `http://0177.0.0.1:${port}/hook`],
    ['[::ffff:127.0.0.1] (IPv4-mapped IPv6)', () => `http://[::ffff:127.0.0.1]:${port}/hook`],
    ['localhost (a name that resolves to loopback)', () => `http://localhost:${port}/hook`],
    ['169.254.169.254 (the metadata service)', () => 'http://169.254.169.254/latest/meta-data/'],
  ])('the webhook adapter refuses a profile url at %s', async (_name, url) => {
    await expect(new closed.webhook.WebhookAdapter().send(hookTo(url()))).rejects.toMatchObject(refused('webhook'));
    expect(target.requests).toHaveLength(0);
  });

  it("refuses a provider's webhook url at a private address too", async () => {
    const sent = new closed.webhook.WebhookAdapter().send({
      ...hookTo(`http://127.0.0.1:${port}/x`),
      address: {},
      settings: { url: `http://127.0.0.1:${port}/hook` },
    });
    await expect(sent).rejects.toMatchObject(refused('webhook'));
    expect(target.requests).toHaveLength(0);
  });

  it('the msteams adapter refuses a webhook_url and a service_url at a private address', async () => {
    const dm = (msTeams: Record<string, unknown>) =>
      sendOf({ channel: 'direct_message', address: { ms_teams: msTeams }, content: { channel: 'direct_message', title: 'T', text: 'B' } });
    await expect(new closed.msteams.MsTeamsAdapter().send(dm({ webhook_url: `http://127.0.0.1:${port}/teams` }))).rejects.toMatchObject(refused('msteams'));
    await expect(new closed.msteams.MsTeamsAdapter().send(dm({ service_url: `http://localhost:${port}`, conversation_id: 'c1' }))).rejects.toMatchObject(
      refused('msteams'),
    );
    expect(target.requests).toHaveLength(0);
  });

  it('the slack adapter refuses an api_url at a private address', async () => {
    const dm = sendOf({
      channel: 'direct_message',
      address: { slack: { access_token: 'xoxb-1', channel: 'C1' } },
      content: { channel: 'direct_message', title: 'T', text: 'B' },
      settings: { api_url: `http://127.0.0.1:${port}/api` },
    });
    await expect(new closed.slack.SlackAdapter().send(dm)).rejects.toMatchObject(refused('slack chat.postMessage'));
    expect(target.requests).toHaveLength(0);
  });

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const push = (tokenUri: string, endpoint: string, account: string) =>
    sendOf({
      channel: 'push',
      address: { firebaseToken: 'device-1' },
      content: { channel: 'push', title: 'T', body: 'B' },
      settings: {
        project_id: 'p',
        service_account: JSON.stringify({ client_email: `${account}@p.iam.gserviceaccount.com`, private_key: pem, token_uri: tokenUri }),
        endpoint,
      },
    });

  it('the firebase-fcm adapter refuses a token_uri at a private address', async () => {
    await expect(new closed.fcm.FcmAdapter().send(push(`http://127.0.0.1:${port}/token`, 'https://fcm.googleapis.com', 'a1'))).rejects.toMatchObject(
      refused('firebase-fcm token endpoint'),
    );
    expect(target.requests).toHaveLength(0);
  });

  it('the firebase-fcm adapter refuses an endpoint at a private address (the token endpoint allow-listed)', async () => {
    const sent = new allowLocalhost.fcm.FcmAdapter().send(push(`http://localhost:${port}/token`, `http://127.0.0.1:${port}`, 'a2'));
    await expect(sent).rejects.toMatchObject(refused('firebase-fcm'));
    expect(target.requests.map((r) => r.path)).toEqual(['/token']);
  });

  it('the local-capture adapter refuses a private url', async () => {
    const sms = sendOf({
      channel: 'sms',
      address: '+15550001111',
      content: { channel: 'sms', body: 'B' },
      settings: { url: `http://127.0.0.1:${port}/capture` },
    });
    await expect(new closed.capture.LocalCaptureAdapter().send(sms)).rejects.toMatchObject(refused('local-capture'));
    expect(target.requests).toHaveLength(0);
  });

  it.each([['127.0.0.1'], ['localhost'], ['0x7f.1'], ['2130706433'], ['::1']])('the smtp adapter refuses the host %s without connecting', async (host) => {
    const sent = new closed.smtp.SmtpAdapter().send(sendOf({ settings: { host, port: smtp.port, from: 'a@acme.test' } }));
    await expect(sent).rejects.toMatchObject(refused('smtp'));
    expect(smtp.connections).toBe(0);
  });

  it('an allow-listed host name is reached, while the same server by its address is refused', async () => {
    await expect(new allowLocalhost.webhook.WebhookAdapter().send(hookTo(`http://127.0.0.1:${port}/by-address`))).rejects.toMatchObject(refused('webhook'));
    await expect(new allowLocalhost.webhook.WebhookAdapter().send(hookTo(`http://localhost:${port}/by-name`))).resolves.toEqual({ status: 'DELIVERED' });
    expect(target.requests.map((r) => r.path)).toEqual(['/by-name']);
    const sent = await new allowLocalhost.smtp.SmtpAdapter().send(
      sendOf({ messageId: 'm-allowed', settings: { host: 'localhost', port: smtp.port, from: 'a@acme.test' } }),
    );
    expect(sent.status).toBe('SENT');
    expect(smtp.connections).toBe(1);
  });
});
