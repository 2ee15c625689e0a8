import { throttleSchema, throttleWindow } from '../../../lambdas/domain/throttle';

const at = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString();

describe('throttleWindow: fixed windows aligned to the epoch', () => {
  it.each([
    ['1 hour', '2026-11-30T12:34:56Z', '2026-11-30T12:00:00.000Z', '2026-11-30T13:00:00.000Z'],
    ['PT1H', '2026-11-30T13:00:00Z', '2026-11-30T13:00:00.000Z', '2026-11-30T14:00:00.000Z'],
    ['15m', '2026-11-30T12:59:59.999Z', '2026-11-30T12:45:00.000Z', '2026-11-30T13:00:00.000Z'],
    ['1 day', '2026-11-30T23:59:00Z', '2026-11-30T00:00:00.000Z', '2026-12-01T00:00:00.000Z'],
  ])('%s at %s', (period, when, start, end) => {
    const w = throttleWindow({ limit: 5, period }, at(when));
    expect([iso(w.start), iso(w.end)]).toEqual([start, end]);
  });
});

describe('throttleSchema', () => {
  it.each([
    [{ limit: 5, period: '1 hour' }, true],
    [{ limit: 1, period: 'P1D' }, true],
    [{ limit: 100, period: '31 days' }, true],
    [{ limit: 0, period: '1 hour' }, false],
    [{ limit: 101, period: '1 hour' }, false],
    [{ limit: 1.5, period: '1 hour' }, false],
    [{ limit: 5, period: '1 fortnight' }, false],
    [{ limit: 5, period: '500ms' }, false],
    [{ limit: 5, period: '32 days' }, false],
    [{ limit: 5 }, false],
    [{ limit: 5, period: '1h', key: 'x' }, false],
  ])('%j valid: %s', (value, valid) => {
    expect(throttleSchema.safeParse(value).success).toBe(valid);
  });
});
