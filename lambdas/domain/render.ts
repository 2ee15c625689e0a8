import Mustache from 'mustache';
import { z } from 'zod';
import { conditionIssue, conditionSchema, ELEMENT_SCOPE, holds, isCondition, loopItems, parseCondition, type Condition } from './conditions';
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

/** Elements nest at most this deep (a list in a list item in a list counts 3), in content and when rendering stored content. */
export const MAX_ELEMENT_DEPTH = 16;

/** An element's `ref`: a name other elements' conditions read as `refs.<name>`. */
const refSchema = z.string().regex(/^[A-Za-z_$][A-Za-z0-9_$-]{0,63}$/, 'must be a name of letters, digits, _ $ or - (at most 64)');

/**
 * What every element may have (Courier's control flow): the channels (or provider keys) it renders
 * on; `if`, a condition; `loop`, an expression giving the array it repeats over (`$.item`,
 * `$.index`); `ref`, its name for other elements' conditions (`refs.<name>.visible`); an `id`
 * (content blocks: PUT /notifications/:id/elements/:element_id); and `locales`, the properties its
 * type can localize per locale (lambdas/domain/locales.ts).
 */
const common = (type: string) => ({
  id: elementIdSchema.optional(),
  channels: z.array(channelEntrySchema).nullish(),
  locales: elementLocalesSchema(type).optional(),
  if: conditionSchema(ELEMENT_SCOPE),
  loop: conditionSchema(ELEMENT_SCOPE),
  ref: refSchema.nullish(),
  // The content API's checksum (retrieveContent gives it with each element): content sent back as
  // it was read carries it. It is worked out again on every write, so the value sent changes nothing.
  checksum: z.string().max(64).nullish(),
});

const align = z.enum(['left', 'center', 'right']).nullish();
const color = z.string().max(64).nullish();
const width = z.string().max(16).nullish();
const children = z.array(z.unknown(), { error: 'must be an array of elements' });

/**
 * A `channel` element's `raw`: fields that replace the channel's output (after variables). Each
 * channel takes the fields its output has (RAW_KEYS); any other key (Slack `blocks`, push `data`,
 * a webhook payload) is refused, as is a key the channel's output lacks.
 */
const rawSchema = z.looseObject({
  subject: z.string().nullish(),
  title: z.string().nullish(),
  body: z.string().nullish(),
  text: z.string().nullish(),
  html: z.string().nullish(),
});
const RAW_FIELDS = Object.keys(rawSchema.shape) as (keyof typeof rawSchema.shape)[];
type RawField = (typeof RAW_FIELDS)[number];

/** The `raw` fields each channel's output has, so the ones a `channel` element's `raw` may set there. */
export const RAW_KEYS: Record<Channel, readonly RawField[]> = {
  email: ['subject', 'text', 'html'],
  sms: ['body'],
  push: ['title', 'body'],
  webhook: ['title', 'body'],
  inbox: ['title', 'body'],
  direct_message: ['title', 'text'],
};

/**
 * Each element type's own fields, every one of them rendered. Any other property (Courier's
 * `action_id`, a quote's `text_style`, a typo) is refused by checkElements as not supported, unless
 * null ("not set"): nothing an element carries is kept and ignored. A `comment` is the exception:
 * it never renders, so whatever it holds is a note. Nested `elements` are checked by
 * checkElements, which knows which types may appear where.
 */
