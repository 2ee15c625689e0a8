import { generateKeyPairSync } from 'node:crypto';
import { sendAndWait } from '../helpers/send';
import { sendgridWebhook } from '../helpers/sendgrid';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/**
 * The suppression list (issue 16, docs/decisions.md D21): a signed provider webhook's hard bounce or
 * complaint suppresses the address the message went to, a send then passes over that channel (fails
 * over, or ends UNDELIVERABLE / SUPPRESSED), and the list is read, added to and emptied through
 * /suppressions. SUPPRESS_ON is at its default (both); suppressions-off.test.ts turns it off.
 */
const ecdsa = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({ env: { SENDGRID_WEBHOOK_VERIFICATION_KEY: ecdsa.publicKey.export({ type: 'spki', format: 'der' }).toString('base64') } });
});
afterAll(() => s?.stop());

const sendgrid = (events: unknown[]) => sendgridWebhook(s, ecdsa.privateKey, events);
const seconds = () => Math.floor(Date.now() / 1000);

/** One message to a user with this email (and phone number), through `routing`; its message once terminal. */
async function sendTo(profile: Record<string, string>, channels: string[] = ['email'], method: 'single' | 'all' = 'single') {
  const { messages } = await sendAndWait(s, { to: profile, content: { title: 'Hi', body: 'there' }, routing: { method, channels } }, 1);
  return messages[0];
}
const history = async (id: string) => (await s.http('GET', `/messages/${id}/history`)).json.results as { type: string; channel?: string; reason?: string }[];
const entry = (channel: string, address: string) => s.http('GET', `/suppressions/${channel}/${encodeURIComponent(address)}`);

describe('a provider webhook suppresses the address', () => {
  it('a hard bounce: listed, and the next send fails over to sms; with email alone it ends UNDELIVERABLE SUPPRESSED', async () => {
    const email = `${uid('bounce')}@example.com`;
    const first = await sendTo({ email });
    expect(first.status).toBe('SENT');
    const res = await sendgrid([{ event: 'bounce', type: 'bounce', reason: '550 5.1.1 no such user', timestamp: seconds(), courier_message_id: first.id }]);
    expect(res.json).toMatchObject({ applied: 1 });

    const listed = await s.http('GET', '/suppressions?channel=email');
    expect(listed.json.results).toContainEqual({
      channel: 'email',
      address: email,
      reason: 'hard_bounce',
      provider: 'sendgrid',
      message_id: first.id,
      created: expect.any(String),
    });

    // single [email, sms]: the email is passed over, the sms goes out.
    const next = await sendTo({ email, phone_number: '+15550001111' }, ['email', 'sms']);
    expect([next.status, next.channel]).toEqual(['SENT', 'sms']);
    expect(await history(next.id)).toContainEqual(expect.objectContaining({ type: 'UNDELIVERABLE', channel: 'email', reason: 'SUPPRESSED' }));

    // Email alone: nothing left to try.
    const alone = await sendTo({ email: `  ${email.toUpperCase()} ` });
    const shown = (await s.http('GET', `/messages/${alone.id}`)).json;
    expect(shown).toMatchObject({ status: 'UNDELIVERABLE', reason: 'SUPPRESSED', error: 'the email address is on the suppression list' });
    expect(shown.sent).toBeUndefined();
    expect((await s.client.messages.retrieve(alone.id)).reason).toBe('SUPPRESSED');
  });

  it('a soft bounce (SendGrid blocked) and a dropped message end the message but do not suppress', async () => {
    for (const event of [
      { event: 'bounce', type: 'blocked', reason: '421 try later' },
      { event: 'dropped', reason: 'Invalid SMTPAPI header' },
    ]) {
      const email = `${uid('soft')}@example.com`;
      const sent = await sendTo({ email });
      expect((await sendgrid([{ ...event, timestamp: seconds(), courier_message_id: sent.id }])).json).toMatchObject({ applied: 1 });
      expect((await s.http('GET', `/messages/${sent.id}`)).json).toMatchObject({ status: 'UNDELIVERABLE', reason: 'BOUNCED' });
      expect((await entry('email', email)).status).toBe(404);
      expect((await sendTo({ email })).status).toBe('SENT');
    }
  });

  it('a complaint suppresses (reason complaint); DELETE lets the address receive again', async () => {
    const email = `${uid('spam')}@example.com`;
    const sent = await sendTo({ email });
    await sendgrid([
      { event: 'delivered', timestamp: seconds() - 5, courier_message_id: sent.id },
      { event: 'spamreport', timestamp: seconds(), courier_message_id: sent.id },
    ]);
    expect((await entry('email', email)).json).toMatchObject({ reason: 'complaint', provider: 'sendgrid', message_id: sent.id });
    expect((await sendTo({ email })).reason).toBe('SUPPRESSED');

    expect((await s.http('DELETE', `/suppressions/email/${email}`)).status).toBe(204);
    expect((await entry('email', email)).status).toBe(404);
    expect((await sendTo({ email })).status).toBe('SENT');
    // Deleting what is not there is still a 204.
    expect((await s.http('DELETE', `/suppressions/email/${email}`)).status).toBe(204);
  });
});

