import { generateKeyPairSync } from 'node:crypto';
import { sendAndWait } from '../helpers/send';
import { sendgridWebhook } from '../helpers/sendgrid';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/** SUPPRESS_ON empty (docs/decisions.md D21): a hard bounce ends its message but suppresses nothing; a manual entry still holds. */
const ecdsa = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({
    env: { SUPPRESS_ON: '', SENDGRID_WEBHOOK_VERIFICATION_KEY: ecdsa.publicKey.export({ type: 'spki', format: 'der' }).toString('base64') },
  });
});
afterAll(() => s?.stop());

const send = async (email: string) => (await sendAndWait(s, { to: { email }, content: { title: 'Hi', body: 'x' } }, 1)).messages[0];

it('with SUPPRESS_ON empty a hard bounce and a complaint suppress nothing, and the next send goes out', async () => {
  const email = `${uid('off')}@example.com`;
  const first = await send(email);
  const at = Math.floor(Date.now() / 1000);
  const res = await sendgridWebhook(s, ecdsa.privateKey, [
    { event: 'spamreport', timestamp: at, courier_message_id: first.id },
    { event: 'bounce', type: 'bounce', reason: '550 no such user', timestamp: at, courier_message_id: first.id },
  ]);
  expect(res.json).toMatchObject({ applied: 1, unchanged: 1 });
  // The two are applied at once: whichever is first gives the reason.
  expect((await s.http('GET', `/messages/${first.id}`)).json).toMatchObject({
    status: 'UNDELIVERABLE',
    reason: expect.stringMatching(/^(UNSUBSCRIBED|BOUNCED)$/),
  });
  expect((await s.http('GET', '/suppressions')).json.results).toEqual([]);
  expect((await send(email)).status).toBe('SENT');

  // A manual entry is honoured whatever SUPPRESS_ON says.
  expect((await s.http('PUT', `/suppressions/email/${email}`)).status).toBe(200);
  expect((await send(email)).reason).toBe('SUPPRESSED');
});