const SHAPES: Record<string, z.ZodObject> = {
  text: z
    .looseObject({
      content: z.string().optional(),
      elements: children.optional(),
      align,
      text_style: z.enum(['text', 'h1', 'h2', 'subtext']).nullish(),
      color,
      bold: z.boolean().nullish(),
      italic: z.boolean().nullish(),
      strikethrough: z.boolean().nullish(),
      underline: z.boolean().nullish(),
      format: z.enum(['markdown'], { error: 'must be "markdown" (the only format)' }).nullish(),
      ...common('text'),
    })
    .refine((e) => e.content !== undefined || e.elements !== undefined, { error: 'must have content or elements', path: ['content'] }),
  meta: z.looseObject({ title: z.string(), ...common('meta') }),
  action: z.looseObject({
    content: z.string(),
    href: z.string(),
    style: z.enum(['button', 'link']).nullish(),
    align: z.enum(['center', 'left', 'right', 'full']).nullish(),
    background_color: color,
    ...common('action'),
  }),
  image: z.looseObject({
    src: z.string(),
    href: z.string().nullish(),
    altText: z.string().nullish(),
    alt_text: z.string().nullish(),
    align: z.enum(['center', 'left', 'right', 'full']).nullish(),
    width,
    ...common('image'),
  }),
  divider: z.looseObject({ color, ...common('divider') }),
  quote: z.looseObject({ content: z.string(), border_color: color, ...common('quote') }),
  html: z.looseObject({ content: z.string(), ...common('html') }),
  comment: z.looseObject({ ...common('comment') }),
  group: z.looseObject({ elements: children, ...common('group') }),
  columns: z.looseObject({ elements: children, ...common('columns') }),
  column: z.looseObject({ elements: children, width, ...common('column') }),
  list: z.looseObject({
    list_type: z.enum(['ordered', 'unordered']),
    elements: children,
    imgSrc: z.string().nullish(),
    imgHref: z.string().nullish(),
    ...common('list'),
  }),
  'list-item': z.looseObject({ elements: children, background_color: color, ...common('list-item') }),
  string: z.looseObject({ content: z.string(), ...common('string') }),
  link: z.looseObject({ content: z.string(), href: z.string(), ...common('link') }),
  img: z.looseObject({ src: z.string(), href: z.string().nullish(), alt: z.string().nullish(), altText: z.string().nullish(), ...common('img') }),
  channel: z
    .looseObject({
      channel: channelEntrySchema,
      elements: children.optional(),
      raw: rawSchema.nullish(),
      ...common('channel'),
    })
    .refine((e) => e.elements !== undefined || (e.raw !== undefined && e.raw !== null), 'must have elements or raw'),
};

const BLOCK_TYPES = ['text', 'meta', 'action', 'image', 'divider', 'quote', 'html', 'comment', 'group', 'columns', 'list'];
const INLINE_TYPES = ['string', 'link', 'img'];
/** Which element types may appear in which `elements`. */
type Place = 'top' | 'block' | 'columns' | 'list' | 'list-item' | 'text';
const ALLOWED: Record<Place, readonly string[]> = {
  top: [...BLOCK_TYPES, 'channel'],
  block: BLOCK_TYPES,
  columns: ['column'],
  list: ['list-item'],
  'list-item': [...INLINE_TYPES, 'list'],
  text: INLINE_TYPES,
};
/** Where the `elements` of an element of each type sit. */
const CHILD_PLACE: Record<string, Place> = {
  channel: 'block',
  group: 'block',
  column: 'block',
  columns: 'columns',
  list: 'list',
  'list-item': 'list-item',
  text: 'text',
};

/** The properties each element type takes: its shape's and `type`. */
const KNOWN_KEYS: Record<string, ReadonlySet<string>> = Object.fromEntries(
  Object.entries(SHAPES).map(([type, shape]) => [type, new Set(['type', ...Object.keys(shape.shape)])]),
);

/**
 * What an element of a known type carries that nothing renders: a property its type does not
 * take (null is "not set"), and a `channel` element's `raw` keys its channel's output does not
 * have. Each issue's path is relative to the element (`['raw', 'blocks']`).
 */
function unsupportedIssues(node: Record<string, unknown>, type: string): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = [];
  if (type === 'comment' || !Object.hasOwn(KNOWN_KEYS, type)) return issues;
  for (const [key, value] of Object.entries(node)) {
    if (value !== null && value !== undefined && !KNOWN_KEYS[type].has(key))
      issues.push({ path: [key], message: `is not supported by the ${type} element, which takes ${[...KNOWN_KEYS[type]].join(', ')}` });
  }
  const raw = node.raw;
  const channel = type === 'channel' && typeof node.channel === 'string' ? toTarget(node.channel)?.channel : undefined;
  if (channel && typeof raw === 'object' && raw !== null) {
    const takes: readonly string[] = RAW_KEYS[channel];
    for (const [key, value] of Object.entries(raw))
      if (value !== null && value !== undefined && !takes.includes(key))
        issues.push({ path: ['raw', key], message: `is not supported: raw on ${channel} takes ${takes.join(', ')}` });
  }
  return issues;
}

/**
 * Checks elements at `path` and, depth first, their nested elements: each must be of a type that
 * may appear there, with its type's fields; `jsonnet` is refused as not supported. Issues name the
 * field (`content.elements.2.elements.0.if: ...`).
 */
