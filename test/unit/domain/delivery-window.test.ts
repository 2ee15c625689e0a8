import { instantOfWall, isoInstant, isTimeZone, nextOpening, parseWindow, profileTimeZone } from '../../../lambdas/domain/delivery-window';
import { dueTime, messageSchema, recipientWindow } from '../../../lambdas/domain/send';

const at = (iso: string) => Date.parse(iso);
const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
const H = (h: number, m = 0) => h * 60 + m;

describe('parseWindow: the opening hours subset', () => {
  const closed = [] as const;
  it.each([
    ['Mo-Fr 09:00-17:00', { Mo: [[H(9), H(17)]], Fr: [[H(9), H(17)]], Sa: closed, Su: closed }],
    ['Mo,We,Fr 10:00-11:00', { Mo: [[H(10), H(11)]], Tu: closed, We: [[H(10), H(11)]], Th: closed, Fr: [[H(10), H(11)]] }],
    [
      'Mo 09:00-12:00,13:00-17:00',
      {
        Mo: [
          [H(9), H(12)],
          [H(13), H(17)],
        ],
        Tu: closed,
      },
    ],
    [
      'Mo 09:00-12:00, 13:00-17:00',
      {
        Mo: [
          [H(9), H(12)],
          [H(13), H(17)],
        ],
      },
    ],
    ['Mo-Fr 09:00-17:00; We off', { Tu: [[H(9), H(17)]], We: closed, Th: [[H(9), H(17)]] }],
    ['Mo-Fr 09:00-17:00; We 10:00-12:00', { We: [[H(10), H(12)]], Th: [[H(9), H(17)]] }],
    ['Sa-Mo 10:00-12:00', { Sa: [[H(10), H(12)]], Su: [[H(10), H(12)]], Mo: [[H(10), H(12)]], Tu: closed, Fr: closed }],
    ['22:00-02:00', { Mo: [[H(22), H(26)]], Su: [[H(22), H(26)]] }],
    ['Sa 18:00-24:00', { Sa: [[H(18), H(24)]] }],
    ['24/7', { Mo: [[0, H(24)]], Su: [[0, H(24)]] }],
    ['Sa,Su', { Sa: [[0, H(24)]], Fr: closed }],
    ['24/7; Su off', { Sa: [[0, H(24)]], Su: closed }],
    ['Mo-Fr 08:00-18:00; Sa closed', { Fr: [[H(8), H(18)]], Sa: closed, Su: closed }],
  ])('%s', (text, expected) => {
    const { days } = parseWindow(text);
    const names = ['Mo', 'Tu', 'We', 'Th', 'Fr', 'Sa', 'Su'];
    for (const [day, ranges] of Object.entries(expected))
      expect([day, days[names.indexOf(day)]]).toEqual([day, ranges.map(([start, end]) => ({ start, end }))]);
  });

  it.each([
    ['PH off', 'PH', 'public holidays'],
    ['Mo-Fr 09:00-17:00; PH off', 'PH', 'public holidays', 'PH off'],
    ['Mo-Fr,SH 09:00-17:00', 'SH', 'school holidays'],
    ['Jan-Mar Mo 10:00-12:00', 'Jan', 'months'],
    ['week 01-10 Mo 09:00-17:00', 'week', 'week numbers'],
    ['2026 Mo 09:00-17:00', '2026', 'years'],
    ['sunrise-sunset', 'sunrise', 'times of the sun'],
    ['Mo 10:00+', '10:00+', 'open-ended'],
    ['Mo[1] 10:00-12:00', 'Mo[1]', 'nth weekdays'],
    ['Mo 09:00-17:00 "by appointment"', '"by', 'comments'],
    ['Mo 09:00-17:00 || Tu 09:00-12:00', '||', 'fallback'],
    ['Mo open', 'open', '"open"'],
    ['tomorrow', 'tomorrow', ''],
  ])('refuses %s naming %s', (text, token, what, rule = text) => {
    expect(() => parseWindow(text)).toThrow(`"${rule}" is not supported: "${token}"`);
    expect(() => parseWindow(text)).toThrow(what);
  });

  it.each(['Mo 25:00-26:00', 'Mo 09:00-09:00', 'Mo 24:00-02:00', 'Mo 9-17', ';', ''])('refuses the malformed %j', (text) => {
    expect(() => parseWindow(text)).toThrow();
  });
});

