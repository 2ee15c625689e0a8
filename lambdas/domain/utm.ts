import { z } from 'zod';
import type { OutputBlock, RenderedOutput } from './render';

/** The SDK's `Utm`: each field the value of one `utm_<field>` query parameter; null or '' is unset. */
export const utmSchema = z.strictObject({
  source: z.string().max(256).nullish(),
  medium: z.string().max(256).nullish(),
  campaign: z.string().max(256).nullish(),
  term: z.string().max(256).nullish(),
  content: z.string().max(256).nullish(),
});
export type Utm = z.infer<typeof utmSchema>;

const FIELDS = ['source', 'medium', 'campaign', 'term', 'content'] as const;

/**
 * One set of UTM parameters from layers, the later winning per key: the message's
 * `metadata.utm`, then the channel's `channels.<ch>.metadata.utm`, then the provider's
 * `providers.<p>.metadata.utm`. Undefined when no layer sets anything.
 */
export function mergeUtm(...layers: (Utm | null | undefined)[]): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const layer of layers) for (const f of FIELDS) if (layer?.[f]) out[`utm_${f}`] = layer[f];
  return Object.keys(out).length ? out : undefined;
}

const HTTP = /^https?:\/\//i;

/**
 * `url` with the parameters added to its query, before its fragment; a parameter the link already
 * has keeps the link's value (the author set it for that link). Only absolute http(s) URLs change:
 * `mailto:`, `tel:`, relative links and anchors are returned as they are. `amp`: the separator
 * between parameters inside an HTML attribute (`&amp;`).
 */
export function withUtm(url: string, params: Record<string, string> | undefined, amp = '&'): string {
  if (!params || !HTTP.test(url)) return url;
  const hash = url.indexOf('#');
  const [base, fragment] = hash < 0 ? [url, ''] : [url.slice(0, hash), url.slice(hash)];
  const q = base.indexOf('?');
  const query = q < 0 ? '' : base.slice(q + 1);
  const present = new Set(
    query
      .split(amp === '&' ? '&' : /&amp;|&/)
      .filter(Boolean)
      .map((pair) => decodeName(pair.split('=')[0])),
  );
  const added = Object.entries(params)
    .filter(([k]) => !present.has(k))
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`);
  if (!added.length) return url;
  const sep = q < 0 ? '?' : query === '' || query.endsWith('&') ? '' : amp;
  return `${base}${sep}${added.join(amp)}${fragment}`;
}

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

/** Every `href` attribute (quoted with " or ') holding an http(s) URL, with the parameters added (`&amp;`-separated, as HTML wants). */
export const utmHtml = (html: string, params: Record<string, string> | undefined): string =>
  params
    ? html.replace(
        /(\bhref\s*=\s*)(["'])(.*?)\2/gis,
        (_m, attr: string, quote: string, url: string) => `${attr}${quote}${withUtm(url, params, '&amp;')}${quote}`,
      )
    : html;

/** Characters that end a sentence rather than a URL when they close one in text. */
const TRAILING = /[.,;:!?)\]}'"]+$/;

/** Every http(s) URL in plain text with the parameters added; punctuation after a URL stays outside it. */
export const utmText = (text: string, params: Record<string, string> | undefined): string =>
  params
    ? text.replace(/https?:\/\/[^\s<>"]+/gi, (match) => {
        const tail = TRAILING.exec(match)?.[0] ?? '';
        return withUtm(match.slice(0, match.length - tail.length), params) + tail;
      })
    : text;

const block = (b: OutputBlock, params: Record<string, string>): OutputBlock => ({
  ...b,
  text: utmText(b.text, params),
  ...(b.href !== undefined ? { href: withUtm(b.href, params) } : {}),
});

/**
 * A channel's output with UTM parameters on every link: the HTML's hrefs, URLs in the text and
 * body, and the href of action and image blocks (image `src` is not a link and stays).
 */
export function utmOutput(output: RenderedOutput, params: Record<string, string> | undefined): RenderedOutput {
  if (!params) return output;
  return {
    ...output,
    ...(output.html !== undefined ? { html: utmHtml(output.html, params) } : {}),
    ...(output.text !== undefined ? { text: utmText(output.text, params) } : {}),
    ...(output.body !== undefined ? { body: utmText(output.body, params) } : {}),
    ...(output.blocks ? { blocks: output.blocks.map((b) => block(b, params)) } : {}),
  };
}