function checkElements(elements: unknown[], place: Place, depth: number, path: (string | number)[], ctx: z.RefinementCtx): void {
  if (depth > MAX_ELEMENT_DEPTH) {
    ctx.addIssue({ code: 'custom', message: `elements nest at most ${MAX_ELEMENT_DEPTH} deep`, path });
    return;
  }
  elements.forEach((element, i) => {
    const at = [...path, i];
    const type = typeof element === 'object' && element !== null ? (element as { type?: unknown }).type : undefined;
    if (type === 'jsonnet') return ctx.addIssue({ code: 'custom', message: 'jsonnet elements are not supported', path: [...at, 'type'] });
    if (typeof type !== 'string' || !ALLOWED[place].includes(type)) {
      const what = typeof type === 'string' ? `"${type}" is not an element type here` : 'must be an element type';
      return ctx.addIssue({ code: 'custom', message: `${what}: expected one of ${ALLOWED[place].join(', ')}`, path: [...at, 'type'] });
    }
    const parsed = SHAPES[type].safeParse(element);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: [...at, ...issue.path.map(String)] });
      return;
    }
    for (const issue of unsupportedIssues(element as Record<string, unknown>, type))
      ctx.addIssue({ code: 'custom', message: issue.message, path: [...at, ...issue.path] });
    const nested = parsed.data.elements;
    if (Array.isArray(nested) && CHILD_PLACE[type]) checkElements(nested, CHILD_PLACE[type], depth + 1, [...at, 'elements'], ctx);
  });
}

/**
 * `message.content` and template content: the `{ title, body }` sugar and/or Elemental
 * `{ version, elements }`. `channel` elements are allowed at the top level only. Errors name the
 * field, e.g. `content.elements.3.type: "carousel" is not an element type here: ...`.
 */
export const contentSchema = z
  .looseObject({
    version: z.string().optional(),
    title: z.string().optional(),
    body: z.string().optional(),
    elements: children.optional(),
  })
  .superRefine((c, ctx) => {
    if (c.elements) checkElements(c.elements, 'top', 1, ['elements'], ctx);
  })
  .refine((c) => c.title !== undefined || c.body !== undefined || (c.elements?.length ?? 0) > 0, 'must have a title, a body or elements');

/**
 * What stored content holds that a write would now refuse and rendering would not honour: every
 * `if` and `loop` (nested ones too) that does not parse, and every property nothing renders
 * (unsupportedIssues: an element's unknown property, a `raw` key its channel does not take), as
 * `elements.2.if: ...` or `elements.0.raw.blocks: ...`. A template may predate a rule, so its
 * content is checked before it is rendered; the sender's message ends UNROUTABLE naming the first.
 */
export function contentConditionIssues(content: ElementalContent): string[] {
  const issues: string[] = [];
  const visit = (nodes: unknown, path: string, depth: number) => {
    if (!Array.isArray(nodes) || depth > MAX_ELEMENT_DEPTH) return;
    nodes.forEach((n, i) => {
      if (typeof n !== 'object' || n === null) return;
      const node = n as Record<string, unknown>;
      for (const field of ['if', 'loop']) {
        const source = node[field];
        const issue = typeof source === 'string' ? conditionIssue(source, ELEMENT_SCOPE) : undefined;
        if (issue) issues.push(`${path}.${i}.${field}: ${issue}`);
      }
      if (typeof node.type === 'string')
        for (const issue of unsupportedIssues(node, node.type)) issues.push(`${path}.${i}.${issue.path.join('.')}: ${issue.message}`);
      visit(node.elements, `${path}.${i}.elements`, depth + 1);
    });
  };
  visit(content.elements, 'elements', 1);
  return issues;
}

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
 * tenant or brand (then they are empty), so a caller's data can never pose as them. `data` is the
 * copy of the data (ownData) the view is made from; conditions read the same copy.
 */
