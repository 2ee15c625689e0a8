import { createHmac, timingSafeEqual } from 'node:crypto';
import type { OutputBlock, RenderedOutput } from './render';

/**
 * Our own open and click tracking (docs/decisions.md D22): compact signed tokens, and the email
 * HTML and inbox links rewritten to carry them.
 *
 * A token is `<payload>.<mac>`, both base64url: the payload is `o <messageId>` (an open) or
 * `c <messageId> <url>` (a click on `url`), the mac the first 16 bytes of its HMAC-SHA256 under the
 * tracking key, computed over the payload's text as written. A token verifies only if its mac is
 * exactly the one its payload text gets (compared in constant time), so any altered character of
 * either part makes it invalid, and a click token redirects only to the URL that was signed.
 */

export type TrackingKind = 'open' | 'click';

export type TrackingPayload = { kind: 'open'; messageId: string } | { kind: 'click'; messageId: string; url: string };

/** Where tracking links point and what signs them. */
export interface Tracker {
  /** The API's public URL, without a trailing slash: links are `<base>/t/o/<token>` and `<base>/t/c/<token>`. */
  base: string;
  key: Uint8Array;
}

const MAC_BYTES = 16;
const MAC_CHARS = Math.ceil((MAC_BYTES * 4) / 3);
/** The longest token accepted (a click token carries its URL). */
export const MAX_TOKEN_CHARS = 8192;
const B64URL = /^[A-Za-z0-9_-]+$/;
const MESSAGE_ID = /^[A-Za-z0-9_.-]{1,128}$/;
const HTTP = /^https?:\/\//i;
/** Printable ASCII without spaces: such a URL is signed, and sent as the redirect's Location, as written. */
const PLAIN_URL = /^[\x21-\x7e]+$/;

/** The tracking key, derived from the user-token signing secret (lambdas/shared/tokens.ts), so a token of one kind is never valid as the other. */
export const deriveTrackingKey = (secret: Uint8Array): Uint8Array =>
  createHmac('sha256', secret).update('courier-compatible-notifications tracking v1').digest();

const mac = (key: Uint8Array, payload: string): string => createHmac('sha256', key).update(payload).digest().subarray(0, MAC_BYTES).toString('base64url');

export function signTracking(key: Uint8Array, p: TrackingPayload): string {
  if (!MESSAGE_ID.test(p.messageId)) throw new Error(`not a message id: ${p.messageId}`);
  const text = p.kind === 'open' ? `o ${p.messageId}` : `c ${p.messageId} ${p.url}`;
  const payload = Buffer.from(text, 'utf8').toString('base64url');
  return `${payload}.${mac(key, payload)}`;
}

/** The payload of a token signed under `key`, or undefined for anything else (forged, altered, truncated, not a token). */
export function verifyTracking(key: Uint8Array, token: string): TrackingPayload | undefined {
  if (token.length > MAX_TOKEN_CHARS) return undefined;
  const dot = token.indexOf('.');
  if (dot < 1) return undefined;
  const [payload, given] = [token.slice(0, dot), token.slice(dot + 1)];
  if (!B64URL.test(payload) || given.length !== MAC_CHARS || !B64URL.test(given)) return undefined;
  if (!timingSafeEqual(Buffer.from(given), Buffer.from(mac(key, payload)))) return undefined;
  const text = Buffer.from(payload, 'base64url').toString('utf8');
  const [kind, messageId, ...rest] = text.split(' ');
  if (!MESSAGE_ID.test(messageId ?? '')) return undefined;
  if (kind === 'o' && rest.length === 0) return { kind: 'open', messageId };
  const url = rest.join(' ');
  if (kind === 'c' && trackableUrl(url) === url) return { kind: 'click', messageId, url };
  return undefined;
}

/**
 * The URL a link to `href` is tracked for, or undefined when it is left alone: only absolute
 * http(s) URLs are tracked (`mailto:`, `tel:`, `#anchors` and relative links are not), and a URL
 * that does not parse stays as it is. A URL of printable ASCII is kept exactly as written (its
 * query and fragment included); one with spaces or other characters is signed as a browser would
 * request it (WHATWG URL serialisation, percent-encoded), since a redirect's Location must be ASCII.
 */
