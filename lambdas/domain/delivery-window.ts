/**
 * Delivery windows (`delay.until` in the opening_hours-like format, issue 15 item 7): a small
 * subset of OpenStreetMap's opening_hours grammar, and the first instant a window is open in an
 * IANA time zone. Time zones come from `Intl` (the runtime's ICU data), never from a table here.
 *
 * The subset: rules separated by `;`, each `[days] [times | off | closed]` or `24/7`. Days are
 * `Mo Tu We Th Fr Sa Su`, lists and ranges (`Mo,We,Fr`, `Mo-Fr`, `Sa-Mo` wraps); times are
 * `HH:MM-HH:MM` ranges separated by `,` (`09:00-12:00,13:00-17:00`); an end before its start crosses
 * midnight (`22:00-02:00` is open until 02:00 the next day); `24:00` may end a range. A rule
 * without days applies to every day; days without times are open all day. As in opening_hours, a
 * later rule replaces what earlier ones said for the days it names (`Mo-Fr 09:00-17:00; We off`).
 * Anything else of that grammar (public or school holidays, months, weeks, years, sunrise...) is
 * refused, naming the token.
 *
 * DST (docs/decisions.md D9): a window opens at the first instant its start's wall time is reached
 * and closes at the first instant its end's is. So a start the clocks skip on a spring-forward
 * day (02:30 in Europe/Berlin on 2026-03-29) opens when the clocks jump (03:00 CEST); a wall time
 * that happens twice on an autumn day opens at its first occurrence (summer time), and the
 * repeated hour does not open the window again once it has closed.
 */

export const DAYS = ['Mo', 'Tu', 'We', 'Th', 'Fr', 'Sa', 'Su'] as const;

/** Minutes from local midnight: `start` in [0, 1440), `end` in (start, start + 1440] (past 1440 crosses midnight). */
export interface TimeRange {
  start: number;
  end: number;
}

/** The open ranges of each weekday, Monday first (index 0) to Sunday (6). */
export interface DeliveryWindow {
  days: TimeRange[][];
}

export class WindowSyntaxError extends Error {}

