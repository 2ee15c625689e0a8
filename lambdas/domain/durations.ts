/**
 * The one duration parser. Courier takes durations two ways: human (`"2 hours"`, `"1d"`, `"1 Day"`:
 * user token lifetimes, `x-idempotency-expiration`) and ISO-8601 (`P1DT4H`: a send's
 * `expiry.expires_in`). Each caller applies its own bounds.
 */

const DAY_MS = 86_400_000;

/** Units of the human form (a year is 365.25 days and a month 30, as the `ms` package counts them). */
const UNITS: [RegExp, number][] = [
  [/^(ms|msecs?|milliseconds?)$/, 1],
  [/^(s|secs?|seconds?)$/, 1000],
  [/^(m|mins?|minutes?)$/, 60_000],
  [/^(h|hrs?|hours?)$/, 3_600_000],
  [/^(d|days?)$/, DAY_MS],
  [/^(w|weeks?)$/, 7 * DAY_MS],
  [/^(months?)$/, 30 * DAY_MS],
  [/^(y|yrs?|years?)$/, 365.25 * DAY_MS],
];

/** Milliseconds in a human duration: a number and a unit, case-insensitive, optional spaces; undefined otherwise. */
export function humanDurationMs(text: string): number | undefined {
  const m = /^\s*(\d{1,9}(?:\.\d{1,6})?)\s*([a-z]+)\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = UNITS.find(([re]) => re.test(m[2].toLowerCase()));
  return unit ? Number(m[1]) * unit[1] : undefined;
}

/** An ISO-8601 duration with at least one part (`P1Y2M3W4DT5H6M7S`, each part optional). */
export const ISO_DURATION = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/;

/** Milliseconds in an ISO-8601 duration (years of 365 days, months of 30); undefined when it is not one. */
export function isoDurationMs(text: string): number | undefined {
  if (!ISO_DURATION.test(text)) return undefined;
  const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(text)!;
  const [y, mo, w, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0));
  return ((((y * 365 + mo * 30 + w * 7 + d) * 24 + h) * 60 + mi) * 60 + s) * 1000;
}
