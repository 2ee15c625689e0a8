import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ElementalContent, ElementalNode } from './render';

/**
 * Locales of Elemental content (Courier's `locales` property of an element, and
 * `PUT /notifications/:id/locales/:locale_id`), content block ids and checksums. Pure.
 */

/** A locale id: `fr`, `fr_FR`, `pt-BR`, `zh_Hant_TW` (ISO 639 language, then region or script parts). */
export const localeIdSchema = z
  .string()
  .max(35, 'must be at most 35 characters')
  .regex(/^[A-Za-z]{2,8}([_-][A-Za-z0-9]{1,8})*$/, 'must be a locale such as fr, fr_FR or pt-BR');

/** Element ids: what putElement and putLocale address. */
export const elementIdSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(/^[A-Za-z0-9_.:-]+$/, 'must be letters, digits, _ . : or -');

/**
 * The properties a locale may replace, per element type, as Courier documents them: `content` of
 * text, quote, html and action elements, `title` of meta elements, `href` of actions and images,
 * `src` of images; and of a list item's inline elements, `content` of strings, `content` and `href`
 * of links. Other element types (group, columns, list...) have nothing to localize: their nested
 * elements have their own ids and locales, and localizeContent reaches them at any depth.
 */
export const LOCALIZABLE: Record<string, readonly string[]> = {
  text: ['content'],
  quote: ['content'],
  html: ['content'],
  action: ['content', 'href'],
  meta: ['title'],
  image: ['src', 'href'],
  // A list item's inline content.
  string: ['content'],
  link: ['content', 'href'],
};

/** A locale's override of one element: only its type's localizable properties, each a string. */
export const localeOverrideSchema = (type: string) =>
  z.strictObject(Object.fromEntries((LOCALIZABLE[type] ?? []).map((p) => [p, z.string().max(100_000).optional()])));

/** An element's `locales`: locale id to override. */
export const elementLocalesSchema = (type: string) => z.record(localeIdSchema, localeOverrideSchema(type));

/** Compared case-insensitively, `-` and `_` alike: `fr-FR` is `fr_fr`. */
export const normalizeLocale = (locale: string): string => locale.trim().toLowerCase().replace(/-/g, '_');

/** Where a locale falls back to: itself, then its language alone (`fr_FR` then `fr`). */
export function localeCandidates(locale: string): string[] {
  const exact = normalizeLocale(locale);
  const language = exact.split('_')[0];
  return language && language !== exact ? [exact, language] : [exact];
}

/**
 * The locale of `available` that renders for a recipient's `requested` locale: the same locale
 * (case and `-`/`_` aside), else the requested locale's language alone; undefined (the default
 * content) otherwise, or when nothing is requested. A bare language never picks a regional variant.
 */
export function chooseLocale(requested: string | undefined, available: readonly string[]): string | undefined {
  if (!requested) return undefined;
  for (const candidate of localeCandidates(requested)) {
    const hit = available.find((a) => normalizeLocale(a) === candidate);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

const isNode = (v: unknown): v is ElementalNode => typeof v === 'object' && v !== null && !Array.isArray(v);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One element with its locale's overrides applied (nested elements too); unchanged without one. */
function localizeNode(node: ElementalNode, locale: string): ElementalNode {
  let out = node;
  if (isRecord(node.locales)) {
    const chosen = chooseLocale(locale, Object.keys(node.locales));
    const override = chosen === undefined ? undefined : node.locales[chosen];
    if (isRecord(override)) {
      const replaced = (LOCALIZABLE[node.type] ?? []).filter((p) => typeof override[p] === 'string').map((p) => [p, override[p]]);
      if (replaced.length) out = { ...node, ...Object.fromEntries(replaced) };
    }
  }
  if (Array.isArray(node.elements)) out = { ...out, elements: node.elements.map((n) => (isNode(n) ? localizeNode(n, locale) : n)) };
  return out;
}

/**
 * The content a recipient with `locale` sees: every element whose `locales` has that locale (or its
 * language) gets those properties instead of its defaults; any property or element without a
 * translation keeps the default. No locale: the content as it is.
 */
export function localizeContent(content: ElementalContent, locale: string | undefined): ElementalContent {
  if (!locale || !Array.isArray(content.elements)) return content;
  return { ...content, elements: content.elements.map((n) => (isNode(n) ? localizeNode(n, locale) : n)) };
}

/** JSON with object keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isRecord(value)) {
    const entries = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');

/**
 * MD5 of an element's translatable content, as Courier's checksums are: its type and its localizable
 * properties (and a channel element's channel), in canonical JSON. It changes when the text a
 * translator works from changes, not when styling or ids do.
 */
export function elementChecksum(node: ElementalNode): string {
  const keys = ['type', ...(LOCALIZABLE[node.type] ?? []), ...(node.type === 'channel' ? ['channel'] : [])];
  return md5(canonicalJson(Object.fromEntries(keys.map((k) => [k, node[k]]))));
}

/** MD5 of one locale's override of an element, in canonical JSON. */
export const localeChecksum = (override: unknown): string => md5(canonicalJson(override));

/** Every element, nested ones after their parent, in document order. */
function* walk(nodes: unknown): Generator<ElementalNode> {
  if (!Array.isArray(nodes)) return;
  for (const n of nodes) {
    if (!isNode(n)) continue;
    yield n;
    yield* walk(n.elements);
  }
}

/** Ids used twice in a content (putElement and putLocale could not tell the elements apart). */
export function duplicateIds(elements: unknown): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const n of walk(elements)) {
    if (typeof n.id !== 'string') continue;
    if (seen.has(n.id)) dup.add(n.id);
    seen.add(n.id);
  }
  return [...dup];
}

