import { startTestStack, type TestStack } from '../helpers/stack';
import { startExpo, type ExpoStandIn } from '../helpers/expo';
import { eventually, uid } from '../helpers/wait';

/**
 * Issue 16: Expo push receipts. A push through Expo is SENT on its ticket; the receipts, read later
 * by a delayed job on the fan-out queue (EXPO_RECEIPT_DELAY_SECONDS, here 1 s), move it to DELIVERED
 * or UNDELIVERABLE, and a DeviceNotRegistered receipt marks the user's token failed so the next send
 * leaves it out. Receipts not ready yet and an Expo 5xx are looked at again later.
 */
let s: TestStack;
let expo: ExpoStandIn['expo'];
let plans: ExpoStandIn['plans'];
let ticketOf: ExpoStandIn['ticketOf'];
let pushTo: ExpoStandIn['pushTo'];
let receiptRequests: ExpoStandIn['receiptRequests'];
let standIn: ExpoStandIn;

beforeAll(async () => {
  s = await startTestStack({ env: { CACHE_TTL_MS: '0', EXPO_RECEIPT_DELAY_SECONDS: '1' } });
  standIn = await startExpo(s);
  ({ expo, plans, ticketOf, pushTo, receiptRequests } = standIn);
});
afterAll(async () => {
  await standIn?.close();
  await s?.stop();
});

const settled = (id: string, status: string) =>
  eventually(
    () => s.client.messages.retrieve(id),
    (m) => m.status === status,
    30_000,
  );

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
