import Mustache from 'mustache';
import { z } from 'zod';
import { elementIdSchema, elementLocalesSchema, localizeContent } from './locales';
import { channelEntrySchema, toTarget, type Channel } from './routing';

export interface ElementalNode {
  type: string;
  [k: string]: unknown;
}
export interface ElementalContent {
  version?: string;
  elements?: ElementalNode[];
  title?: string;
  body?: string;
}

/**
 * What every element may have: the channels (or provider keys) it renders on, as Courier's
 * `channels` property does; an `id` (content blocks: PUT /notifications/:id/elements/:element_id);
 * and `locales`, the properties its type can localize per locale (lambdas/domain/locales.ts).
 */
const common = (type: string) => ({
  id: elementIdSchema.optional(),
  channels: z.array(channelEntrySchema).optional(),
  locales: elementLocalesSchema(type).optional(),
});

// Loose objects: Courier properties this renderer ignores (align, text_style, if, ...) are
// kept, so a stored template reads back as it was written.
const innerElements = [
  z.looseObject({ type: z.literal('text'), content: z.string(), ...common('text') }),
  z.looseObject({ type: z.literal('meta'), title: z.string(), ...common('meta') }),
  z.looseObject({ type: z.literal('action'), content: z.string(), href: z.string(), style: z.enum(['button', 'link']).optional(), ...common('action') }),
  z.looseObject({ type: z.literal('image'), src: z.string(), href: z.string().optional(), altText: z.string().optional(), ...common('image') }),
  z.looseObject({ type: z.literal('divider'), ...common('divider') }),
  z.looseObject({ type: z.literal('quote'), content: z.string(), ...common('quote') }),
  z.looseObject({ type: z.literal('html'), content: z.string(), ...common('html') }),
] as const;

/** A `channel` element's `raw`: these fields replace the output's (after variables); others are kept but unused. */
const rawSchema = z.looseObject({
  subject: z.string().optional(),
  title: z.string().optional(),
  body: z.string().optional(),
  text: z.string().optional(),
  html: z.string().optional(),
});
const RAW_FIELDS = Object.keys(rawSchema.shape) as (keyof typeof rawSchema.shape)[];

const channelElement = z
  .looseObject({
    type: z.literal('channel'),
    id: elementIdSchema.optional(),
    locales: elementLocalesSchema('channel').optional(),
    channel: channelEntrySchema,
    elements: z.array(z.discriminatedUnion('type', [...innerElements])).optional(),
    raw: rawSchema.optional(),
  })
  .refine((e) => e.elements !== undefined || e.raw !== undefined, 'must have elements or raw');

/**
 * `message.content` and template content: the `{ title, body }` sugar and/or Elemental
 * `{ version, elements }`. `channel` elements are allowed at the top level only. Errors name the
 * field, e.g. `content.elements.3.type: Invalid discriminator value ...`.
 */
export const contentSchema = z
  .looseObject({
    version: z.string().optional(),
    title: z.string().optional(),
    body: z.string().optional(),
    elements: z.array(z.discriminatedUnion('type', [...innerElements, channelElement])).optional(),
  })
  .refine((c) => c.title !== undefined || c.body !== undefined || (c.elements?.length ?? 0) > 0, 'must have a title, a body or elements');

/** A brand's custom email layout (Courier's `templateOverride`): HTML with variables around the content. */
export interface BrandTemplateOverride {
  enabled: boolean;
  backgroundColor?: string | null;
  blocksBackgroundColor?: string | null;
  footerBackgroundColor?: string | null;
  footerFullWidth?: boolean | null;
  head?: string | null;
  header?: string | null;
  footer?: string | null;
  width?: string | null;
}

export interface Brand {
  id: string;
  name?: string;
  settings?: {
    colors?: { primary?: string | null; secondary?: string | null } | null;
    email?: {
      header?: { logo?: { href?: string | null; image?: string | null }; barColor?: string | null } | null;
      footer?: { content?: string | null } | string | null;
      head?: { content?: string | null } | null;
      templateOverride?: BrandTemplateOverride | null;
    } | null;
  } | null;
  /** Brand snippets by name (the default brand's, then the brand's own): `{{>name}}` in any template text renders one. */
  snippets?: Record<string, string>;
}