describe('nextOpening', () => {
  it.each([
    // [window, now, zone, expected]
    ['open now: sends now', 'Mo-Fr 09:00-17:00', '2026-06-03T10:00:00Z', 'Europe/Berlin', '2026-06-03T10:00:00.000Z'],
    ['the instant it opens is open', 'Mo-Fr 09:00-17:00', '2026-06-03T07:00:00Z', 'Europe/Berlin', '2026-06-03T07:00:00.000Z'],
    ['the instant it closes is closed', 'Mo-Fr 09:00-17:00', '2026-06-03T15:00:00Z', 'Europe/Berlin', '2026-06-04T07:00:00.000Z'],
    ['later today', 'Mo-Fr 09:00-17:00', '2026-06-03T05:00:00Z', 'Europe/Berlin', '2026-06-03T07:00:00.000Z'],
    ['week wrap-around: Friday evening waits for Monday', 'Mo-Fr 09:00-17:00', '2026-06-05T18:00:00Z', 'Europe/Berlin', '2026-06-08T07:00:00.000Z'],
    ['week wrap-around: Sunday to Monday', 'Mo 09:00-10:00', '2026-06-07T12:00:00Z', 'UTC', '2026-06-08T09:00:00.000Z'],
    ['a whole week ahead: just past the only range', 'We 10:00-11:00', '2026-06-03T11:00:00Z', 'UTC', '2026-06-10T10:00:00.000Z'],
    ['the second range of the day', 'Mo-Fr 09:00-12:00,13:00-17:00', '2026-06-03T12:30:00Z', 'UTC', '2026-06-03T13:00:00.000Z'],
    ['a range crossing midnight, after midnight', 'Fr 22:00-02:00', '2026-06-06T01:00:00Z', 'UTC', '2026-06-06T01:00:00.000Z'],
    ['a range crossing midnight, after its end', 'Fr 22:00-02:00', '2026-06-06T02:00:00Z', 'UTC', '2026-06-12T22:00:00.000Z'],
    ['24/7', '24/7', '2026-06-06T03:17:00Z', 'Asia/Tokyo', '2026-06-06T03:17:00.000Z'],
    ['the zone decides the day: Monday 08:00 UTC is Monday 17:00 in Tokyo', 'Mo 09:00-17:00', '2026-06-08T08:00:00Z', 'Asia/Tokyo', '2026-06-15T00:00:00.000Z'],
    ['a half-hour zone', 'Mo-Fr 09:00-17:00', '2026-06-07T12:00:00Z', 'Asia/Kolkata', '2026-06-08T03:30:00.000Z'],
    ['never open', 'off', '2026-06-07T12:00:00Z', 'UTC', undefined],

    // Europe/Berlin, spring forward 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z).
    [
      'Berlin: a window on the spring-forward Sunday opens in summer time',
      'Su 09:00-17:00',
      '2026-03-28T12:00:00Z',
      'Europe/Berlin',
      '2026-03-29T07:00:00.000Z',
    ],
    ['Berlin: Monday after spring-forward', 'Mo-Fr 09:00-17:00', '2026-03-28T12:00:00Z', 'Europe/Berlin', '2026-03-30T07:00:00.000Z'],
    ['Berlin: a start the clocks skip opens when they jump', 'Su 02:30-04:00', '2026-03-28T12:00:00Z', 'Europe/Berlin', '2026-03-29T01:00:00.000Z'],
    ['Berlin: a range wholly skipped does not open that day', 'Su 02:10-02:50', '2026-03-28T12:00:00Z', 'Europe/Berlin', '2026-04-05T00:10:00.000Z'],
    ['Berlin: 01:00-03:00 on spring-forward day lasts one hour', 'Su 01:00-03:00', '2026-03-29T00:30:00Z', 'Europe/Berlin', '2026-03-29T00:30:00.000Z'],
    ['Berlin: ... and is closed at 01:00Z (03:00 CEST)', 'Su 01:00-03:00', '2026-03-29T01:00:00Z', 'Europe/Berlin', '2026-04-04T23:00:00.000Z'],
    // Europe/Berlin, fall back 2026-10-25 03:00 CEST -> 02:00 CET (01:00Z).
    ['Berlin: a window on the fall-back Sunday opens in winter time', 'Su 09:00-17:00', '2026-10-24T12:00:00Z', 'Europe/Berlin', '2026-10-25T08:00:00.000Z'],
    [
      'Berlin: a wall time that happens twice opens at its first occurrence',
      'Su 02:30-04:00',
      '2026-10-24T12:00:00Z',
      'Europe/Berlin',
      '2026-10-25T00:30:00.000Z',
    ],
    ['Berlin: open during the repeated hour', 'Su 02:30-04:00', '2026-10-25T01:15:00Z', 'Europe/Berlin', '2026-10-25T01:15:00.000Z'],
    [
      'Berlin: a window that closed does not reopen in the repeated hour',
      'Su 02:00-02:30',
      '2026-10-25T00:45:00Z',
      'Europe/Berlin',
      '2026-11-01T01:00:00.000Z',
    ],
    // America/New_York, spring forward 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z).
    ['New York: spring-forward Sunday 09:00 is 13:00Z', 'Su 09:00-17:00', '2026-03-07T20:00:00Z', 'America/New_York', '2026-03-08T13:00:00.000Z'],
    ['New York: a start the clocks skip opens when they jump', 'Su 02:15-05:00', '2026-03-07T20:00:00Z', 'America/New_York', '2026-03-08T07:00:00.000Z'],
    ['New York: a daily window after spring-forward', '09:00-17:00', '2026-03-07T23:00:00Z', 'America/New_York', '2026-03-08T13:00:00.000Z'],
    // America/New_York, fall back 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z).
    ['New York: fall-back Sunday 09:00 is 14:00Z', 'Su 09:00-17:00', '2026-10-31T20:00:00Z', 'America/New_York', '2026-11-01T14:00:00.000Z'],
    ['New York: 01:30 happens twice, the first (EDT) opens', 'Su 01:30-03:00', '2026-10-31T20:00:00Z', 'America/New_York', '2026-11-01T05:30:00.000Z'],
    ['New York: a range crossing midnight into the fall-back night', 'Sa 23:00-01:30', '2026-10-31T20:00:00Z', 'America/New_York', '2026-11-01T03:00:00.000Z'],
  ])('%s', (_name, window, now, zone, expected) => {
    expect(iso(nextOpening(parseWindow(window), at(now), zone))).toBe(expected);
  });
});

