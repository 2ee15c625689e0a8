import { openUntil, parseWindow } from '../../../lambdas/domain/delivery-window';
import { parseQuietHoursSetting, quietHold, quietHoursSchema, recipientZone, type QuietHours } from '../../../lambdas/domain/quiet-hours';
import type { Channel } from '../../../lambdas/domain/routing';

const at = (iso: string) => Date.parse(iso);
const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
const night: QuietHours = { hours: '22:00-07:00' };

describe('quietHold: until when quiet hours hold a message', () => {
  it.each<[string, QuietHours, string, string, string | undefined]>([
    ['before midnight', night, 'UTC', '2026-11-30T23:00:00Z', '2026-12-01T07:00:00.000Z'],
    ['after midnight', night, 'UTC', '2026-12-01T06:59:00Z', '2026-12-01T07:00:00.000Z'],
    ['at the start', night, 'UTC', '2026-11-30T22:00:00Z', '2026-12-01T07:00:00.000Z'],
    ['at the end: not held', night, 'UTC', '2026-12-01T07:00:00Z', undefined],
    ['in the day: not held', night, 'UTC', '2026-12-01T12:00:00Z', undefined],
    ['in the user zone (Tokyo 23:00)', night, 'Asia/Tokyo', '2026-11-30T14:00:00Z', '2026-11-30T22:00:00.000Z'],
    ['Berlin, the night the clocks spring forward (7:00 CEST)', night, 'Europe/Berlin', '2026-03-28T22:30:00Z', '2026-03-29T05:00:00.000Z'],
    ['Berlin, the night the clocks fall back (7:00 CET)', night, 'Europe/Berlin', '2026-10-24T21:00:00Z', '2026-10-25T06:00:00.000Z'],
    ['New York, spring forward (7:00 EDT)', night, 'America/New_York', '2026-03-08T04:00:00Z', '2026-03-08T11:00:00.000Z'],
    ['New York, the repeated hour of fall back (7:00 EST)', night, 'America/New_York', '2026-11-01T05:30:00Z', '2026-11-01T12:00:00.000Z'],
    ['weekdays only: Saturday early is Friday night', { hours: 'Mo-Fr 22:00-07:00' }, 'UTC', '2026-11-28T03:00:00Z', '2026-11-28T07:00:00.000Z'],
    ['weekdays only: Saturday night is not quiet', { hours: 'Mo-Fr 22:00-07:00' }, 'UTC', '2026-11-28T23:00:00Z', undefined],
    ['touching ranges are one', { hours: 'Fr 20:00-24:00; Sa 00:00-10:00' }, 'UTC', '2026-11-27T21:00:00Z', '2026-11-28T10:00:00.000Z'],
    ['off: never quiet', { hours: 'off' }, 'UTC', '2026-11-30T23:00:00Z', undefined],
  ])('%s', (_, quiet, zone, when, until) => {
    expect(iso(quietHold({ quiet, source: 'workspace', channel: 'push', required: false, zone, at: at(when) })?.until)).toBe(until);
  });

  it.each<[string, QuietHours | undefined, Channel, boolean]>([
    ['a REQUIRED topic passes', night, 'push', true],
    ['a channel the hours do not name passes', { hours: '22:00-07:00', channels: ['sms', 'push'] }, 'email', false],
    ['no quiet hours', undefined, 'push', false],
  ])('%s', (_, quiet, channel, required) => {
    expect(quietHold({ quiet, source: 'user', channel, required, zone: 'UTC', at: at('2026-11-30T23:00:00Z') })).toBeUndefined();
  });

  it('holds a named channel, saying whose hours and which zone', () => {
    const quiet: QuietHours = { hours: '22:00-07:00', channels: ['sms'] };
    expect(quietHold({ quiet, source: 'user', channel: 'sms', required: false, zone: 'UTC', at: at('2026-11-30T23:00:00Z') })).toEqual({
      until: at('2026-12-01T07:00:00Z'),
      channel: 'sms',
      zone: 'UTC',
      source: 'user',
    });
  });
});

describe('openUntil', () => {
  it.each([
    ['09:00-17:00', '2026-11-30T10:00:00Z', '2026-11-30T17:00:00.000Z'],
    ['09:00-17:00', '2026-11-30T08:00:00Z', undefined],
    ['24/7', '2026-11-30T08:00:00Z', 'Infinity'],
  ])('%s at %s', (hours, when, until) => {
    const end = openUntil(parseWindow(hours), at(when), 'UTC');
    expect(end === Infinity ? 'Infinity' : iso(end)).toBe(until);
  });
});

describe('the quiet hours settings', () => {
  it.each([
    [{ hours: '22:00-07:00' }, true],
    [{ hours: 'Mo-Fr 22:00-07:00; Sa,Su 20:00-09:00', channels: ['sms', 'push'] }, true],
    [{ hours: 'off' }, true],
    [{ hours: '24/7' }, false],
    [{ hours: 'PH off' }, false],
    [{ hours: '22:00-07:00', channels: ['fax'] }, false],
    [{ hours: '22:00-07:00', channels: [] }, false],
    [{ hours: '22:00-07:00', other: 1 }, false],
    [{}, false],
  ])('%j valid: %s', (value, valid) => {
    expect(quietHoursSchema.safeParse(value).success).toBe(valid);
  });

  it('reads QUIET_HOURS as JSON, and says what is wrong', () => {
    expect(parseQuietHoursSetting('{"hours":"22:00-07:00","channels":["sms"]}')).toEqual({ hours: '22:00-07:00', channels: ['sms'] });
    expect(parseQuietHoursSetting('22:00-07:00')).toMatch(/not JSON/);
    expect(parseQuietHoursSetting('{"hours":"24/7"}')).toMatch(/quiet all the time/);
  });

  it.each([
    [{ timezone: 'Asia/Tokyo' }, 'Asia/Tokyo'],
    [{ zoneinfo: 'Europe/Paris' }, 'Europe/Paris'],
    [{}, 'America/Chicago'],
    [{ timezone: '' }, 'America/Chicago'],
    [{ timezone: 'Mars/Olympus' }, 'UTC'],
  ])('the zone of %j (workspace default America/Chicago) is %s', (profile, zone) => {
    expect(recipientZone(profile, 'America/Chicago')).toBe(zone);
  });
});