const viewOf = (input: RenderInput, data: View): View => {
  const view = Object.assign(Object.create(null) as View, data, ownData({ profile: input.profile, tenant: input.tenant ?? {}, brand: input.brand ?? {} }, 0));
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

/**
 * Renders only where it belongs: with no `channels` everywhere, else on those channels (provider
 * keys mean their channel); a `channel` element only on its channel.
 */
const appliesTo = (node: ElementalNode, channel: Channel): boolean =>
  (node.type !== 'channel' || (typeof node.channel === 'string' && toTarget(node.channel)?.channel === channel)) &&
  (!Array.isArray(node.channels) || node.channels.some((c) => typeof c === 'string' && toTarget(c)?.channel === channel));

type Align = 'left' | 'center' | 'right' | 'full';
const alignOf = (v: unknown, fallback: Align): Align => (v === 'left' || v === 'center' || v === 'right' || v === 'full' ? v : fallback);

interface TextStyle {
  align?: Align;
  level?: 'h1' | 'h2' | 'subtext';
  color?: string;
  bold?: boolean;
  italic?: boolean;
  strikethrough?: boolean;
  underline?: boolean;
}

interface ListItem {
  text: string;
  html: string;
  /** Nested lists, after the item's text. */
  lists: Block[];
  background?: string;
}

/** An element after variables and control flow, before any channel's formatting. */
type Block =
  | { type: 'text'; text: string; html?: string; style?: TextStyle }
  | { type: 'quote'; text: string; border?: string }
  | { type: 'action'; text: string; href?: string; style: 'button' | 'link'; align: Align; background?: string }
  | { type: 'image'; src: string; href?: string; alt: string; width?: string; align: Align }
  | { type: 'divider'; color?: string }
  | { type: 'html'; html: string }
  | { type: 'columns'; columns: { width?: string; blocks: Block[] }[] }
  | { type: 'list'; ordered: boolean; items: ListItem[]; bullet?: { src: string; href?: string } };

/** Conditions parsed for rendering; one that does not parse (stored content that escaped the checks) never holds. */
function conditionFor(source: unknown): Condition | null | undefined {
  if (!isCondition(source)) return undefined;
  try {
    return parseCondition(source, ELEMENT_SCOPE);
  } catch {
    return null;
  }
}

/** What an element renders with: the view for its variables, the scope of its conditions, and what the whole rendering collects. */
interface Context {
  channel: Channel;
  view: View;
  scope: Record<string, unknown>;
  /** Elements named by `ref` so far: their properties and `visible`. */
  refs: Record<string, unknown>;
  /** The first visible `meta` element's title (rendered), and the `raw` fields of visible `channel` elements. */
  found: { title?: string; raws: { raw: Record<string, unknown>; view: View }[] };
}

const step = (n: number) => charge(0, n);

/** The context inside one repetition of a loop: `$.item` and `$.index`, for conditions and variables (`{{$.item.name}}`). */
function inLoop(ctx: Context, item: unknown, index: number): Context {
  const $ = Object.assign(Object.create(null) as View, { item, index });
  const view = Object.assign(Object.create(ctx.view) as View, { $ });
  return { ...ctx, view, scope: { ...ctx.scope, $ } };
}

/**
 * Control flow of one element, as Courier documents it: nothing off its `channels`; once per item
 * of its `loop` (or once); each time only if its `if` holds. `emit` renders each repetition that
 * does. A `ref` records the element's properties and whether it rendered at all (`visible`), for
 * the elements after it. Every element and repetition is charged to the rendering budget, so a
 * loop multiplies the cost of what it repeats.
 */
function visit(node: ElementalNode, ctx: Context, emit: (ctx: Context) => void): void {
  step(1);
  let visible = false;
  if (appliesTo(node, ctx.channel)) {
    const loop = conditionFor(node.loop);
    const items = loop === undefined ? [undefined] : loop === null ? [] : loopItems(loop, ctx.scope, step);
    const test = conditionFor(node.if);
    for (let i = 0; i < items.length; i++) {
      step(1);
      const rep = loop ? inLoop(ctx, items[i], i) : ctx;
      if (test === null || (test && !holds(test, rep.scope, step))) continue;
      visible = true;
      emit(rep);
    }
  }
  if (typeof node.ref === 'string') {
    const props = Object.entries(node).filter(([, v]) => ['string', 'number', 'boolean'].includes(typeof v));
    ctx.refs[node.ref] = Object.assign(Object.create(null) as View, Object.fromEntries(props), { visible });
  }
}

/** The blocks of a list of elements, in order. */
function expand(nodes: unknown, ctx: Context, depth: number): Block[] {
  const blocks: Block[] = [];
  if (depth > MAX_ELEMENT_DEPTH) return blocks;
  for (const node of nodesOf(nodes)) visit(node, ctx, (rep) => blocks.push(...renderNode(node, rep, depth)));
  return blocks;
}

function renderNode(node: ElementalNode, ctx: Context, depth: number): Block[] {
  switch (node.type) {
    case 'channel':
      // Top level only (appliesTo has left out those for other channels).
      if (depth > 0) return [];
      if (typeof node.raw === 'object' && node.raw !== null) ctx.found.raws.push({ raw: node.raw as Record<string, unknown>, view: ctx.view });
      return expand(node.elements, ctx, depth + 1);
    case 'group':
    case 'column':
      return expand(node.elements, ctx, depth + 1);
    case 'columns': {
      const columns: { width?: string; blocks: Block[] }[] = [];
      for (const column of nodesOf(node.elements).filter((c) => c.type === 'column'))
        visit(column, ctx, (rep) => columns.push({ width: cssWidth(str(column.width)), blocks: expand(column.elements, rep, depth + 2) }));
      // Side by side in email; every other channel has them one after the other.
      if (ctx.channel !== 'email') return columns.flatMap((c) => c.blocks);
      return columns.some((c) => c.blocks.length) ? [{ type: 'columns', columns }] : [];
    }
    case 'list': {
      const list = listBlock(node, ctx, depth);
      return list ? [list] : [];
    }
    case 'meta':
      ctx.found.title ??= fill(str(node.title), ctx.view, asText);
      return [];
    case 'text':
      if (Array.isArray(node.elements)) {
        // Inline content (string, link, img) takes precedence over `content`, as Courier's text does.
        const inline = inlineContent(node.elements, ctx, depth + 1);
        return inline.text.trim() === '' ? [] : [{ type: 'text', text: inline.text, html: inline.html, style: textStyle(node) }];
      }
      return toBlock(node, ctx.view);
    default:
      return toBlock(node, ctx.view);
  }
}

function textStyle(node: ElementalNode): TextStyle | undefined {
  const level = node.text_style === 'h1' || node.text_style === 'h2' || node.text_style === 'subtext' ? node.text_style : undefined;
  const style: TextStyle = {
    ...(node.align === 'center' || node.align === 'right' ? { align: node.align } : {}),
    ...(level ? { level } : {}),
    ...(cssColor(str(node.color)) ? { color: cssColor(str(node.color)) } : {}),
    ...Object.fromEntries((['bold', 'italic', 'strikethrough', 'underline'] as const).filter((k) => node[k] === true).map((k) => [k, true])),
  };
  return Object.keys(style).length ? style : undefined;
}

/** A text element's or list item's inline content: `string`, `link` and `img` elements (and, in list items, nested lists). */
function inlineContent(nodes: unknown, ctx: Context, depth: number): { text: string; html: string; lists: Block[] } {
  const out = { text: '', html: '', lists: [] as Block[] };
  if (depth > MAX_ELEMENT_DEPTH) return out;
  for (const node of nodesOf(nodes))
    visit(node, ctx, (rep) => {
      const text = (key: string) => fill(str(node[key]), rep.view, asText);
      switch (node.type) {
        case 'string': {
          const t = text('content');
          out.text += t;
          out.html += escapeHtml(t);
          break;
        }
        case 'link': {
          const label = text('content');
          const href = safeUrl(text('href'));
          out.text += href ? `${label} (${href})` : label;
          out.html += href ? `<a href="${escapeHtml(href)}">${escapeHtml(label)}</a>` : escapeHtml(label);
          break;
        }
        case 'img': {
          const src = safeUrl(text('src'));
          const alt = fill(str(node.alt ?? node.altText), rep.view, asText);
          if (!src) break;
          const img = `<img src="${escapeHtml(src)}" alt="${escapeHtml(alt)}" style="max-width:100%;border:0;vertical-align:middle">`;
          const href = safeUrl(text('href'));
          out.text += alt;
          out.html += href ? `<a href="${escapeHtml(href)}">${img}</a>` : img;
          break;
        }
        case 'list': {
          const list = listBlock(node, rep, depth);
          if (list) out.lists.push(list);
          break;
        }
      }
    });
  return out;
}

/** A `list` element: its `list-item` elements (each with control flow), or undefined when none renders. */
function listBlock(node: ElementalNode, ctx: Context, depth: number): Block | undefined {
  const items: ListItem[] = [];
  for (const item of nodesOf(node.elements).filter((i) => i.type === 'list-item'))
    visit(item, ctx, (rep) => {
      const content = inlineContent(item.elements, rep, depth + 2);
      if (content.text.trim() !== '' || content.lists.length) items.push({ ...content, background: cssColor(str(item.background_color)) });
    });
  if (!items.length) return undefined;
  const src = node.list_type !== 'ordered' ? safeUrl(fill(str(node.imgSrc), ctx.view, asText)) : undefined;
  const bullet = src ? { src, href: safeUrl(fill(str(node.imgHref), ctx.view, asText)) } : undefined;
  return { type: 'list', ordered: node.list_type === 'ordered', items, ...(bullet ? { bullet } : {}) };
}

/** Characters a backslash makes literal in markdown. */
const MD_ESCAPABLE = '\\`*_~[]()#+-.!>';
/** Emphasis delimiters, longest first: `**b**` `__b__` bold, `~~s~~` struck, `*i*` `_i_` italic. */
const MD_DELIMITERS = [
  ['**', 'strong'],
  ['__', 'strong'],
  ['~~', 's'],
  ['*', 'em'],
  ['_', 'em'],
] as const;
const isWord = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}_]/u.test(c);
const isSpace = (c: string | undefined) => c === undefined || /\s/.test(c);