describe('wall times', () => {
  it.each([
    ['an ordinary time', '2026-06-03T09:00', 'Europe/Berlin', '2026-06-03T07:00:00.000Z'],
    ['skipped (spring forward, Berlin): the instant the clocks jump', '2026-03-29T02:30', 'Europe/Berlin', '2026-03-29T01:00:00.000Z'],
    ['twice (fall back, Berlin): the first', '2026-10-25T02:30', 'Europe/Berlin', '2026-10-25T00:30:00.000Z'],
    ['skipped (spring forward, New York)', '2026-03-08T02:30', 'America/New_York', '2026-03-08T07:00:00.000Z'],
    ['twice (fall back, New York): the first', '2026-11-01T01:30', 'America/New_York', '2026-11-01T05:30:00.000Z'],
    ['Lord Howe: a half-hour DST shift', '2026-10-04T02:15', 'Australia/Lord_Howe', '2026-10-03T15:30:00.000Z'],
  ])('%s', (_name, wall, zone, expected) => {
    expect(iso(instantOfWall(Date.parse(`${wall}:00Z`), zone))).toBe(expected);
  });

  it.each([
    ['with Z: as written', '2026-06-03T09:00:00Z', 'Asia/Tokyo', '2026-06-03T09:00:00.000Z'],
    ['with an offset: as written', '2026-06-03T09:00:00+02:00', 'Asia/Tokyo', '2026-06-03T07:00:00.000Z'],
    ['without an offset: a wall time in the zone', '2026-06-03T09:00:00', 'Asia/Tokyo', '2026-06-03T00:00:00.000Z'],
    ['a date alone: midnight in the zone', '2026-06-03', 'America/New_York', '2026-06-03T04:00:00.000Z'],
    ['fractions of a second', '2026-06-03T09:00:00.250', 'UTC', '2026-06-03T09:00:00.250Z'],
    ['an impossible date', '2026-02-31T09:00:00', 'UTC', undefined],
  ])('ISO %s', (_name, text, zone, expected) => {
    const t = isoInstant(text, zone);
    expect(Number.isNaN(t) ? undefined : iso(t)).toBe(expected);
  });

  it.each([
    ['Europe/Berlin', true],
    ['America/New_York', true],
    ['UTC', true],
    ['Mars/Olympus_Mons', false],
    ['', false],
  ])('knows the zone %j: %s', (zone, known) => {
    expect(isTimeZone(zone)).toBe(known);
  });

  it.each([
    [{}, { zone: 'UTC' }],
    [{ timezone: 'Asia/Tokyo' }, { zone: 'Asia/Tokyo' }],
    [{ zoneinfo: 'Asia/Tokyo' }, { zone: 'Asia/Tokyo' }],
    [{ timezone: 'Europe/Paris', zoneinfo: 'Asia/Tokyo' }, { zone: 'Europe/Paris' }],
    [{ timezone: 'Mars/Olympus_Mons' }, { zone: 'UTC', fallback: expect.stringContaining('"Mars/Olympus_Mons" is not a known IANA time zone') }],
    [{ timezone: 42 }, { zone: 'UTC', fallback: expect.stringContaining('42') }],
  ])('profile %j is read in %j', (profile, expected) => {
    expect(profileTimeZone(profile)).toEqual(expected);
  });
});

