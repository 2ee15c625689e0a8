import { startExpo, type ExpoStandIn } from '../helpers/expo';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/**
 * Expo receipt checks under duplicate deliveries: every SQS record of every queue is delivered
 * twice (the same message, as SQS redelivers it). A check that finds a receipt not ready enqueues
 * the next one; each check is claimed by the queue message that carries it (store/job-claims.ts), so
 * the copies' two successors make one next check, not two chains (before: each copy doubled the rest
 * of the chain, 2^8 checks at the eighth).
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

it('asks for a receipt that is never ready at most twice per check (one queue message, delivered twice), never a growing chain', async () => {
  const { RECEIPT_CHECKS } = require('../../lambdas/services/expo-receipts') as typeof import('../../lambdas/services/expo-receipts');
  const token = `ExponentPushToken[${uid('twice')}]`;
  expo.plans.set(
    expo.ticketOf(token),
    Array.from({ length: 4 * RECEIPT_CHECKS }, () => 'not-ready' as const),
  );
  await expo.pushTo(uid('expo-t'), [token]);
  // Every check, its copies and their successors done: nothing left in any queue, delayed included.
  await s.quiesce(60_000);
  const asked = expo.receiptRequests(expo.ticketOf(token)).length;
  // Each check is one queue message, which this stack delivers twice: at most two requests per check.
  // Before the claim each copy enqueued the rest of the chain again: 2 + 4 + ... + 2^8 requests.
  expect(asked).toBeGreaterThanOrEqual(RECEIPT_CHECKS);
  expect(asked).toBeLessThanOrEqual(2 * RECEIPT_CHECKS);
});