export interface RenderInput {
  content: ElementalContent;
  data: Record<string, unknown>;
  profile: Record<string, unknown>;
  tenant?: { id: string; name?: string; properties?: Record<string, unknown> };
  brand?: Brand;
  /** The recipient's locale (`to.locale`, else the profile's): elements' `locales` for it replace their defaults. */
  locale?: string;
  /** The locale's translations (a `.po` catalog's messages), for `{{#t}}msgid{{/t}}`. */
  translations?: ReadonlyMap<string, string>;
}

/** A content block for chat and inbox clients: `href` on actions (and linked images), `src` on images. */
export interface OutputBlock {
  type: 'text' | 'quote' | 'action' | 'image' | 'divider';
  text: string;
  href?: string;
  src?: string;
}

/** One channel's rendering; the `content` of `GET /messages/:id/output`. */
export interface RenderedOutput {
  channel: Channel;
  title?: string;
  subject?: string;
  body?: string;
  text?: string;
  html?: string;
  blocks?: OutputBlock[];
}

type View = Record<string, unknown>;
type Escape = (value: unknown) => string;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
const asText: Escape = (v) => String(v);
const asHtml: Escape = (v) => escapeHtml(String(v));

/**
 * The most characters one channel's rendering may produce (every field together), and the most
 * template tokens it may evaluate. Nested sections multiply: four levels of `{{#items}}` over 30
 * items repeat their body 810,000 times, six levels 729 million times, so the budget is charged
 * while mustache renders, not checked afterwards, and a rendering over it stops at once.
 */
export const MAX_RENDERED_CHARS = 1_048_576;
export const MAX_RENDER_STEPS = 500_000;

/** Content whose rendering goes over MAX_RENDERED_CHARS or MAX_RENDER_STEPS; the message says which channel and limit. */
export class RenderLimitError extends Error {
  override name = 'RenderLimitError';
}

/** What is left of the budget of the rendering in progress (render() is synchronous: one at a time). */
let budget: { chars: number; steps: number } | undefined;
/** The brand snippets of the rendering in progress, mustache's partials (a snippet including itself runs into the budget). */
let partials: Record<string, string> = {};

function charge(chars: number, steps: number): void {
  if (!budget) return;
  budget.chars -= chars;
  budget.steps -= steps;
  if (budget.chars < 0) throw new RenderLimitError(`the rendered content exceeds ${MAX_RENDERED_CHARS} characters`);
  if (budget.steps < 0) throw new RenderLimitError(`the template's sections repeat more than ${MAX_RENDER_STEPS} times`);
}

const size = (v: unknown): number => (v === undefined || v === null ? 0 : typeof v === 'string' ? v.length : String(v).length);

/**
 * Mustache's writer, charging the budget for every token it evaluates and every piece of output it
 * makes (text between tags, each variable), so sections nested over lists cannot grow past it.
 */
class BudgetedWriter extends Mustache.Writer {
  override renderTokens(...args: Parameters<Mustache.Writer['renderTokens']>): string {
    charge(0, Math.max(1, args[0].length));
    return super.renderTokens(...args);
  }
  override rawValue(token: string[]): string {
    const v = super.rawValue(token);
    charge(size(v), 0);
    return v;
  }
  override escapedValue(...args: Parameters<Mustache.Writer['escapedValue']>): string {
    const v = super.escapedValue(...args);
    charge(size(v), 0);
    return v;
  }
  override unescapedValue(...args: Parameters<Mustache.Writer['unescapedValue']>): string {
    const v = super.unescapedValue(...args);
    charge(size(v), 0);
    return v;
  }
}

// A private writer with its template cache off: the cache is keyed by template source and never
// evicts, and templates here are user content, so a warm Lambda would grow without bound. Parsing
// a short template is cheap.
const writer = Object.assign(new BudgetedWriter(), { templateCache: undefined });

