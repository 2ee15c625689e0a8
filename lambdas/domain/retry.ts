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

/** What a delivery does after a provider call failed: retry the same provider later, fail over to the next one, or give the target up. */
export type FailureDecision = { next: 'retry'; delayMs: number; at: number } | { next: 'failover' } | { next: 'give-up' };

export interface ProviderFailure {
  /** A timeout, 408, 429, 5xx or throttling (docs/decisions.md#d5): worth trying again on the same provider. */
  transient: boolean;
  /** Calls made to this provider for this target so far, the failed one included. */
  attemptsOnProvider: number;
  maxAttemptsPerProvider: number;
  /** The provider's `retry-after`, if it sent one. */
  retryAfterMs?: number;
  /** When this provider's first attempt was made, and how long it may be retried from then. */
  since: number;
  retryWindowMs: number;
  now: number;
  baseMs: number;
  /** Whether another provider follows this one. */
  moreProviders: boolean;
}

/**
 * Retry or fail over (docs/decisions.md#d5): a transient failure is retried on the same provider,
 * with the backoff of retryDelayMs, while attempts remain and the retry would still fall inside the
 * provider's retry window; anything else moves to the next provider, or gives the target up when
 * there is none.
 */
export function afterProviderFailure(f: ProviderFailure, random: () => number = Math.random): FailureDecision {
  if (f.transient && f.attemptsOnProvider < f.maxAttemptsPerProvider) {
    const delayMs = retryDelayMs(f.attemptsOnProvider, f.baseMs, f.retryAfterMs, random);
    if (f.now + delayMs - f.since < f.retryWindowMs) return { next: 'retry', delayMs, at: f.now + delayMs };
  }
  return f.moreProviders ? { next: 'failover' } : { next: 'give-up' };
}
