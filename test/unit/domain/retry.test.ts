import { MAX_RETRY_DELAY_MS, retryDelayMs } from '../../../lambdas/domain/retry';

describe('retryDelayMs', () => {
  it.each([
    [1, 0, 500],
    [1, 1, 1000],
    [2, 0, 1000],
    [2, 0.999, 1999],
    [3, 0.5, 3000],
    [30, 1, MAX_RETRY_DELAY_MS],
    [30, 0, MAX_RETRY_DELAY_MS / 2],
  ])('retry %i with jitter %f waits %i ms (base 1 s)', (n, r, want) => {
    expect(retryDelayMs(n, 1000, undefined, () => r)).toBe(want);
  });

  it('never waits less than retry-after', () => {
    expect(retryDelayMs(1, 1000, 30_000, () => 0)).toBe(30_000);
    expect(retryDelayMs(3, 1000, 100, () => 0)).toBe(2000);
  });

  it('grows from each retry to the next whatever the jitter draws', () => {
    for (let trial = 0; trial < 200; trial++) {
      const gaps = [1, 2, 3, 4, 5].map((n) => retryDelayMs(n, 250));
      for (let i = 1; i < gaps.length; i++) expect(gaps[i]).toBeGreaterThanOrEqual(gaps[i - 1]);
    }
  });
});
