/**
 * The time every scheduling decision reads (delays, retries, claims, the sweeper). On AWS it is
 * the system clock; the local stack's tests move it forward to exercise a 20-minute delay or a
 * stale claim without waiting for them.
 */
let offsetMs = 0;

export const now = (): number => Date.now() + offsetMs;

/** Moves this process's clock forward (local stack and tests only; nothing on AWS calls it). */
export function advanceClock(ms: number): void {
  offsetMs += ms;
}
