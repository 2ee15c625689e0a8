/**
 * The time every scheduling decision reads (delays, retries, claims, the sweeper). On AWS it is
 * the system clock; the local stack's tests move it forward to exercise a 20-minute delay or a
 * stale claim without waiting for them.
 */
let offsetMs = 0;

export const now = (): number => Date.now() + offsetMs;

/**
 * The machine's own time, never moved by the test clock: for timestamps another party checks
 * against its clock (a token's issue time, a signature's timestamp, a Retry-After date) and for
 * how long this process keeps something in memory or real time elapses (the local runner's deadlines).
 */
export const wallNow = (): number => Date.now();

/** Moves this process's clock forward (local stack and tests only; nothing on AWS calls it). */
export function advanceClock(ms: number): void {
  offsetMs += ms;
}