/** The elements with an id given to every element that has none (nested ones too), from `newId`. */
export function withIds(elements: ElementalNode[], newId: () => string): ElementalNode[] {
  return elements.map((n) => ({
    ...n,
    id: typeof n.id === 'string' ? n.id : newId(),
    ...(Array.isArray(n.elements) ? { elements: withIds(n.elements.filter(isNode), newId) } : {}),
  }));
}

/** `[{ id, checksum }]` of every element with an id, nested ones included: the content mutation responses' `elements`. */
export const elementChecksums = (elements: unknown): { id: string; checksum: string }[] =>
  [...walk(elements)].filter((n) => typeof n.id === 'string').map((n) => ({ id: n.id as string, checksum: elementChecksum(n) }));

/**
 * An element as `GET /notifications/:id/content` shows it (Courier's ElementWithChecksums): the
 * element, its checksum, nested elements likewise, and each locale's override with its checksum.
 */
export function withChecksums(node: ElementalNode): ElementalNode & { checksum: string } {
  const out: ElementalNode & { checksum: string } = { ...node, checksum: elementChecksum(node) };
  if (Array.isArray(node.elements)) out.elements = node.elements.filter(isNode).map(withChecksums);
  if (isRecord(node.locales))
    out.locales = Object.fromEntries(Object.entries(node.locales).map(([l, o]) => [l, { ...(isRecord(o) ? o : {}), checksum: localeChecksum(o) }]));
  return out;
}

/** The elements with the one whose id is `id` (at any depth) replaced by `make(it)`; undefined when no element has that id. */
export function replaceElement(elements: ElementalNode[], id: string, make: (current: ElementalNode) => ElementalNode): ElementalNode[] | undefined {
  let found = false;
  const visit = (nodes: ElementalNode[]): ElementalNode[] =>
    nodes.map((n) => {
      if (n.id === id) {
        found = true;
        return make(n);
      }
      return Array.isArray(n.elements) ? { ...n, elements: visit(n.elements.filter(isNode)) } : n;
    });
  const next = visit(elements);
  return found ? next : undefined;
}

export interface LocaleOverride {
  id: string;
  [k: string]: unknown;
}

/** Why a locale's overrides cannot be applied: ids no element has, or properties an element's type cannot localize. */
export class LocaleError extends Error {
  override name = 'LocaleError';
}

/**
 * The elements with locale `locale` set to `overrides` (a PUT: the locale of the elements listed is
 * replaced by their override, and elements not listed lose that locale). Each override must name an
 * element by id and hold only what that element's type can localize; else a LocaleError saying which.
 */
export function setLocale(elements: ElementalNode[], locale: string, overrides: LocaleOverride[]): ElementalNode[] {
  const byId = new Map(overrides.map((o, i) => [o.id, { o, i }]));
  if (byId.size !== overrides.length) throw new LocaleError('elements: an element id is listed twice');
  const nodes = new Map([...walk(elements)].filter((n) => typeof n.id === 'string').map((n) => [n.id as string, n]));
  const unknown = overrides.filter((o) => !nodes.has(o.id)).map((o) => o.id);
  if (unknown.length) throw new LocaleError(`elements: no element has the id ${unknown.map((u) => JSON.stringify(u)).join(', ')}`);
  for (const [i, { id, ...fields }] of overrides.entries()) {
    const type = nodes.get(id)!.type;
    const parsed = localeOverrideSchema(type).safeParse(fields);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const what = issue.code === 'unrecognized_keys' ? `a ${type} element cannot localize ${issue.keys.join(', ')}` : issue.message;
      throw new LocaleError(`elements.${i}${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${what}`);
    }
  }
  const target = normalizeLocale(locale);
  const visit = (nodes: ElementalNode[]): ElementalNode[] =>
    nodes.map((n) => {
      const entry = typeof n.id === 'string' ? byId.get(n.id) : undefined;
      const others = Object.entries(isRecord(n.locales) ? n.locales : {}).filter(([l]) => normalizeLocale(l) !== target);
      if (entry) others.push([locale, Object.fromEntries(Object.entries(entry.o).filter(([k]) => k !== 'id'))]);
      const out: ElementalNode = Object.fromEntries(Object.entries(n).filter(([k]) => k !== 'locales')) as ElementalNode;
      if (others.length) out.locales = Object.fromEntries(others);
      return Array.isArray(n.elements) ? { ...out, elements: visit(n.elements.filter(isNode)) } : out;
    });
  return visit(elements);
}