/** Tokens of the opening_hours grammar this subset does not read, with what they are. */
const UNSUPPORTED: [RegExp, string][] = [
  [/^PH$/i, 'public holidays'],
  [/^SH$/i, 'school holidays'],
  [/^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/i, 'months'],
  [/^week$/i, 'week numbers'],
  [/^\d{4}/, 'years or dates'],
  [/^(sunrise|sunset|dawn|dusk)/i, 'times of the sun'],
  [/^easter$/i, 'Easter'],
  [/\[/, 'nth weekdays of a month ([1], [-1])'],
  [/\+$/, 'open-ended times (+)'],
  [/^"|"$/, 'comments'],
  [/^(open|unknown)$/i, `"open" / "unknown" rules`],
  [/^\|\|$/, 'fallback rules (||)'],
];

const SUBSET = 'supported: days Mo-Su (lists and ranges), times HH:MM-HH:MM separated by ",", "off", "24/7", rules separated by ";"';

function unsupported(rule: string, token: string): WindowSyntaxError {
  const what = UNSUPPORTED.find(([re]) => re.test(token))?.[1];
  return new WindowSyntaxError(
    `"${rule}" is not supported: "${token}"${what ? ` (${what})` : ''} is not in the opening hours subset this server reads (${SUBSET})`,
  );
}

const DAY_SPEC = /^(Mo|Tu|We|Th|Fr|Sa|Su)(-(Mo|Tu|We|Th|Fr|Sa|Su))?(,(Mo|Tu|We|Th|Fr|Sa|Su)(-(Mo|Tu|We|Th|Fr|Sa|Su))?)*$/;
const TIME = /^([01]\d|2[0-4]):([0-5]\d)$/;

function parseDays(spec: string): number[] {
  const days = new Set<number>();
  for (const part of spec.split(',')) {
    const [from, to] = part.split('-').map((d) => DAYS.indexOf(d as (typeof DAYS)[number]));
    for (let d = from, n = 0; n < 7; d = (d + 1) % 7, n++) {
      days.add(d);
      if (to === undefined || d === to) break;
    }
  }
  return [...days];
}

function minutes(t: string, rule: string): number {
  const m = TIME.exec(t);
  if (!m) throw unsupported(rule, t);
  const value = Number(m[1]) * 60 + Number(m[2]);
  if (value > 1440) throw new WindowSyntaxError(`"${rule}": "${t}" is not a time of day`);
  return value;
}

function parseTimes(spec: string, rule: string): TimeRange[] {
  return spec.split(',').map((range) => {
    const [a, b, ...rest] = range.split('-');
    if (b === undefined || rest.length) throw unsupported(rule, range);
    const start = minutes(a, rule);
    let end = minutes(b, rule);
    if (start === 1440) throw new WindowSyntaxError(`"${rule}": a range cannot start at 24:00`);
    if (end === start) throw new WindowSyntaxError(`"${rule}": the range "${range}" is empty`);
    if (end < start) end += 1440;
    return { start, end };
  });
}

/**
 * Parses an opening_hours-like window; throws WindowSyntaxError naming the first rule and token
 * it cannot read.
 */
export function parseWindow(text: string): DeliveryWindow {
  const days: TimeRange[][] = DAYS.map(() => []);
  const rules = text
    .split(';')
    .map((r) => r.trim())
    .filter(Boolean);
  if (!rules.length) throw new WindowSyntaxError('an empty opening hours rule');
  for (const rule of rules) {
    // Spaces after commas are a list's, not a new token's: "Mo, We 09:00-12:00, 13:00-17:00".
    const tokens = rule.replace(/\s*,\s*/g, ',').split(/\s+/);
    if (tokens.length === 1 && tokens[0] === '24/7') {
      days.forEach((_, d) => (days[d] = [{ start: 0, end: 1440 }]));
      continue;
    }
    let i = 0;
    let selected = [0, 1, 2, 3, 4, 5, 6];
    if (DAY_SPEC.test(tokens[0])) selected = parseDays(tokens[i++]);
    else if (!/^\d/.test(tokens[0]) && !/^(off|closed)$/i.test(tokens[0])) {
      // Name the part that is not a day: "PH" of "Mo-Fr,PH", "Jan" of "Jan-Mar".
      throw unsupported(rule, tokens[0].split(/[-,]/).find((p) => !(DAYS as readonly string[]).includes(p)) ?? tokens[0]);
    }
    const rest = tokens.slice(i);
    let ranges: TimeRange[];
    if (!rest.length) ranges = [{ start: 0, end: 1440 }];
    else if (/^(off|closed)$/i.test(rest[0])) ranges = [];
    else ranges = parseTimes(rest[0], rule);
    if (rest.length > 1) throw unsupported(rule, rest[1]);
    for (const d of selected) days[d] = ranges;
  }
  return { days };
}

/** Whether `until` is meant as an ISO-8601 time (it starts with a date) rather than a window. */
export const looksIso = (until: string): boolean => /^\d{4}-\d{2}-\d{2}/.test(until.trim());

/** An ISO-8601 time with no offset (no `Z`, no `±hh:mm`): a wall time, read in a time zone. */
const LOCAL_ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?$/;

/** Whether the runtime knows `zone` as an IANA time zone. */
export function isTimeZone(zone: string): boolean {
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The wall time of `instant` in `zone`, as the epoch ms of that wall time read as UTC (seconds precision). */
function wallOf(instant: number, zone: string): number {
  const p = Object.fromEntries(
    formatter(zone)
      .formatToParts(new Date(instant))
      .map((x) => [x.type, Number(x.value)]),
  );
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
}

/** The zone's offset from UTC at `instant` (ms). */
const offsetAt = (instant: number, zone: string): number => {
  const whole = Math.floor(instant / 1000) * 1000;
  return wallOf(whole, zone) - whole;
};

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * The first instant whose wall time in `zone` is `wall` or later (`wall`: a wall time as epoch ms
 * read as UTC). A wall time that happens twice maps to its first occurrence; one the clocks skip
 * maps to the instant they jump.
 */
export function instantOfWall(wall: number, zone: string): number {
  const offsets = [...new Set([offsetAt(wall - DAY, zone), offsetAt(wall + DAY, zone), offsetAt(wall, zone)])];
  const exact = offsets.map((o) => wall - o).filter((t) => wallOf(t, zone) === Math.floor(wall / 1000) * 1000);
  if (exact.length) return Math.min(...exact);
  // In a gap: the transition lies between the readings of the earlier and the later offset; find the
  // first second whose wall time is past `wall`.
  let lo = wall - Math.max(...offsets);
  let hi = wall - Math.min(...offsets);
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2000) * 1000;
    if (wallOf(mid, zone) >= wall) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** An ISO-8601 time as epoch ms: with an offset as written, without one as a wall time in `zone`. NaN if unreadable. */
export function isoInstant(until: string, zone: string): number {
  const m = LOCAL_ISO.exec(until.trim());
  if (!m) return Date.parse(until);
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '0'] = m;
  const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(frac.padEnd(3, '0').slice(0, 3)));
  // Date.UTC rolls 2026-02-31 over to March: refuse what is not a real date.
  if (new Date(wall).getUTCDate() !== Number(d) || Number(h) > 23) return Number.NaN;
  return instantOfWall(wall, zone);
}