describe('the /suppressions API', () => {
  it('PUT adds an address by hand (normalized): an sms send skips it; with routing all the email still goes', async () => {
    const phone = '+1 (555) 000-2222';
    const put = await s.http('PUT', `/suppressions/sms/${encodeURIComponent(phone)}`);
    expect([put.status, put.json]).toEqual([
      200,
      { channel: 'sms', address: '+15550002222', reason: 'manual', provider: null, message_id: null, created: expect.any(String) },
    ]);
    const email = `${uid('both')}@example.com`;
    const both = await sendTo({ email, phone_number: '+15550002222' }, ['email', 'sms'], 'all');
    expect([both.status, both.channel]).toEqual(['SENT', 'email']);
    expect(await history(both.id)).toContainEqual(expect.objectContaining({ type: 'UNDELIVERABLE', channel: 'sms', reason: 'SUPPRESSED' }));

    // A PUT again changes the reason and keeps when the address was first suppressed.
    const again = await s.http('PUT', '/suppressions/sms/+15550002222', { reason: 'hard_bounce' });
    expect(again.json).toMatchObject({ reason: 'hard_bounce', created: put.json.created });
    const mixed = await s.http('PUT', `/suppressions/email/${encodeURIComponent('Ada <Ada.Lovelace@Example.COM>')}`, {});
    expect(mixed.json).toMatchObject({ address: 'ada.lovelace@example.com' });
    expect((await entry('email', 'ADA.lovelace@example.com')).json).toMatchObject({ reason: 'manual' });
  });

  it('lists a page at a time with a cursor, one channel with ?channel=', async () => {
    const prefix = uid('page').toLowerCase();
    for (let i = 0; i < 101; i++) expect((await s.http('PUT', `/suppressions/email/${prefix}-${i}@example.com`)).status).toBe(200);
    await s.http('PUT', '/suppressions/sms/+15550003333');
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = (await s.http('GET', `/suppressions?channel=email${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).json;
      expect(page.results.every((r: { channel: string }) => r.channel === 'email')).toBe(true);
      seen.push(...page.results.map((r: { address: string }) => r.address));
      cursor = page.paging.more ? page.paging.cursor : undefined;
      pages += 1;
    } while (cursor);
    expect(pages).toBeGreaterThan(1);
    expect(seen.filter((a) => a.startsWith(prefix))).toHaveLength(101);
    const all = (await s.http('GET', '/suppressions')).json.results as { channel: string }[];
    expect(new Set(all.map((r) => r.channel))).toEqual(new Set(['email']));
    const sms = (await s.http('GET', '/suppressions?channel=sms')).json.results as { address: string }[];
    expect(sms.map((r) => r.address)).toContain('+15550003333');
  });

  it.each<[string, string, unknown, string]>([
    ['PUT', '/suppressions/email/not-an-email', undefined, 'path.address'],
    ['PUT', '/suppressions/sms/555-1234', undefined, 'path.address'],
    ['PUT', '/suppressions/fax/x@example.com', undefined, 'path.channel'],
    ['PUT', '/suppressions/email/x@example.com', { reason: 'annoyed' }, 'body.reason'],
    ['PUT', '/suppressions/email/x@example.com', { reason: 'manual', until: 'tomorrow' }, 'body'],
    ['GET', '/suppressions?channel=fax', undefined, 'query.channel'],
    ['GET', '/suppressions/email/a%20b@example.com', undefined, 'path.address'],
    ['DELETE', '/suppressions/push/x', undefined, 'path.channel'],
  ])('%s %s %j: 400 naming %s, nothing changed', async (method, path, body, field) => {
    const res = await s.http(method, path, body);
    expect([res.status, res.json.type]).toEqual([400, 'invalid_request_error']);
    expect(res.json.message).toContain(field);
    expect((await entry('email', 'x@example.com')).status).toBe(404);
  });

  it('answers 404 for an address not suppressed', async () => {
    const res = await entry('email', 'nobody@example.com');
    expect([res.status, res.json.type]).toEqual([404, 'invalid_request_error']);
  });
});