/**
 * A text element's `format: 'markdown'` content (after its variables) as plain text and as HTML:
 * `**bold**` / `__bold__`, `*italic*` / `_italic_` (not inside a word), `~~struck~~`, `` `code` ``,
 * `[label](url)` (a safe URL only: plain text reads "label (url)", as a link element does) and
 * backslash escapes, each within a line; line breaks are kept. Other markdown (headings, lists,
 * quotes) is left as written: those are Elemental's own elements (`text_style`, `list`, `quote`).
 * Linear in the content: a delimiter with no closer on its line is remembered, not searched again.
 */
function markdown(source: string): { text: string; html: string } {
  const lines = source.split('\n').map((line) => inlineMarkdown(line));
  return { text: lines.map((l) => l.text).join('\n'), html: lines.map((l) => l.html).join('\n') };
}

function inlineMarkdown(line: string): { text: string; html: string } {
  let text = '';
  let html = '';
  let i = 0;
  const literal = (s: string) => {
    text += s;
    html += escapeHtml(s);
  };
  // Delimiters (and `[`, `` ` ``) with no closer at or after a position: any later opener has none either.
  const noCloserFrom = new Map<string, number>();
  const closerOf = (delimiter: string, from: number): number => {
    if ((noCloserFrom.get(delimiter) ?? Infinity) <= from) return -1;
    for (let j = line.indexOf(delimiter, from); j !== -1; j = line.indexOf(delimiter, j + 1)) {
      const ok = !isSpace(line[j - 1]) && (delimiter !== '_' || !isWord(line[j + 1])) && (delimiter !== '*' || line[j + 1] !== '*');
      if (ok) return j;
    }
    noCloserFrom.set(delimiter, from);
    return -1;
  };
  outer: while (i < line.length) {
    const c = line[i];
    if (c === '\\' && i + 1 < line.length && MD_ESCAPABLE.includes(line[i + 1])) {
      literal(line[i + 1]);
      i += 2;
      continue;
    }
    if (c === '`') {
      const end = closerOf('`', i + 1);
      if (end > i + 1) {
        const code = line.slice(i + 1, end);
        text += code;
        html += `<code>${escapeHtml(code)}</code>`;
        i = end + 1;
        continue;
      }
    }
    if (c === '[') {
      const close = closerOf('](', i + 1);
      const end = close === -1 ? -1 : line.indexOf(')', close + 2);
      // No ")" after this "](": none after any later one either.
      if (close !== -1 && end === -1) noCloserFrom.set('](', i + 1);
      if (close !== -1 && end !== -1 && !/\s/.test(line.slice(close + 2, end))) {
        const label = inlineMarkdown(line.slice(i + 1, close));
        const href = safeUrl(line.slice(close + 2, end));
        text += href ? `${label.text} (${href})` : label.text;
        html += href ? `<a href="${escapeHtml(href)}">${label.html}</a>` : label.html;
        i = end + 1;
        continue;
      }
    }
    for (const [delimiter, tag] of MD_DELIMITERS) {
      if (!line.startsWith(delimiter, i) || isSpace(line[i + delimiter.length])) continue;
      if (delimiter === '_' && isWord(line[i - 1])) continue;
      const end = closerOf(delimiter, i + delimiter.length + 1);
      if (end === -1) continue;
      const inner = inlineMarkdown(line.slice(i + delimiter.length, end));
      text += inner.text;
      html += `<${tag}>${inner.html}</${tag}>`;
      i = end + delimiter.length;
      continue outer;
    }
    literal(c);
    i++;
  }
  return { text, html };
}

