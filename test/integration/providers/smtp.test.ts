import './allow-private-egress';
import type { AddressInfo } from 'node:net';
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
      await new SmtpAdapter().send(sendOf({ settings: { host: '127.0.0.1', port: server.port, from: 'a@acme.test', username: 'mailer', password: 's3cret-pass' } }));
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
