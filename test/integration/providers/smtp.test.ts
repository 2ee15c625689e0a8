import './allow-private-egress';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { SMTPServer } from 'smtp-server';
import { startCapture, type Capture, type CaptureServer } from '../../../lambdas/local/capture';
import { ProviderError } from '../../../lambdas/providers/port';
import { SmtpAdapter } from '../../../lambdas/providers/smtp';
import { closedPort, sendOf } from './recorder';

let capture: CaptureServer;
let settings: Record<string, unknown>;
beforeAll(async () => {
  capture = await startCapture();
  const url = new URL(capture.smtpUrl);
  settings = { host: url.hostname, port: Number(url.port), from: 'Acme <notifications@acme.test>' };
});
afterAll(() => capture?.stop());

/** A throwaway SMTP server with its own rules, for what the capture server never refuses. */
/** An SMTP server that takes any message and records the envelope recipients it was given. */
async function recipientRecorder() {
  const recipients: string[] = [];
  const server = await smtpServer({
    authOptional: true,
    onRcptTo: (a, _s, cb) => {
      recipients.push(a.address);
      cb();
    },
    onData: (stream, _s, cb) => stream.resume().on('end', () => cb()),
  });
  return { server, recipients };
}

async function smtpServer(options: ConstructorParameters<typeof SMTPServer>[0]): Promise<{ port: number; close(): Promise<void> }> {
  const server = new SMTPServer({ disabledCommands: ['STARTTLS'], disableReverseLookup: true, logger: false, closeTimeout: 100, ...options });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.server.address() as AddressInfo).port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('smtp adapter against a real SMTP server', () => {
  it('sends subject, text, html, from and the message id headers exactly as rendered', async () => {
    const result = await new SmtpAdapter().send(sendOf({ messageId: 'm-smtp-1', settings }));

    const mail = capture.captures().find((c) => c.messageId === 'm-smtp-1') as Extract<Capture, { via: 'smtp' }>;
    expect(mail).toMatchObject({
      via: 'smtp',
      channel: 'email',
      from: '"Acme" <notifications@acme.test>',
      to: ['ada@example.test'],
      subject: 'Hello Ada',
      text: 'Your order shipped.',
      html: '<p>Your order shipped.</p>',
    });
    expect(mail.headers['x-courier-message-id']).toBe('m-smtp-1');
    expect(mail.headers['message-id']).toBe('<m-smtp-1@acme.test>');
    expect(result).toEqual({ status: 'SENT', providerMessageId: '<m-smtp-1@acme.test>' });
  });

  it('authenticates with the username and password from the settings', async () => {
    const logins: { username?: string; password?: string | null }[] = [];
    const server = await smtpServer({
      allowInsecureAuth: true,
      onAuth: (auth, _s, cb) => {
        logins.push({ username: auth.username, password: auth.password });
        cb(null, { user: auth.username });
      },
      onData: (stream, _s, cb) => stream.resume().on('end', () => cb()),
    });
    try {
      await new SmtpAdapter().send(
        sendOf({ settings: { host: '127.0.0.1', port: server.port, from: 'a@acme.test', username: 'mailer', password: 's3cret-pass' } }),
      );
      expect(logins).toEqual([{ username: 'mailer', password: 's3cret-pass' }]);
    } finally {
      await server.close();
    }
  });

  it.each([
    [550, 'permanent', false],
    [451, 'transient', true],
  ])('classifies a %i recipient rejection as %s, without the server text or address', async (code, _label, transient) => {
    const server = await smtpServer({
      authOptional: true,
      onRcptTo: (_a, _s, cb) => cb(Object.assign(new Error('no such user ada@example.test'), { responseCode: code })),
    });
    try {
      const sent = new SmtpAdapter().send(sendOf({ settings: { host: '127.0.0.1', port: server.port, from: 'a@acme.test' } }));
      await expect(sent).rejects.toMatchObject({ transient, statusCode: code });
      await expect(sent).rejects.toThrow(new RegExp(`^smtp answered ${code}`));
      await expect(sent).rejects.not.toThrow(/ada@example/);
    } finally {
      await server.close();
    }
  });

  it.each([
    ['two addresses', 'ada@example.test, eve@evil.test'],
    ['two addresses, semicolon', 'ada@example.test; eve@evil.test'],
    ['a group', 'team: ada@example.test, eve@evil.test;'],
    ['two named mailboxes', 'Ada <ada@example.test>, Eve <eve@evil.test>'],
    ['a line break', 'ada@example.test\r\neve@evil.test'],
    ['no address', 'Ada Lovelace'],
  ])('refuses %s in the recipient as permanent, before connecting', async (_name, address) => {
    const { server, recipients } = await recipientRecorder();
    try {
      const sent = new SmtpAdapter().send(sendOf({ address, settings: { host: '127.0.0.1', port: server.port, from: 'a@acme.test' } }));
      await expect(sent).rejects.toMatchObject({ transient: false, message: 'smtp: the address is not exactly one email address' });
      expect(recipients).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('sends to a single named mailbox, and only to it', async () => {
    const { server, recipients } = await recipientRecorder();
    try {
      await new SmtpAdapter().send(
        sendOf({ address: 'Ada Lovelace <ada@example.test>', settings: { host: '127.0.0.1', port: server.port, from: 'a@acme.test' } }),
      );
      expect(recipients).toEqual(['ada@example.test']);
    } finally {
      await server.close();
    }
  });

  /** A server that takes any login in clear text and does not offer STARTTLS (as when a man in the middle strips it). */
  async function plaintextServer(host = '127.0.0.1') {
    const logins: string[] = [];
    const server = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      disableReverseLookup: true,
      logger: false,
      closeTimeout: 100,
      onAuth: (auth, _s, cb) => {
        logins.push(`${auth.username}:${auth.password}`);
        cb(null, { user: auth.username });
      },
      onData: (stream, _s, cb) => stream.resume().on('end', () => cb()),
    });
    await new Promise<void>((r) => server.listen(0, host, () => r()));
    return { port: (server.server.address() as AddressInfo).port, logins, close: () => new Promise<void>((r) => server.close(() => r())) };
  }

  it('with require_tls, a server without STARTTLS never receives the credentials: a permanent failure', async () => {
    const server = await plaintextServer();
    try {
      const sent = new SmtpAdapter().send(
        sendOf({ settings: { host: '127.0.0.1', port: server.port, from: 'a@acme.test', username: 'mailer', password: 's3cret-pass', require_tls: true } }),
      );
      await expect(sent).rejects.toMatchObject({ transient: false });
      await expect(sent).rejects.toThrow(/^smtp (failed|answered)/);
      expect(server.logins).toEqual([]);
    } finally {
      await server.close();
    }
  });

  // TLS is required by default for any host but loopback; a non-loopback address of this machine
  // stands for a remote server (private egress is allowed in this file).
  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && !i.internal && i.family === 'IPv4')?.address;
  (external ? it : it.skip)(`requires TLS by default for a host that is not loopback (${external ?? 'no such interface here'})`, async () => {
    const server = await plaintextServer('0.0.0.0');
    try {
      const sent = new SmtpAdapter().send(
        sendOf({ settings: { host: external!, port: server.port, from: 'a@acme.test', username: 'mailer', password: 's3cret-pass' } }),
      );
      await expect(sent).rejects.toMatchObject({ transient: false });
      expect(server.logins).toEqual([]);
      // Relaxed in the provider's settings, the same server gets the login.
      await new SmtpAdapter().send(
        sendOf({ settings: { host: external!, port: server.port, from: 'a@acme.test', username: 'mailer', password: 's3cret-pass', require_tls: false } }),
      );
      expect(server.logins).toEqual(['mailer:s3cret-pass']);
    } finally {
      await server.close();
    }
  });

  it('reports an unreachable server as transient', async () => {
    const sent = new SmtpAdapter().send(sendOf({ settings: { host: '127.0.0.1', port: await closedPort(), from: 'a@acme.test' } }));
    await expect(sent).rejects.toBeInstanceOf(ProviderError);
    await expect(sent).rejects.toMatchObject({ transient: true });
  });

  it('refuses invalid settings as permanent, naming the field but never a secret', async () => {
    const sent = new SmtpAdapter().send(sendOf({ settings: { host: '', from: 'a@acme.test', password: 'hunter2-secret' } }));
    await expect(sent).rejects.toMatchObject({ transient: false, message: 'smtp settings are invalid: settings.host' });
  });
});