function toBlock(node: ElementalNode, view: View): Block[] {
  const text = (key: string) => fill(str(node[key]), view, asText);
  const url = (key: string) => safeUrl(text(key));
  switch (node.type) {
    case 'text': {
      const content = text('content');
      // A paragraph that is only a missing variable would leave a gap in every channel.
      if (content.trim() === '') return [];
      if (node.format === 'markdown') {
        const md = markdown(content);
        return [{ type: 'text', text: md.text, html: md.html, style: textStyle(node) }];
      }
      return [{ type: 'text', text: content, style: textStyle(node) }];
    }
    case 'quote': {
      const content = text('content');
      const border = cssColor(str(node.border_color));
      return content.trim() === '' ? [] : [{ type: 'quote', text: content, ...(border ? { border } : {}) }];
    }
    case 'action':
      return [
        {
          type: 'action',
          text: text('content'),
          href: url('href'),
          style: node.style === 'link' ? 'link' : 'button',
          align: alignOf(node.align, 'center'),
          background: cssColor(str(node.background_color)),
        },
      ];
    case 'image': {
      const src = url('src');
      const alt = fill(str(node.altText ?? node.alt_text), view, asText);
      return src === undefined ? [] : [{ type: 'image', src, href: url('href'), alt, width: cssWidth(str(node.width)), align: alignOf(node.align, 'center') }];
    }
    case 'divider':
      return [{ type: 'divider', color: cssColor(str(node.color)) }];
    case 'html':
      // The element's own markup is the author's HTML and is kept; only the variables are escaped.
      return [{ type: 'html', html: fill(str(node.content), view, asHtml) }];
    default:
      return []; // comment renders nothing; anything else is not ours to render
  }
}

