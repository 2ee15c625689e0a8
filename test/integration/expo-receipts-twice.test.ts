import { startExpo, type ExpoStandIn } from '../helpers/expo';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually, uid } from '../helpers/wait';

/**
 * Expo receipt checks under duplicate deliveries: every SQS record of every queue is delivered
 * twice. A check that finds a receipt not ready enqueues the next one; each check is claimed by the
 * queue message that carries it (store/job-claims.ts), so a duplicate does not start a second chain
 * of checks (before: each duplicate doubled the rest of the chain, up to 2^8 checks for 8).
 */
let s: TestStack;
let expo: ExpoStandIn;
beforeAll(async () => {
  s = await startTestStack({ duplicateDeliveries: true, env: { CACHE_TTL_MS: '0', EXPO_RECEIPT_DELAY_SECONDS: '1' } });
  expo = await startExpo(s);
});
afterAll(async () => {
  await expo?.close();
  await s?.stop();
});

it('asks for a receipt not ready yet once per check, not once per copy of each check', async () => {
  const token = `ExponentPushToken[${uid('twice')}]`;
  expo.plans.set(expo.ticketOf(token), ['not-ready', 'not-ready', 'not-ready', 'ok']);
  const id = await expo.pushTo(uid('expo-t'), [token]);
  await eventually(
    () => s.client.messages.retrieve(id),
    (m) => m.status === 'DELIVERED',
    30_000,
  );
  await s.quiesce();
  // Four checks: three not ready, then the receipt. Each copy of a check past the first is refused its claim.
  expect(expo.receiptRequests(expo.ticketOf(token))).toHaveLength(4);
});