/** The window's ranges on the local day starting at wall-clock `date` (a midnight), as instants in `zone`. */
function rangesOn(window: DeliveryWindow, date: number, zone: string): { opens: number; closes: number }[] {
  const weekday = (new Date(date).getUTCDay() + 6) % 7;
  return window.days[weekday].map((r) => ({ opens: instantOfWall(date + r.start * 60_000, zone), closes: instantOfWall(date + r.end * 60_000, zone) }));
}

/**
 * The first instant at or after `instant` when `window` is open in `zone`: `instant` itself when
 * it is open then; undefined when the window is never open.
 */
export function nextOpening(window: DeliveryWindow, instant: number, zone: string): number | undefined {
  const today = Math.floor(wallOf(instant, zone) / DAY) * DAY;
  let best: number | undefined;
  // From yesterday (a range crossing midnight may still be open) to eight days on (a week wraps).
  for (let k = -1; k <= 8; k++) {
    for (const { opens, closes } of rangesOn(window, today + k * DAY, zone)) {
      if (closes <= opens) continue;
      if (opens <= instant && instant < closes) return instant;
      if (opens > instant && (best === undefined || opens < best)) best = opens;
    }
    if (best !== undefined && k >= 0) break;
  }
  return best;
}

/**
 * The time zone a recipient's window is read in when the send names none: the profile's
 * `timezone` (else `zoneinfo`, the OIDC claim the SDK's UserProfile types), else UTC. A value that
 * is not a known IANA zone falls back to UTC, and `fallback` says so for the message's history.
 */
export function profileTimeZone(profile: Record<string, unknown>): { zone: string; fallback?: string } {
  const set = profile.timezone ?? profile.zoneinfo;
  if (set === undefined || set === null || set === '') return { zone: 'UTC' };
  if (typeof set === 'string' && isTimeZone(set)) return { zone: set };
  return { zone: 'UTC', fallback: `the profile's timezone ${JSON.stringify(set)} is not a known IANA time zone: the window is read in UTC` };
}

/**
 * When `instant` lies inside `window` in `zone`, the first instant after it when the window is no
 * longer open (ranges that touch, `22:00-24:00` then `00:00-07:00`, count as one); undefined when the
 * window is not open at `instant`. A window open all the time ends never: Infinity.
 */
export function openUntil(window: DeliveryWindow, instant: number, zone: string): number | undefined {
  if (nextOpening(window, instant, zone) !== instant) return undefined;
  let at = instant;
  // Each step moves to the end of the range open at `at`; a week of touching ranges is always open.
  for (let step = 0; step < 16; step++) {
    const today = Math.floor(wallOf(at, zone) / DAY) * DAY;
    let end: number | undefined;
    for (let k = -1; k <= 0; k++) {
      for (const { opens, closes } of rangesOn(window, today + k * DAY, zone)) {
        if (opens <= at && at < closes && (end === undefined || closes > end)) end = closes;
      }
    }
    if (end === undefined || nextOpening(window, end, zone) !== end) return end ?? at;
    at = end;
  }
  return Infinity;
}