describe('delay.until and delay.timezone of a send', () => {
  const now = at('2026-06-06T12:00:00Z'); // a Saturday
  const message = (delay: unknown) => messageSchema.safeParse({ to: { user_id: 'u' }, content: { body: 'b' }, delay });

  it.each([
    ['no delay', undefined, undefined],
    ['an ISO until in the past sends now', { until: '2026-06-06T11:00:00Z' }, undefined],
    ['an ISO until ahead', { until: '2026-06-06T13:00:00Z' }, '2026-06-06T13:00:00.000Z'],
    ['an ISO until without an offset is UTC without a timezone', { until: '2026-06-06T13:00:00' }, '2026-06-06T13:00:00.000Z'],
    ['an ISO until without an offset is a wall time in delay.timezone', { until: '2026-06-06T23:00:00', timezone: 'Asia/Tokyo' }, '2026-06-06T14:00:00.000Z'],
    ['an ISO until without an offset, past in delay.timezone, sends now', { until: '2026-06-06T20:00:00', timezone: 'Asia/Tokyo' }, undefined],
    ['a window in delay.timezone', { until: 'Mo-Fr 09:00-17:00', timezone: 'Europe/Berlin' }, '2026-06-08T07:00:00.000Z'],
    ['a window open now in delay.timezone sends now', { until: 'Sa 13:00-15:00', timezone: 'Europe/Berlin' }, undefined],
    ['a window without delay.timezone: per recipient', { until: 'Mo-Fr 09:00-17:00' }, undefined],
    ['a duration', { duration: 60_000 }, '2026-06-06T12:01:00.000Z'],
  ])('%s', (_name, delay, expected) => {
    expect(message(delay).success).toBe(true);
    expect(iso(dueTime(delay, now))).toBe(expected);
  });

  it('leaves a window without delay.timezone to each recipient', () => {
    expect(recipientWindow({ until: 'Mo-Fr 09:00-17:00' })).toBeDefined();
    expect(recipientWindow({ until: 'Mo-Fr 09:00-17:00', timezone: 'UTC' })).toBeUndefined();
    expect(recipientWindow({ until: '2026-06-06T13:00:00Z' })).toBeUndefined();
    expect(recipientWindow({ duration: 5 })).toBeUndefined();
  });

  it.each([
    [{ until: 'PH off' }, 'until', '"PH off" is not supported: "PH" (public holidays)'],
    [{ until: 'Mo-Fr 09:00-17:00; PH off' }, 'until', '"PH off" is not supported'],
    [{ until: 'off' }, 'until', '"off" is never open'],
    [{ until: '2026-13-01T00:00:00Z' }, 'until', 'must be an ISO-8601 time or opening hours'],
    [{ until: 'Mo-Fr 09:00-17:00', timezone: 'Mars/Olympus_Mons' }, 'timezone', 'is not a known IANA time zone'],
  ])('refuses %j naming delay.%s', (delay, field, text) => {
    const parsed = message(delay);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => [i.path.join('.'), i.message])).toEqual([[`delay.${field}`, expect.stringContaining(text)]]);
  });
});
