import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { startRecorder, sendOf, type Recorder } from './recorder';
import { FcmAdapter } from '../../../lambdas/providers/fcm';
import { LocalCaptureAdapter } from '../../../lambdas/providers/local-capture';
import { MsTeamsAdapter } from '../../../lambdas/providers/msteams';
import { SlackAdapter } from '../../../lambdas/providers/slack';
import { SmtpAdapter } from '../../../lambdas/providers/smtp';
import { HttpClient } from '../../../lambdas/providers/transport';
import { WebhookAdapter } from '../../../lambdas/providers/webhook';
import type { EgressPolicy } from '../../../lambdas/shared/egress';

/**
 * Issue 11, item 8: API callers choose webhook URLs, Teams URLs, FCM endpoints, the Slack API URL
 * and the SMTP host. With private egress off (the default everywhere but the local stack), every
 * adapter refuses a target that is or resolves to a loopback, private, link-local or other special
 * address: a permanent failure that says only "private address refused", and the target never
 * sees a connection. The stand-ins listen on 127.0.0.1, as a service on the worker's own network
 * would.
 */
/** The adapters under one egress policy, as the workers build them under the configured one. */
function adaptersUnder(policy: EgressPolicy) {
  const http = new HttpClient(policy);
  return {
    webhook: new WebhookAdapter(http),
    msteams: new MsTeamsAdapter(http),
    slack: new SlackAdapter(http),
    fcm: new FcmAdapter(http),
    capture: new LocalCaptureAdapter(http),
    smtp: new SmtpAdapter(policy),
  };
}

/** The default everywhere but the local stack: ALLOW_PRIVATE_EGRESS off, no allowed hosts. */
const closed = adaptersUnder({ allowPrivate: false, allowHosts: [] });
const allowLocalhost = adaptersUnder({ allowPrivate: false, allowHosts: ['localhost'] });

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
    await expect(closed.webhook.send(hookTo(url()))).rejects.toMatchObject(refused('webhook'));
    expect(target.requests).toHaveLength(0);
  });

  it("refuses a provider's webhook url at a private address too", async () => {
    const sent = closed.webhook.send({
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
    await expect(closed.msteams.send(dm({ webhook_url: `http://127.0.0.1:${port}/teams` }))).rejects.toMatchObject(refused('msteams'));
    await expect(closed.msteams.send(dm({ service_url: `http://localhost:${port}`, conversation_id: 'c1' }))).rejects.toMatchObject(refused('msteams'));
    expect(target.requests).toHaveLength(0);
  });

  it('the slack adapter refuses an api_url at a private address', async () => {
    const dm = sendOf({
      channel: 'direct_message',
      address: { slack: { access_token: 'xoxb-1', channel: 'C1' } },
      content: { channel: 'direct_message', title: 'T', text: 'B' },
      settings: { api_url: `http://127.0.0.1:${port}/api` },
    });
    await expect(closed.slack.send(dm)).rejects.toMatchObject(refused('slack chat.postMessage'));
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
    await expect(closed.fcm.send(push(`http://127.0.0.1:${port}/token`, 'https://fcm.googleapis.com', 'a1'))).rejects.toMatchObject(
      refused('firebase-fcm token endpoint'),
    );
    expect(target.requests).toHaveLength(0);
  });

  it('the firebase-fcm adapter refuses an endpoint at a private address (the token endpoint allow-listed)', async () => {
    const sent = allowLocalhost.fcm.send(push(`http://localhost:${port}/token`, `http://127.0.0.1:${port}`, 'a2'));
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
    await expect(closed.capture.send(sms)).rejects.toMatchObject(refused('local-capture'));
    expect(target.requests).toHaveLength(0);
  });

  it.each([['127.0.0.1'], ['localhost'], ['0x7f.1'], ['2130706433'], ['::1']])('the smtp adapter refuses the host %s without connecting', async (host) => {
    const sent = closed.smtp.send(sendOf({ settings: { host, port: smtp.port, from: 'a@acme.test' } }));
    await expect(sent).rejects.toMatchObject(refused('smtp'));
    expect(smtp.connections).toBe(0);
  });

  it('an allow-listed host name is reached, while the same server by its address is refused', async () => {
    await expect(allowLocalhost.webhook.send(hookTo(`http://127.0.0.1:${port}/by-address`))).rejects.toMatchObject(refused('webhook'));
    await expect(allowLocalhost.webhook.send(hookTo(`http://localhost:${port}/by-name`))).resolves.toEqual({ status: 'DELIVERED' });
    expect(target.requests.map((r) => r.path)).toEqual(['/by-name']);
    const sent = await allowLocalhost.smtp.send(sendOf({ messageId: 'm-allowed', settings: { host: 'localhost', port: smtp.port, from: 'a@acme.test' } }));
    expect(sent.status).toBe('SENT');
    expect(smtp.connections).toBe(1);
  });
});
