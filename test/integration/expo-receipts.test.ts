import { startTestStack, type TestStack } from '../helpers/stack';
import { sendAndWait } from '../helpers/send';
import { via } from '../helpers/builders';
import { eventually, uid } from '../helpers/wait';
import { startRecorder, type Recorded, type Recorder, type Reply } from './providers/recorder';

/**
 * Issue 16: Expo push receipts. A push through Expo is SENT on its ticket; the receipts, read later
 * by a delayed job on the fan-out queue (EXPO_RECEIPT_DELAY_SECONDS, here 1 s), move it to DELIVERED
 * or UNDELIVERABLE, and a DeviceNotRegistered receipt marks the user's token failed so the next send
 * leaves it out. Receipts not ready yet and an Expo 5xx are looked at again later.
 */
let s: TestStack;
let expo: Recorder;
let providerId: string;

/** What the stand-in answers for a ticket id's receipt, one step per getReceipts request naming it: a receipt, not ready yet, or a 503. */
type Step = 'ok' | 'gone' | 'not-ready' | 503;
const plans = new Map<string, Step[]>();
const ticketOf = (token: string) => `ticket-${token}`;

function answer(req: Recorded): Reply {
  if (req.path.endsWith('/push/send'))
    return { status: 200, body: { data: (JSON.parse(req.body) as { to: string }[]).map((m) => ({ status: 'ok', id: ticketOf(m.to) })) } };
  const ids = (JSON.parse(req.body) as { ids: string[] }).ids;
  const steps = ids.map((id) => plans.get(id)?.shift() ?? 'ok');
  if (steps.includes(503)) return { status: 503, body: 'unavailable' };
  const data: Record<string, unknown> = {};
  ids.forEach((id, i) => {
    if (steps[i] === 'ok') data[id] = { status: 'ok' };
    else if (steps[i] === 'gone')
      data[id] = { status: 'error', message: `"${id}" is not a registered push notification recipient`, details: { error: 'DeviceNotRegistered' } };
  });
  return { status: 200, body: { data } };
}

beforeAll(async () => {
  s = await startTestStack({ env: { CACHE_TTL_MS: '0', EXPO_RECEIPT_DELAY_SECONDS: '1' } });
  expo = await startRecorder();
  expo.reply(answer);
  providerId = (await s.client.providers.create({ provider: 'expo', settings: { access_token: 'expo-access-token', api_url: expo.url } } as never)).id;
});
afterAll(async () => {
  if (providerId) await s?.client.providers.delete(providerId);
  await expo?.close();
  await s?.stop();
});

/** A user with these stored Expo tokens, pushed to once: the message as GET /messages/:id shows it once its status is `status`. */
async function pushTo(user: string, tokens: string[]): Promise<string> {
  for (const token of tokens) await s.client.users.tokens.addSingle(token, { user_id: user, provider_key: 'expo' });
  const sent = await sendAndWait(s, { to: { user_id: user }, content: { title: 'Hi', body: 'From Expo' }, routing: via('expo') }, 1);
  expect(sent.messages[0].status).toBe('SENT');
  return sent.messages[0].id;
}
const settled = (id: string, status: string) =>
  eventually(
    () => s.client.messages.retrieve(id),
    (m) => m.status === status,
    30_000,
  );
const receiptRequests = (ticket: string) =>
  expo.requests.filter((r) => r.path.endsWith('/push/getReceipts') && (JSON.parse(r.body) as { ids: string[] }).ids.includes(ticket));

describe('expo push receipts', () => {
  it('an ok receipt moves the message to DELIVERED, read with the access token', async () => {
    const token = `ExponentPushToken[${uid('ok')}]`;
    const id = await pushTo(uid('expo-r'), [token]);
    const message = await settled(id, 'DELIVERED');
    expect(message.delivered).toBeGreaterThanOrEqual(message.sent!);
    const [req] = receiptRequests(ticketOf(token));
    expect([req.method, req.headers.authorization, JSON.parse(req.body)]).toEqual(['POST', 'Bearer expo-access-token', { ids: [ticketOf(token)] }]);
  });

  it('DeviceNotRegistered: the message is UNDELIVERABLE with the detail, the token marked failed and left out of the next send', async () => {
    const user = uid('expo-r');
    const gone = `ExponentPushToken[${uid('gone')}]`;
    plans.set(ticketOf(gone), ['gone']);
    const id = await pushTo(user, [gone]);
    const message = await settled(id, 'UNDELIVERABLE');
    expect(message.error).toContain('DeviceNotRegistered');
    const stored = await s.client.users.tokens.retrieve(gone, { user_id: user });
    expect(stored.status).toBe('failed');

    const fresh = `ExponentPushToken[${uid('fresh')}]`;
    const before = expo.requests.length;
    await pushTo(user, [fresh]);
    const sends = expo.requests.slice(before).filter((r) => r.path.endsWith('/push/send'));
    expect(sends.flatMap((r) => (JSON.parse(r.body) as { to: string }[]).map((m) => m.to))).toEqual([fresh]);
  });

  it('one device ok, another DeviceNotRegistered: DELIVERED, and the gone token marked failed', async () => {
    const user = uid('expo-r');
    const [ok, gone] = [`ExponentPushToken[${uid('ok')}]`, `ExponentPushToken[${uid('gone')}]`];
    plans.set(ticketOf(gone), ['gone']);
    const id = await pushTo(user, [ok, gone]);
    await settled(id, 'DELIVERED');
    await eventually(
      () => s.client.users.tokens.retrieve(gone, { user_id: user }),
      (t) => t.status === 'failed',
    );
    expect((await s.client.users.tokens.retrieve(ok, { user_id: user })).status).toBe('active');
  });

  it('a receipt not ready yet is asked for again later', async () => {
    const token = `ExponentPushToken[${uid('late')}]`;
    plans.set(ticketOf(token), ['not-ready', 'not-ready', 'ok']);
    const id = await pushTo(uid('expo-r'), [token]);
    await settled(id, 'DELIVERED');
    expect(receiptRequests(ticketOf(token))).toHaveLength(3);
  });

  it('an Expo 5xx is retried later', async () => {
    const token = `ExponentPushToken[${uid('5xx')}]`;
    plans.set(ticketOf(token), [503, 'ok']);
    const id = await pushTo(uid('expo-r'), [token]);
    await settled(id, 'DELIVERED');
    expect(receiptRequests(ticketOf(token))).toHaveLength(2);
  });
});
