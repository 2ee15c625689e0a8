import { afterProviderFailure, type FailureDecision, type ProviderFailure } from '../../../lambdas/domain/retry';

const base: ProviderFailure = {
  transient: true,
  attemptsOnProvider: 1,
  maxAttemptsPerProvider: 5,
  since: 0,
  retryWindowMs: 60_000,
  now: 1_000,
  baseMs: 1_000,
  moreProviders: true,
};
// random() = 1: the top of each jittered step, so delays are exact (1 s, 2 s, 4 s ...).
const decide = (f: Partial<ProviderFailure>) => afterProviderFailure({ ...base, ...f }, () => 1);

describe('retry or fail over after a provider failure', () => {
  it.each<[string, Partial<ProviderFailure>, FailureDecision]>([
    ['a first transient failure is retried after the base delay', {}, { next: 'retry', delayMs: 1_000, at: 2_000 }],
    ['the third is retried after four times the base', { attemptsOnProvider: 3 }, { next: 'retry', delayMs: 4_000, at: 5_000 }],
    ["the provider's retry-after is honoured when longer", { retryAfterMs: 30_000 }, { next: 'retry', delayMs: 30_000, at: 31_000 }],
    ['a permanent failure fails over at once', { transient: false }, { next: 'failover' }],
    ['a permanent failure on the last provider gives up', { transient: false, moreProviders: false }, { next: 'give-up' }],
    ['no attempts left on the provider: fail over', { attemptsOnProvider: 5 }, { next: 'failover' }],
    ['a retry that would land past the window: fail over', { retryAfterMs: 60_000 }, { next: 'failover' }],
    ['past the window on the last provider: give up', { now: 59_500, moreProviders: false }, { next: 'give-up' }],
  ])('%s', (_name, failure, expected) => {
    expect(decide(failure)).toEqual(expected);
  });
});