export function trackableUrl(href: string): string | undefined {
  if (!HTTP.test(href)) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(href);
  } catch {
    return undefined;
  }
  return PLAIN_URL.test(href) ? href : parsed.href;
}

const isTrackingLink = (url: string, base: string): boolean => url.startsWith(`${base}/t/`);

/** The link a click on `href` goes through, or `href` itself when it is not tracked (see trackableUrl) or is a tracking link already. */
export function trackedHref(href: string, tracker: Tracker, messageId: string): string {
  const url = trackableUrl(href.trim());
  if (url === undefined || isTrackingLink(url, tracker.base)) return href;
  return `${tracker.base}/t/c/${signTracking(tracker.key, { kind: 'click', messageId, url })}`;
}

// ---- HTML -----------------------------------------------------------------------------------

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** An attribute value's text with its character references decoded (numeric ones, and the named ones URLs meet). */
export function decodeAttribute(value: string): string {
  return value.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]+);/g, (whole, ref: string) => {
    if (ref[0] !== '#') return NAMED[ref] ?? whole;
    const code = ref[1] === 'x' || ref[1] === 'X' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
    return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : '\ufffd';
  });
}

const escapeAttribute = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** An `<a>` start tag: `<a` then attributes (quoted values may hold `>`), to its `>`; not `<abbr>` or `<area>`. */
const A_TAG = /<a(?=[\s/>])(?:[^>"']|"[^"]*"|'[^']*')*>/gi;
/** One attribute of a start tag: its name, and its value quoted with " or ', or unquoted. */
const ATTRIBUTE = /([^\s"'>/=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?/g;

/** A start tag with its first `href` value replaced by `rewrite(decoded value)` (an unchanged value keeps the tag as it was). */
function rewriteHref(tag: string, rewrite: (href: string) => string): string {
  ATTRIBUTE.lastIndex = 2;
  for (let m = ATTRIBUTE.exec(tag); m; m = ATTRIBUTE.exec(tag)) {
    if (m[1].toLowerCase() !== 'href') continue;
    const raw = m[2];
    if (raw === undefined) return tag;
    const quote = raw[0] === '"' || raw[0] === "'" ? raw[0] : '';
    const value = quote ? raw.slice(1, -1) : raw;
    const decoded = decodeAttribute(value);
    const next = rewrite(decoded);
    if (next === decoded) return tag;
    const at = m.index + m[0].length - raw.length;
    return `${tag.slice(0, at)}${quote || '"'}${escapeAttribute(next)}${quote || '"'}${tag.slice(at + raw.length)}`;
  }
  return tag;
}

/** The 1x1 open pixel of a message. */
export const openPixel = (tracker: Tracker, messageId: string): string =>
  `<img src="${escapeAttribute(`${tracker.base}/t/o/${signTracking(tracker.key, { kind: 'open', messageId })}`)}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0" />`;

/**
 * An email's HTML with every tracked link (the `href` of each `<a>`, see trackedHref) going through
 * its signed click link, and the open pixel before the last `</body>` (or at the end when there is
 * none). Everything else is left byte for byte as it was.
 */
export function trackHtml(html: string, tracker: Tracker, messageId: string): string {
  const linked = html.replace(A_TAG, (tag) => rewriteHref(tag, (href) => trackedHref(href, tracker, messageId)));
  const pixel = openPixel(tracker, messageId);
  const close = linked.toLowerCase().lastIndexOf('</body');
  return close < 0 ? linked + pixel : `${linked.slice(0, close)}${pixel}${linked.slice(close)}`;
}

const trackBlock = (b: OutputBlock, tracker: Tracker, messageId: string): OutputBlock =>
  b.href === undefined ? b : { ...b, href: trackedHref(b.href, tracker, messageId) };

/**
 * What a provider is sent with tracking on: an email's HTML tracked (trackHtml; its plain-text copy
 * is left as it is), an inbox message's links (the `href` of its action and image blocks) through
 * their click links. Other channels are not tracked.
 */
export function trackOutput(output: RenderedOutput, tracker: Tracker, messageId: string): RenderedOutput {
  if (output.channel === 'email' && output.html !== undefined) return { ...output, html: trackHtml(output.html, tracker, messageId) };
  if (output.channel === 'inbox' && output.blocks) return { ...output, blocks: output.blocks.map((b) => trackBlock(b, tracker, messageId)) };
  return output;
}