/**
 * Fills `{{variables}}`. The brand's snippets are the partials (`{{>legal_footer}}`, as Courier's
 * brand snippets), an unknown one renders empty; JSON data holds no functions, so there are no lambdas. User content never makes rendering throw: a template mustache
 * cannot parse (an unclosed `{{`) or whose lookup throws (`{{items.map}}` calls an array method)
 * renders as its own source text, so the recipient still gets a readable message and the author
 * sees the mistake in the output. The one exception is the rendering budget (RenderLimitError).
 */
function fill(template: string, view: View, escape: Escape): string {
  try {
    return writer.render(template, view, partials, { escape });
  } catch (e) {
    if (e instanceof RenderLimitError) throw e;
    charge(template.length, 0);
    return template;
  }
}

/** Deeper than any variable path anyone writes; bounds the copy below against hostile nesting. */
const MAX_VIEW_DEPTH = 32;

/**
 * A copy holding own properties only, on null-prototype objects: mustache resolves names with `in`
 * and calls what it finds, so on plain objects `{{constructor}}` or `{{toString}}` would render
 * Object's methods instead of rendering empty like any other missing variable.
 */
function ownData(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_VIEW_DEPTH) return undefined;
  if (Array.isArray(value)) return value.map((v) => ownData(v, depth + 1));
  const copy: View = Object.create(null);
  for (const [k, v] of Object.entries(value)) copy[k] = ownData(v, depth + 1);
  return copy;
}

/**
 * Variables: `{{x}}` reads `data.x`; `profile`, `tenant` and `brand` are always the recipient's
 * profile, the tenant context and the brand, shadowing same-named data keys even when there is no
 * tenant or brand (then they are empty), so a caller's data can never pose as them.
 */
const viewOf = (input: RenderInput): View => {
  const view = ownData({ ...input.data, profile: input.profile, tenant: input.tenant ?? {}, brand: input.brand ?? {} }, 0) as View;
  view.t = translator(input.translations);
  return view;
};

/**
 * `{{#t}}msgid{{/t}}`: the msgid's translation in the recipient's locale (its `.po` catalog), else
 * the msgid itself, then rendered like any template text (a msgstr may use `{{variables}}`). A
 * mustache lambda, so like `profile`, `t` shadows a data key of the same name; `{{t}}` alone
 * renders empty, as a missing variable does.
 */
const translator = (translations: ReadonlyMap<string, string> | undefined) => () =>
  Object.assign((text: string, renderText: (template: string) => string): string => renderText(translations?.get(text.trim()) ?? text), {
    toString: () => '',
  });

const SAFE_SCHEMES = new Set(['http:', 'https:', 'mailto:', 'tel:']);

/**
 * The URL if it is safe to put in a link or an image, else undefined. Data can fill a `{{url}}`,
 * and inbox and chat clients render these links too, so `javascript:` and `data:` URLs are dropped
 * everywhere rather than escaped.
 */
function safeUrl(url: string): string | undefined {
  const trimmed = url.trim();
  if (trimmed === '') return undefined;
  // Browsers ignore whitespace and control characters inside a scheme ("java\tscript:").
  // eslint-disable-next-line no-control-regex -- control characters are exactly what it strips
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(trimmed.replace(/[\u0000-\u0020]/g, ''))?.[0].toLowerCase();
  return scheme === undefined || SAFE_SCHEMES.has(scheme) ? trimmed : undefined;
}

// Stored templates are validated on write, but rendering reads content defensively so bad data never throws.
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const nodesOf = (v: unknown): ElementalNode[] => (Array.isArray(v) ? v.filter((n): n is ElementalNode => typeof n === 'object' && n !== null) : []);

/** Renders only where it belongs: with no `channels` everywhere, else on those channels (provider keys mean their channel). */
const appliesTo = (node: ElementalNode, channel: Channel): boolean =>
  !Array.isArray(node.channels) || node.channels.some((c) => typeof c === 'string' && toTarget(c)?.channel === channel);