/** A list as plain text: `1. item` or `- item` a line, nested lists indented under their item. */
function listText(b: Extract<Block, { type: 'list' }>, indent = ''): string {
  return b.items
    .map((item, i) => {
      const nested = item.lists.map((l) => (l.type === 'list' ? `\n${listText(l, `${indent}   `)}` : '')).join('');
      return `${indent}${b.ordered ? `${i + 1}.` : '-'} ${item.text}${nested}`;
    })
    .join('\n');
}

/**
 * Plain text of the blocks, paragraphs separated by a blank line. An action reads "label: url"; an
 * image contributes its alt text; a list its lines; columns their blocks one after the other;
 * dividers and `html` elements (email-only markup, which no tag stripping turns into reliable
 * text) contribute nothing.
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
      case 'list':
        return listText(b);
      case 'columns':
        return plainText(b.columns.flatMap((c) => c.blocks));
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
    case 'list':
      return { type: 'text', text: listText(b) };
    case 'action':
      return { type: 'action', text: b.text, href: b.href };
    case 'image':
      return { type: 'image', text: b.alt, src: b.src, href: b.href };
    case 'divider':
      return { type: 'divider', text: '' };
    default:
      return undefined; // html is email markup; columns exist in email only
  }
}

const DEFAULT_ACCENT = '#2563eb';
/** Colours go into style attributes, where escaping alone would not stop `red;background:url(...)`. */
const cssColor = (v: string | null | undefined): string | undefined =>
  v && /^(#[0-9a-f]{3,8}|[a-z]{3,20}|rgba?\(\s*\d{1,3}%?\s*,\s*\d{1,3}%?\s*,\s*\d{1,3}%?\s*(,\s*(0|1|0?\.\d{1,3})\s*)?\))$/i.test(v) ? v : undefined;

const TEXT_TAGS = {
  h1: ['h1', 'font-size:28px;line-height:1.25;'],
  h2: ['h2', 'font-size:22px;line-height:1.3;'],
  subtext: ['p', 'font-size:13px;color:#71717a;'],
};

function textHtml(b: Extract<Block, { type: 'text' }>): string {
  const s = b.style;
  const [tag, size] = s?.level ? TEXT_TAGS[s.level] : ['p', ''];
  const decoration = [s?.underline ? 'underline' : '', s?.strikethrough ? 'line-through' : ''].filter(Boolean).join(' ');
  const css = [
    `margin:0 0 16px;${size}white-space:pre-line`,
    s?.align ? `text-align:${s.align}` : '',
    s?.color ? `color:${s.color}` : '',
    s?.bold ? 'font-weight:bold' : '',
    s?.italic ? 'font-style:italic' : '',
    decoration ? `text-decoration:${decoration}` : '',
  ]
    .filter(Boolean)
    .join(';');
  return `<${tag} style="${css}">${b.html ?? escapeHtml(b.text)}</${tag}>`;
}

function listHtml(b: Extract<Block, { type: 'list' }>, accent: string): string {
  const tag = b.ordered ? 'ol' : 'ul';
  const bullet = b.bullet && `<img src="${escapeHtml(b.bullet.src)}" alt="" style="width:12px;height:12px;border:0;margin-right:8px;vertical-align:middle">`;
  const marker = bullet && b.bullet?.href ? `<a href="${escapeHtml(b.bullet.href)}">${bullet}</a>` : bullet;
  const items = b.items
    .map((item) => {
      const css = `margin:0 0 4px${item.background ? `;background:${item.background}` : ''}`;
      const nested = item.lists.map((l) => blockHtml(l, accent)).join('');
      return `<li style="${css}">${marker ?? ''}${item.html}${nested}</li>`;
    })
    .join('');
  return `<${tag} style="margin:0 0 16px;padding-left:${b.bullet ? '0;list-style:none' : '24px'}">${items}</${tag}>`;
}

function blockHtml(b: Block, accent: string): string {
  switch (b.type) {
    case 'text':
      return textHtml(b);
    case 'quote':
      return `<blockquote style="margin:0 0 16px;padding-left:12px;border-left:3px solid ${b.border ?? '#d4d4d8'};color:#52525b;white-space:pre-line">${escapeHtml(b.text)}</blockquote>`;
    case 'action': {
      const wrapper = `margin:0 0 16px;text-align:${b.align === 'full' ? 'center' : b.align}`;
      if (!b.href) return `<p style="${wrapper}">${escapeHtml(b.text)}</p>`;
      const block = b.align === 'full' ? 'display:block;text-align:center' : 'display:inline-block';
      const style =
        b.style === 'link'
          ? `color:${accent}`
          : `${block};padding:10px 20px;border-radius:4px;background:${b.background ?? accent};color:#ffffff;text-decoration:none`;
      return `<p style="${wrapper}"><a href="${escapeHtml(b.href)}" style="${style}">${escapeHtml(b.text)}</a></p>`;
    }
    case 'image': {
      const size = b.align === 'full' ? 'width:100%;' : b.width ? `width:${b.width};` : '';
      const img = `<img src="${escapeHtml(b.src)}" alt="${escapeHtml(b.alt)}" style="${size}max-width:100%;border:0">`;
      return `<p style="margin:0 0 16px;text-align:${b.align === 'full' ? 'center' : b.align}">${b.href ? `<a href="${escapeHtml(b.href)}">${img}</a>` : img}</p>`;
    }
    case 'divider':
      return `<hr style="border:none;border-top:1px solid ${b.color ?? '#e4e4e7'};margin:16px 0">`;
    case 'html':
      return b.html;
    case 'list':
      return listHtml(b, accent);
    case 'columns': {
      const share = `${Math.floor(100 / b.columns.length)}%`;
      const cells = b.columns
        .map((c, i) => {
          const pad = i === b.columns.length - 1 ? '0' : '0 16px 0 0';
          return `<td valign="top" style="width:${c.width ?? share};padding:${pad}">${c.blocks.map((x) => blockHtml(x, accent)).join('')}</td>`;
        })
        .join('');
      return `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;margin:0 0 16px"><tr>${cells}</tr></table>`;
    }
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
  const data = ownData(input.data, 0) as View;
  const view = viewOf(input, data);
  const refs = Object.create(null) as View;
  const ctx: Context = { channel, view, scope: { data, profile: view.profile, tenant: view.tenant, refs }, refs, found: { raws: [] } };
  const content = localizeContent(input.content, input.locale);
  // The sugar body first, as a text element, then the elements.
  const blocks = [...(typeof content.body === 'string' ? toBlock({ type: 'text', content: content.body }, view) : []), ...expand(content.elements, ctx, 0)];
  const titleSource = typeof input.content.title === 'string' ? input.content.title : undefined;
  const title = ctx.found.title ?? (titleSource === undefined ? undefined : fill(titleSource, view, asText));
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

  for (const { raw, view: at } of ctx.found.raws) {
    for (const field of RAW_KEYS[channel]) {
      if (typeof raw[field] === 'string') output[field] = fill(raw[field], at, field === 'html' ? asHtml : asText);
    }
  }
  return output;
}
