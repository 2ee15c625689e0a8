import { judgeReceipts, type PushTicket } from '../domain/push-receipts';
import { fetchExpoReceipts } from '../providers/expo';
import { ProviderError } from '../providers/port';
import { config } from '../shared/config';
import { now } from '../shared/clock';
import { enqueueFanout, type ExpoReceiptsJob } from '../shared/jobs';
import { claimChainStep } from '../store/job-claims';
import { keys } from '../store/keys';
import { logger } from '../shared/logger';
import { invalidTokenReason, markTokensFailed } from '../store/device-tokens';
import { providers } from '../store/providers';
import { applyProviderEvent } from './engagement';

/**
 * Expo push receipts. Expo's send answers with a ticket per device; whether the push reached FCM
 * or APNs is in the ticket's receipt, ready some minutes later. After a send through Expo a
 * delayed job on the fan-out queue (EXPO_RECEIPT_DELAY_SECONDS, 15 minutes by default, as Expo
 * recommends) reads the message's receipts and moves the message through the status machine:
 * `ok` DELIVERED, every receipt an error UNDELIVERABLE with their details; a `DeviceNotRegistered`
 * receipt marks the user's token failed as a send-time invalid token does. Receipts not ready yet,
 * and Expo failing transiently, are looked at again as long after, RECEIPT_CHECKS times at most (Expo
 * keeps receipts for a day). One delayed SQS message a message, with no table item to write or sweep.
 */

/** Checks of one message's receipts at most (with the default delay: over two hours). */
export const RECEIPT_CHECKS = 8;

/** Timeout of one receipts request. */
const RECEIPTS_TIMEOUT_MS = 10_000;

/** Enqueues the first look at a message's receipts (a failure to enqueue is logged, not the delivery's). */
export async function scheduleExpoReceipts(messageId: string, userId: string | undefined, providerId: string, tickets: PushTicket[]): Promise<void> {
  if (!tickets.length) return;
  const job: ExpoReceiptsJob = { type: 'expo-receipts', messageId, ...(userId ? { userId } : {}), providerId, tickets, checks: 0 };
  await enqueueFanout([job], config.EXPO_RECEIPT_DELAY_SECONDS).catch((e: unknown) =>
    logger.warn('could not schedule the expo receipts check', { messageId, error: e as Error }),
  );
}

const again = (job: ExpoReceiptsJob, tickets: PushTicket[], errors: string[], waitSeconds: number): Promise<void> => {
  if (job.checks + 1 >= RECEIPT_CHECKS) {
    logger.warn('expo receipts still missing after the last check: the message stays as it is', { messageId: job.messageId, tickets: tickets.length });
    return Promise.resolve();
  }
  return enqueueFanout(
    [{ ...job, tickets, ...(errors.length ? { errors } : {}), checks: job.checks + 1 }],
    Math.min(900, Math.max(config.EXPO_RECEIPT_DELAY_SECONDS, waitSeconds)),
  );
};

/**
 * The fan-out worker's handler of an `expo-receipts` job. Each check (`checks`, of the message's
 * chain of checks) is claimed by the queue message `messageId` that carries it, so a duplicate
 * delivery does not ask Expo again nor start a second chain of checks.
 */
export async function checkExpoReceipts(job: ExpoReceiptsJob, messageId?: string): Promise<void> {
  if (messageId !== undefined && !(await claimChainStep(keys.expoReceiptChecks(job.messageId), 'ExpoReceiptChecks', job.checks, messageId))) return;
  const provider = await providers.get(job.providerId);
  if (!provider || provider.doc.provider !== 'expo') {
    logger.warn('expo receipts: the provider is no longer configured; receipts not read', { messageId: job.messageId, providerId: job.providerId });
    return;
  }
  let receipts;
  try {
    receipts = await fetchExpoReceipts(
      provider.doc.settings,
      job.tickets.map((t) => t.id),
      RECEIPTS_TIMEOUT_MS,
    );
  } catch (e) {
    const error = e instanceof ProviderError ? e : new ProviderError((e as Error).message, true);
    logger.warn('expo receipts request failed', { messageId: job.messageId, transient: error.transient, status: error.statusCode });
    if (error.transient) return again(job, job.tickets, job.errors ?? [], Math.ceil((error.retryAfterMs ?? 0) / 1000));
    return;
  }
  const verdict = judgeReceipts(job.tickets, receipts, job.errors);
  if (verdict.invalidTokens.length && job.userId) await markTokensFailed(job.userId, verdict.invalidTokens, invalidTokenReason(job.messageId));
  if (verdict.outcome === 'pending') return again(job, verdict.pending, verdict.errors, 0);
  await applyProviderEvent(job.messageId, {
    kind: verdict.outcome,
    at: now(),
    provider: 'expo',
    ...(verdict.outcome === 'UNDELIVERABLE' ? { reason: 'FAILED' as const, detail: verdict.detail } : {}),
  });
}
