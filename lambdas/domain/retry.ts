/** The longest wait one SQS delay (or visibility change) can express: 15 minutes. Longer waits take several hops. */
export const MAX_DELAY_SECONDS = 15 * 60;
/** The longest delay before a retry: one SQS delay. */
export const MAX_RETRY_DELAY_MS = MAX_DELAY_SECONDS * 1000;

/**
 * Delay before the n-th retry (n >= 1) on a provider: exponential (base, 2·base, 4·base ...,
 * capped at 15 minutes), jittered across the upper half of each step, so retries from many
 * messages spread out while every gap is still longer than the one before; never shorter than the
 * provider's `retry-after`.
 */
export function retryDelayMs(n: number, baseMs: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const step = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** (n - 1));
  const jittered = step / 2 + (random() * step) / 2;
  return Math.round(Math.max(jittered, retryAfterMs ?? 0));
}
