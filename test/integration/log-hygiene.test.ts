import { sendAndWait } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';
import { startWebhookServer } from '../helpers/webhook-server';

/**
 * Everything the API handlers and the workers log during sends through several channels, with
 * failures on the way, holds no API key, user token, provider secret or full recipient address.
 * The functions log at DEBUG here (the most they ever log), captured from stdout and stderr.
 */
process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';

let s: TestStack;
const captured: string[] = [];
const originals = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
beforeAll(async () => {
  s = await startTestStack();
  const tap = (original: typeof originals.out) =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
  process.stdout.write = tap(originals.out);
  process.stderr.write = tap(originals.err);
});
afterAll(async () => {
  process.stdout.write = originals.out;
  process.stderr.write = originals.err;
  await s?.stop();
});

it('logs no key, token, provider secret or recipient address', async () => {
  const email = `${uid('ada')}@private-domain.test`;
  const phone = '+15551234987';
  const signingSecret = 'whsec_log-hygiene-0123456789abcdef';
  const smtpPassword = 'smtp-password-never-logged-42';
  const hook = await startWebhookServer({ failFirst: 1, failStatus: 500 });
  try {
    const smtp = new URL(process.env.LOCAL_SMTP_URL!);
    const providers = [
      {
        provider: 'smtp',
        channel: 'email',
        priority: 1,
        settings: { host: smtp.hostname, port: Number(smtp.port), from: 'sender@private-domain.test', username: 'smtp-user', password: smtpPassword },
      },
      { provider: 'webhook', priority: 1, settings: { signing_secret: signingSecret } },
    ];
    const ids: string[] = [];
    for (const p of providers) ids.push((await s.http('POST', '/providers', p)).json.id);
    const user = uid('private-user');
    await s.client.profiles.replace(user, { profile: { email, phone_number: phone, webhook: { url: hook.url } } });
    const token = (await s.http('POST', '/auth/issue-token', { scope: `user_id:${user} inbox:read:messages`, expires_in: '1h' })).json.token as string;
    expect((await s.http('GET', '/inbox/messages', undefined, { key: token })).status).toBe(200);

    const { messages } = await sendAndWait(
      s,
      {
        to: { user_id: user },
        content: { title: 'Secret plans', body: `Hello ${email}` },
        routing: { method: 'all', channels: ['email', 'sms', 'webhook', 'inbox'] },
      },
      1,
      60_000,
    );
    expect(messages[0].status).toBe('DELIVERED');
    await sendAndWait(s, { to: { email, phone_number: phone }, content: { body: 'inline' }, routing: { method: 'all', channels: ['email', 'sms'] } }, 1);
    // Refused requests carrying secrets: a bad body and a bad key.
    expect((await s.http('POST', '/send', { message: { to: { email }, content: { body: 1 } } })).status).toBe(400);
    expect((await s.http('GET', `/profiles/${user}`, undefined, { key: `${s.apiKey}-wrong` })).status).toBe(401);
    for (const id of ids) await s.http('DELETE', `/providers/${id}`);
  } finally {
    await hook.close();
  }

  const logs = captured.join('');
  // The capture saw the functions' structured logs (a vacuous pass is not possible).
  expect(logs).toMatch(/"level":"(DEBUG|INFO|WARN)"/);
  expect(logs).toContain('provider failed');
  for (const [what, secret] of [
    ['the API key', s.apiKey],
    ['the user token', 'eyJ'],
    ['the webhook signing secret', signingSecret],
    ['the SMTP password', smtpPassword],
    ['the recipient email address', email],
    ['the recipient phone number', phone],
  ]) {
    expect([what, logs.includes(secret)]).toEqual([what, false]);
  }
}, 120_000);
