/**
 * Quiet hours (issue 18 item 5, docs/decisions.md D26): hours of the recipient's day in which
 * nothing but REQUIRED topics is delivered on the channels they name. A workspace setting
 * (`QUIET_HOURS`) and, when per-user quiet hours are on, the user's own (`PUT /users/:id/quiet-hours`,
 * which replaces the workspace's for that user). The hours are a window in the delivery windows'
 * opening_hours subset (`22:00-07:00`, `Mo-Fr 22:00-07:00; Sa,Su 20:00-09:00`, `off`), read in the
 * recipient's time zone (profile `timezone`, else `DEFAULT_TIMEZONE`, else UTC), DST-correct as
 * delivery windows are (D9).
 */
import { z } from 'zod';
import { CHANNELS, type Channel } from './routing';
import { openUntil, parseWindow, profileTimeZone, WindowSyntaxError, type DeliveryWindow } from './delivery-window';

/** Quiet hours as the API and the setting take them: `hours` in the window subset, `channels` (all when absent). */
export const quietHoursSchema = z.strictObject({
  hours: z
    .string()
    .min(1)
    .max(256)
    .superRefine((text, ctx) => {
      try {
        if (openUntil(parseWindow(text), 0, 'UTC') === Infinity)
          ctx.addIssue({ code: 'custom', message: `"${text}" is quiet all the time: nothing would ever be delivered` });
      } catch (e) {
        if (!(e instanceof WindowSyntaxError)) throw e;
        ctx.addIssue({ code: 'custom', message: e.message });
      }
    }),
  channels: z.array(z.enum(CHANNELS)).min(1).max(CHANNELS.length).optional(),
});
export type QuietHours = z.infer<typeof quietHoursSchema>;

/** The `QUIET_HOURS` setting's text (JSON of quietHoursSchema): its value, or a string saying what is wrong. */
export function parseQuietHoursSetting(text: string): QuietHours | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return 'not JSON: expected {"hours":"22:00-07:00","channels":["sms","push"]}';
  }
  const parsed = quietHoursSchema.safeParse(json);
  return parsed.success ? parsed.data : parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

const windows = new Map<string, DeliveryWindow>();
const windowOf = (hours: string): DeliveryWindow => {
  let w = windows.get(hours);
  if (!w) windows.set(hours, (w = parseWindow(hours)));
  return w;
};

export interface QuietHold {
  /** When the quiet hours end (epoch ms): the message is held until then. */
  until: number;
  channel: Channel;
  zone: string;
  /** Whose quiet hours: the user's own or the workspace's. */
  source: 'user' | 'workspace';
}

/**
 * Whether a message about to start on `channel` at `at` is held for quiet hours, and until when.
 * Never for a REQUIRED topic, a channel the hours do not name, or outside them.
 */
export function quietHold(input: {
  quiet: QuietHours | undefined;
  source: 'user' | 'workspace';
  channel: Channel;
  required: boolean;
  zone: string;
  at: number;
}): QuietHold | undefined {
  const { quiet, channel, zone, at } = input;
  if (!quiet || input.required) return undefined;
  if (quiet.channels && !quiet.channels.includes(channel)) return undefined;
  const until = openUntil(windowOf(quiet.hours), at, zone);
  if (until === undefined || !Number.isFinite(until)) return undefined;
  return { until, channel, zone, source: input.source };
}

/**
 * The zone a recipient's quiet hours are read in: the profile's `timezone` (else `zoneinfo`), else
 * the workspace's `fallback` (DEFAULT_TIMEZONE). A profile zone that is not an IANA zone is read as UTC.
 */
export function recipientZone(profile: Record<string, unknown>, fallback: string): string {
  const set = profile.timezone ?? profile.zoneinfo;
  return set === undefined || set === null || set === '' ? fallback : profileTimeZone(profile).zone;
}
