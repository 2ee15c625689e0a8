/**
 * The stack's controllable clock (lambdas/shared/clock.ts) for tests that move time: read after the
 * stack set the environment, as the handlers read it.
 */
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** SWEEP_GRACE_MS's default: the sweeper re-drives a message this long after it was due. */
export const GRACE = 5 * 60_000;

const clock = () => require('../../lambdas/shared/clock') as typeof import('../../lambdas/shared/clock');
/** The stack's now. */
export const now = (): number => clock().now();

/** Moves the stack's clock forward to `at` (it only moves forward). */
export function setClock(at: number): void {
  const by = at - now();
  if (by < 0) throw new Error(`the clock is past ${new Date(at).toISOString()} already`);
  clock().advanceClock(by);
}

/** A zone's UTC offset at `t` (ms), read from Intl directly. */
export function zoneOffset(zone: string, t: number): number {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    })
      .formatToParts(new Date(t))
      .map((x) => [x.type, Number(x.value)]),
  );
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) - Math.floor(t / 60_000) * 60_000;
}

/** The next instant after `after` at which the zone's offset changes (to the hour). */
export function nextTransition(zone: string, after: number): number {
  const start = Math.ceil(after / HOUR) * HOUR;
  for (let t = start; t < start + 400 * DAY; t += HOUR) if (zoneOffset(zone, t + HOUR) !== zoneOffset(zone, t)) return t + HOUR;
  throw new Error(`no DST change in ${zone}`);
}

/** The next `hour`:`minute` UTC at or after `after`. */
export const nextUtc = (hour: number, minute = 0, after = now()): number => {
  const t = Math.floor(after / DAY) * DAY + hour * HOUR + minute * 60_000;
  return t >= after ? t : t + DAY;
};