/**
 * The elements one channel renders, in order: the sugar `body` first (as a text element), then the
 * top-level elements, with each `channel` element for this channel replaced by its elements and its
 * `raw` fields collected. `channel` elements for other channels render nothing here.
 */
function select(content: ElementalContent, channel: Channel): { nodes: ElementalNode[]; raws: Record<string, unknown>[] } {
  const nodes: ElementalNode[] = typeof content.body === 'string' ? [{ type: 'text', content: content.body }] : [];
  const raws: Record<string, unknown>[] = [];
  for (const node of nodesOf(content.elements)) {
    if (!appliesTo(node, channel)) continue;
    if (node.type !== 'channel') {
      nodes.push(node);
      continue;
    }
    if (typeof node.channel !== 'string' || toTarget(node.channel)?.channel !== channel) continue;
    nodes.push(...nodesOf(node.elements).filter((n) => appliesTo(n, channel)));
    if (typeof node.raw === 'object' && node.raw !== null) raws.push(node.raw as Record<string, unknown>);
  }
  return { nodes, raws };
}

/** An element after variables, before any channel's formatting. */
type Block =
  | { type: 'text' | 'quote'; text: string }
  | { type: 'action'; text: string; href?: string; style: 'button' | 'link' }
  | { type: 'image'; src: string; href?: string; alt: string }
  | { type: 'divider' }
  | { type: 'html'; html: string };

function toBlock(node: ElementalNode, view: View): Block | undefined {
  const text = (key: string) => fill(str(node[key]), view, asText);
  const url = (key: string) => safeUrl(text(key));
  switch (node.type) {
    case 'text':
    case 'quote': {
      const content = text('content');
      // A paragraph that is only a missing variable would leave a gap in every channel.
      return content.trim() === '' ? undefined : { type: node.type, text: content };
    }
    case 'action':
      return { type: 'action', text: text('content'), href: url('href'), style: node.style === 'link' ? 'link' : 'button' };
    case 'image': {
      const src = url('src');
      return src === undefined ? undefined : { type: 'image', src, href: url('href'), alt: text('altText') };
    }
    case 'divider':
      return { type: 'divider' };
    case 'html':
      // The element's own markup is the author's HTML and is kept; only the variables are escaped.
      return { type: 'html', html: fill(str(node.content), view, asHtml) };
    default:
      return undefined; // meta is the title; anything else is not ours to render
  }
}

/**
 * Plain text of the blocks, paragraphs separated by a blank line. An action reads "label: url"; an
 * image contributes its alt text; dividers and `html` elements (email-only markup, which no tag
 * stripping turns into reliable text) contribute nothing.
 */
function plainText(blocks: Block[]): string {
  const paragraph = (b: Block): string => {
    switch (b.type) {
      case 'text':
        return b.text;
      case 'quote':
        return b.text.replace(/^/gm, '> ');
      case 'action':
        return b.href ? `${b.text}: ${b.href}` : b.text;
      case 'image':
        return b.alt;
      default:
        return '';
    }
  };
  return blocks
    .map(paragraph)
    .filter((p) => p !== '')
    .join('\n\n');
}

function outputBlock(b: Block): OutputBlock | undefined {
  switch (b.type) {
    case 'text':
    case 'quote':
      return { type: b.type, text: b.text };
    case 'action':
      return { type: 'action', text: b.text, href: b.href };
    case 'image':
      return { type: 'image', text: b.alt, src: b.src, href: b.href };
    case 'divider':
      return { type: 'divider', text: '' };
    case 'html':
      return undefined;
  }
}

