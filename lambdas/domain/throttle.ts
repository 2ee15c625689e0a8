/**
 * A topic's throttle (issue 18 item 4, the per-topic setting; docs/decisions.md D26): at most
 * `limit` messages of the topic per user in each `period`. Windows are fixed, aligned to the epoch
 * (a `1 hour` period counts from each full UTC hour), so every worker agrees on the window of an
 * instant without reading anything. Over the limit, a message ends THROTTLED (Courier's status), reason THROTTLED.
 */
import { z } from 'zod';
import { humanDurationMs, isoDurationMs } from './durations';

export const MAX_THROTTLE_LIMIT = 100;
export const MIN_THROTTLE_PERIOD_MS = 1000;
export const MAX_THROTTLE_PERIOD_MS = 31 * 86_400_000;

/** A period as `"1 hour"`, `"15m"` or ISO-8601 (`PT1H`) as ms, or undefined when it is neither. */
export const periodMs = (text: string): number | undefined => humanDurationMs(text) ?? isoDurationMs(text);

export const throttleSchema = z.strictObject({
  limit: z.number().int().min(1).max(MAX_THROTTLE_LIMIT),
  period: z
    .string()
    .max(64)
    .refine(
      (t) => {
        const ms = periodMs(t);
        return ms !== undefined && ms >= MIN_THROTTLE_PERIOD_MS && ms <= MAX_THROTTLE_PERIOD_MS && Number.isInteger(ms);
      },
      { message: 'must be a duration ("1 hour", "15m", "PT1H") of 1 second to 31 days' },
    ),
});
export type Throttle = z.infer<typeof throttleSchema>;

/** The fixed window holding `at`: [start, end). */
export function throttleWindow(throttle: Throttle, at: number): { start: number; end: number } {
  const ms = periodMs(throttle.period)!;
  const start = Math.floor(at / ms) * ms;
  return { start, end: start + ms };
}
