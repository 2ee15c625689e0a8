import { humanDurationMs, isoDurationMs } from '../../../lambdas/domain/durations';

describe('humanDurationMs', () => {
  it.each([
    ['2 hours', 7_200_000],
    ['1 Day', 86_400_000],
    ['2 Weeks', 1_209_600_000],
    ['1 month', 2_592_000_000],
    ['1y', 31_557_600_000],
    ['1.5h', 5_400_000],
    ['250ms', 250],
  ])('%s is %i ms', (text, ms) => expect(humanDurationMs(text)).toBe(ms));

  it.each(['', '5', 'h', '-1h', '1 fortnight', '1h30m', 'P1D'])('refuses %p', (text) => expect(humanDurationMs(text)).toBeUndefined());
});

describe('isoDurationMs', () => {
  it.each([
    ['PT30S', 30_000],
    ['P1DT4H', 100_800_000],
    ['P1W', 604_800_000],
    ['P1M', 2_592_000_000],
    ['P1Y', 31_536_000_000],
  ])('%s is %i ms', (text, ms) => expect(isoDurationMs(text)).toBe(ms));

  it.each(['P', 'PT', '1d', 'P1H', 'PT1D'])('refuses %p', (text) => expect(isoDurationMs(text)).toBeUndefined());
});