const DEFAULT_ACCENT = '#2563eb';
/** Brand colours go into style attributes, where escaping alone would not stop `red;background:url(...)`. */
const cssColor = (v: string | null | undefined): string | undefined => (v && /^(#[0-9a-f]{3,8}|[a-z]{3,20})$/i.test(v) ? v : undefined);

function blockHtml(b: Block, accent: string): string {
  switch (b.type) {
    case 'text':
      return `<p style="margin:0 0 16px;white-space:pre-line">${escapeHtml(b.text)}</p>`;
    case 'quote':
      return `<blockquote style="margin:0 0 16px;padding-left:12px;border-left:3px solid #d4d4d8;color:#52525b;white-space:pre-line">${escapeHtml(b.text)}</blockquote>`;
    case 'action': {
      if (!b.href) return `<p style="margin:0 0 16px">${escapeHtml(b.text)}</p>`;
      const style =
        b.style === 'link'
          ? `color:${accent}`
          : `display:inline-block;padding:10px 20px;border-radius:4px;background:${accent};color:#ffffff;text-decoration:none`;
      return `<p style="margin:0 0 16px"><a href="${escapeHtml(b.href)}" style="${style}">${escapeHtml(b.text)}</a></p>`;
    }
    case 'image': {
      const img = `<img src="${escapeHtml(b.src)}" alt="${escapeHtml(b.alt)}" style="max-width:100%;border:0">`;
      return `<p style="margin:0 0 16px">${b.href ? `<a href="${escapeHtml(b.href)}">${img}</a>` : img}</p>`;
    }
    case 'divider':
      return '<hr style="border:none;border-top:1px solid #e4e4e7;margin:16px 0">';
    case 'html':
      return b.html;
  }
}

/** The brand's header: a colour bar (barColor, else the primary colour) and the logo, linked when it has an href. */
function brandHeader(brand: Brand, accent: string): string {
  const header = brand.settings?.email?.header;
  const bar = `<div style="height:6px;background:${cssColor(header?.barColor) ?? accent}"></div>`;
  const image = safeUrl(header?.logo?.image ?? '');
  if (!image) return bar;
  const logo = `<img src="${escapeHtml(image)}" alt="${escapeHtml(brand.name ?? '')}" style="max-height:48px;border:0">`;
  const href = safeUrl(header?.logo?.href ?? '');
  return `${bar}<div style="padding:24px 24px 0">${href ? `<a href="${escapeHtml(href)}">${logo}</a>` : logo}</div>`;
}

/** The brand's footer is text; it may use variables (`{{profile.email}}` for an unsubscribe note). */
function brandFooter(brand: Brand, view: View): string {
  const footer = brand.settings?.email?.footer;
  const text = fill(str(typeof footer === 'string' ? footer : footer?.content), view, asText);
  return text.trim() === ''
    ? ''
    : `<div style="padding:16px 24px;border-top:1px solid #e4e4e7;color:#71717a;font-size:13px;white-space:pre-line">${escapeHtml(text)}</div>`;
}

/** A CSS width for the layout (`600px`, `80%`), else undefined. */
const cssWidth = (v: string | null | undefined): string | undefined => (v && /^\d{1,4}(px|%)$/.test(v) ? v : undefined);

function emailHtml(subject: string, blocks: Block[], view: View, brand: Brand | undefined): string {
  const accent = cssColor(brand?.settings?.colors?.primary) ?? DEFAULT_ACCENT;
  const custom = brand?.settings?.email?.templateOverride;
  const override = custom?.enabled ? custom : undefined;
  const main = `<div style="padding:24px">${blocks.map((b) => blockHtml(b, accent)).join('')}</div>`;
  // The brand's own HTML (header, footer, head) is the workspace's markup: variables in it are escaped, the markup is not.
  const html = (source: string | null | undefined) => fill(str(source), view, asHtml);
  const footerBackground = cssColor(override?.footerBackgroundColor);
  const overrideFooter = override && (footerBackground ? `<div style="background:${footerBackground}">${html(override.footer)}</div>` : html(override.footer));
  // footerFullWidth: the footer spans the page, below the content's column, instead of closing it.
  const fullWidthFooter = override?.footerFullWidth ? overrideFooter : '';
  const inner = override
    ? `${html(override.header)}${main}${override.footerFullWidth ? '' : overrideFooter}`
    : brand
      ? `${brandHeader(brand, accent)}${main}${brandFooter(brand, view)}`
      : main;
  const head = `${html(brand?.settings?.email?.head?.content)}${html(override?.head)}`;
  const background = cssColor(override?.backgroundColor) ?? '#f4f4f5';
  const blocksBackground = cssColor(override?.blocksBackgroundColor) ?? '#ffffff';
  return [
    '<!DOCTYPE html>',
    '<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(subject)}</title>${head}</head>`,
    `<body style="margin:0;padding:24px 0;background:${background}">`,
    `<div style="max-width:${cssWidth(override?.width) ?? '600px'};margin:0 auto;background:${blocksBackground};font-family:Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5;color:#18181b">${inner}</div>${fullWidthFooter}`,
    '</body></html>',
  ].join('\n');
}

/**
 * Renders content for one channel:
 * - email: `subject`, plain `text`, and `html` in the brand's layout (a minimal one without a brand);
 * - sms: `body`, the plain text (the title only when there is no text);
 * - push, webhook: `title` and the plain text as `body`;
 * - inbox: `title`, `body` without the actions, and the actions as `blocks`;
 * - direct_message: `title`, plain `text`, and every element as `blocks`.
 * The title is the first `meta` element's title, else the sugar `title`. A `channel` element's
 * `raw` fields then replace the matching output fields as they are (raw `html` gets no layout).
 * Text outputs are not HTML-escaped; HTML escapes every variable and all non-`html` element text.
 * Throws RenderLimitError, and only that, when the content goes over the rendering budget
 * (MAX_RENDERED_CHARS characters, MAX_RENDER_STEPS tokens).
 */
export function render(channel: Channel, input: RenderInput): RenderedOutput {
  budget = { chars: MAX_RENDERED_CHARS, steps: MAX_RENDER_STEPS };
  partials = { ...input.brand?.snippets };
  try {
    const output = renderWithin(channel, input);
    // The layout and the plain-text copies come after the variables: the whole output counts.
    const blocks = (output.blocks ?? []).reduce((n, b) => n + b.text.length + size(b.href) + size(b.src), 0);
    const total = RAW_FIELDS.reduce((n, f) => n + size(output[f]), 0) + blocks;
    if (total > MAX_RENDERED_CHARS) throw new RenderLimitError(`the rendered content exceeds ${MAX_RENDERED_CHARS} characters`);
    return output;
  } catch (e) {
    if (e instanceof RenderLimitError) throw new RenderLimitError(`content too large: the ${channel} rendering stopped, ${e.message}`);
    throw e;
  } finally {
    budget = undefined;
    partials = {};
  }
}

function renderWithin(channel: Channel, input: RenderInput): RenderedOutput {
  const view = viewOf(input);
  const { nodes, raws } = select(localizeContent(input.content, input.locale), channel);
  const meta = nodes.find((n) => n.type === 'meta' && typeof n.title === 'string');
  const titleSource = meta ? str(meta.title) : typeof input.content.title === 'string' ? input.content.title : undefined;
  const title = titleSource === undefined ? undefined : fill(titleSource, view, asText);
  const blocks = nodes.map((n) => toBlock(n, view)).filter((b) => b !== undefined);
  const outputBlocks = (bs: Block[]) => bs.map(outputBlock).filter((b) => b !== undefined);

  const output = ((): RenderedOutput => {
    switch (channel) {
      case 'email':
        return { channel, subject: title, text: plainText(blocks), html: emailHtml(title ?? '', blocks, view, input.brand) };
      case 'sms':
        return { channel, body: plainText(blocks) || (title ?? '') };
      case 'push':
      case 'webhook':
        return { channel, title, body: plainText(blocks) };
      case 'inbox': {
        const actions = blocks.filter((b) => b.type === 'action');
        return {
          channel,
          title,
          body: plainText(blocks.filter((b) => b.type !== 'action')),
          blocks: actions.length > 0 ? outputBlocks(actions) : undefined,
        };
      }
      case 'direct_message':
        return { channel, title, text: plainText(blocks), blocks: outputBlocks(blocks) };
    }
  })();

  for (const raw of raws) {
    for (const field of RAW_FIELDS) {
      if (typeof raw[field] === 'string') output[field] = fill(raw[field], view, field === 'html' ? asHtml : asText);
    }
  }
  return output;
}
