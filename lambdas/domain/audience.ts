import { z } from 'zod';

/**
 * Audience filters (Courier's audience filter format: rules with AND/OR, nestable): validation of the `PUT /audiences/:id` body and the
 * evaluation of a filter against one user. Pure: the caller loads the profile and memberships.
 */

export const AUDIENCE_OPERATORS = [
  'EQ',
  'NEQ',
  'STARTS_WITH',
  'ENDS_WITH',
  'INCLUDES',
  'OMIT',
  'GT',
  'GTE',
  'LT',
  'LTE',
  'IS_BEFORE',
  'IS_AFTER',
  'EXISTS',
  'MEMBER_OF',
] as const;
export type AudienceOperator = (typeof AUDIENCE_OPERATORS)[number];

const GROUP_OPERATORS = ['AND', 'OR'] as const;
type GroupOperator = (typeof GROUP_OPERATORS)[number];

/** A rule (`path` + `value`) or, when `operator` is AND/OR, a group of nested `filters`. */
export interface FilterConfig {
  operator: string;
  path?: string;
  value?: string | string[];
  filters?: FilterConfig[];
}

/** `null` is accepted wherever the Courier SDK sends it, and means the same as absent. */
export interface AudienceDefinition {
  operator?: GroupOperator | null;
  filter?: { filters: FilterConfig[] } | null;
}

export interface AudienceBody extends AudienceDefinition {
  name?: string | null;
  description?: string | null;
}

/** Levels of rules below `filter.filters` (whose own entries are level 1). */
export const MAX_FILTER_DEPTH = 5;
/** Rules (leaves) in one audience, counted over every level. */
export const MAX_FILTER_RULES = 50;

/** The only path MEMBER_OF reads, and its default: the tenant memberships of the user. */
const MEMBERSHIP_PATH = 'account_id';
const NUMERIC_OPERATORS: ReadonlySet<string> = new Set(['GT', 'GTE', 'LT', 'LTE']);
const DATE_OPERATORS: ReadonlySet<string> = new Set(['IS_BEFORE', 'IS_AFTER']);
/** The docs show an array value for INCLUDES (“any of”); OMIT is its negation, so it takes one too. */
const ARRAY_VALUE_OPERATORS: ReadonlySet<string> = new Set(['INCLUDES', 'OMIT']);

const isGroupOperator = (operator: string): operator is GroupOperator => operator === 'AND' || operator === 'OR';

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const EPOCH_MS = /^-?\d+$/;
/** Groups: 1 the time, 2 the offset. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:\d{2})?)?$/i;

/** Only decimal notation: `Number()` alone would also accept `0x10`, `''` and `' '`. */
function parseNumber(input: unknown): number | undefined {
  const n = typeof input === 'number' ? input : typeof input === 'string' && DECIMAL.test(input) ? Number(input) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** Epoch milliseconds (a number, or digits in a string since filter values are strings) or ISO-8601. */
function parseDate(input: unknown): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) ? input : undefined;
  if (typeof input !== 'string') return undefined;
  if (EPOCH_MS.test(input)) return Number(input);
  const iso = ISO_8601.exec(input);
  if (!iso) return undefined;
  // A date-time without an offset is read as UTC: `Date.parse` would use the host's time zone, so the
  // same audience would match differently on a laptop and on Lambda.
  const ms = Date.parse(iso[1] !== undefined && iso[2] === undefined ? `${input}Z` : input);
  return Number.isFinite(ms) ? ms : undefined;
}

type IssueAt = (field: keyof FilterConfig, message: string) => void;

function checkValue(operator: string, value: FilterConfig['value'], issue: IssueAt): void {
  if (value === undefined) {
    if (operator !== 'EXISTS') issue('value', `${operator} needs a value`);
    return;
  }
  if (Array.isArray(value)) {
    if (!ARRAY_VALUE_OPERATORS.has(operator)) issue('value', `${operator} takes a single string value`);
    else if (value.length === 0) issue('value', `${operator} needs at least one value`);
    return;
  }
  if (operator === 'EXISTS' && value !== 'true' && value !== 'false') issue('value', 'EXISTS takes "true" or "false"');
  if (NUMERIC_OPERATORS.has(operator) && parseNumber(value) === undefined) issue('value', `${operator} needs a number`);
  if (DATE_OPERATORS.has(operator) && parseDate(value) === undefined) {
    issue('value', `${operator} needs an ISO-8601 date or epoch milliseconds`);
  }
  if (operator === 'MEMBER_OF' && value === '') issue('value', 'MEMBER_OF needs a tenant id');
}

/** Rules that need the node's kind (group or rule), so they cannot be plain field schemas. */
function checkNode(node: FilterConfig, ctx: z.RefinementCtx): void {
  const issue: IssueAt = (field, message) => ctx.addIssue({ code: 'custom', path: [field], message });
  const { operator } = node;
  if (isGroupOperator(operator)) {
    if (!node.filters?.length) issue('filters', `an ${operator} group needs at least one filter`);
    if (node.path !== undefined) issue('path', `an ${operator} group takes no path`);
    if (node.value !== undefined) issue('value', `an ${operator} group takes no value`);
    return;
  }
  if (node.filters?.length) issue('filters', `${operator} is a rule and takes no nested filters`);
  if (operator === 'MEMBER_OF') {
    if (node.path !== undefined && node.path !== MEMBERSHIP_PATH) issue('path', `MEMBER_OF reads ${MEMBERSHIP_PATH} only`);
  } else if (node.path === undefined) {
    issue('path', `${operator} needs a path`);
  }
  checkValue(operator, node.value, issue);
}

/**
 * One schema per level, built eagerly, instead of one recursive `z.lazy` schema: the deepest level
 * refuses children outright, so a hostile body nested thousands of levels deep is rejected after
 * MAX_FILTER_DEPTH levels instead of being walked to the bottom.
 */
function filterNodeSchema(level: number): z.ZodType<FilterConfig> {
  const children =
    level < MAX_FILTER_DEPTH
      ? z.array(filterNodeSchema(level + 1))
      : z.custom<FilterConfig[]>((v) => Array.isArray(v) && v.length === 0, {
          message: `filters nest at most ${MAX_FILTER_DEPTH} levels deep`,
        });
  return z
    .object({
      operator: z.enum([...AUDIENCE_OPERATORS, ...GROUP_OPERATORS]),
      path: z
        .string()
        .max(256)
        .regex(/^[^.]+(?:\.[^.]+)*$/, 'expected a dotted profile path such as location.city')
        .optional(),
      value: z.union([z.string(), z.array(z.string())]).optional(),
      filters: children.optional(),
    })
    .superRefine(checkNode);
}

function countRules(filters: readonly FilterConfig[]): number {
  return filters.reduce((n, f) => n + (isGroupOperator(f.operator) ? countRules(f.filters ?? []) : 1), 0);
}

/**
 * Body of `PUT /audiences/:id`. Operators are case-sensitive. A rule needs `path` (MEMBER_OF:
 * optional, `account_id` only) and `value` (EXISTS: optional, default "true"); only INCLUDES and
 * OMIT take an array value; GT/GTE/LT/LTE need a number and IS_BEFORE/IS_AFTER a date, because a
 * rule whose value can never parse would silently match nobody. A group needs at least one filter;
 * `filter.filters` itself may be empty (an audience that matches nobody yet). Issues carry the field
 * path, e.g. `filter.filters.1.operator`. The body is returned as given (no defaults filled in), so
 * `GET` shows what was `PUT`; unknown keys are dropped.
 */
export const audienceBodySchema: z.ZodType<AudienceBody> = z
  .object({
    name: z.string().nullish(),
    description: z.string().nullish(),
    operator: z.enum(GROUP_OPERATORS).nullish(),
    filter: z.object({ filters: z.array(filterNodeSchema(1)) }).nullish(),
  })
  .superRefine((body, ctx) => {
    const rules = countRules(body.filter?.filters ?? []);
    if (rules > MAX_FILTER_RULES) {
      ctx.addIssue({ code: 'custom', path: ['filter', 'filters'], message: `at most ${MAX_FILTER_RULES} rules, got ${rules}` });
    }
  });

export interface AudienceSubject {
  profile: Record<string, unknown>;
  /** The tenants the user is a member of (MEMBER_OF). */
  tenantIds: readonly string[];
}

/**
 * Reads a dotted path through nested objects (and arrays, by index: `tags.0`). Own properties only,
 * so `constructor` or `__proto__` never resolve to something the profile does not hold. A key that
 * itself contains a dot cannot be addressed.
 */
function readPath(profile: Record<string, unknown>, path: string): unknown {
  let current: unknown = profile;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** Filter values are strings, so scalars compare by their string form; objects, arrays and null have none. */
function asString(attribute: unknown): string | undefined {
  if (typeof attribute === 'string') return attribute;
  if (typeof attribute === 'number' || typeof attribute === 'boolean') return String(attribute);
  return undefined;
}

/** An array attribute holding any of the values, or a string attribute containing any as a substring. */
function includesAny(attribute: unknown, value: FilterConfig['value']): boolean {
  // A string value is one value even with commas in it: splitting would break values such as "Paris, TX".
  const wanted = typeof value === 'string' ? [value] : (value ?? []);
  if (Array.isArray(attribute)) {
    const held = attribute.map(asString);
    return wanted.some((w) => held.includes(w));
  }
  if (typeof attribute === 'string') return wanted.some((w) => attribute.includes(w));
  return false;
}

function compareAs(
  parse: (input: unknown) => number | undefined,
  attribute: unknown,
  value: FilterConfig['value'],
  holds: (attribute: number, value: number) => boolean,
): boolean {
  const a = parse(attribute);
  const v = typeof value === 'string' ? parse(value) : undefined;
  return a !== undefined && v !== undefined && holds(a, v);
}

/**
 * One rule against one user. A value of the wrong shape (only possible for data stored before
 * validation) and an unknown operator match nobody. Comparisons on a missing attribute are false,
 * except the negative operators NEQ and OMIT, and EXISTS "false", which are true.
 */
function matchesRule({ operator, path, value }: FilterConfig, subject: AudienceSubject): boolean {
  if (operator === 'MEMBER_OF') return typeof value === 'string' && subject.tenantIds.includes(value);
  const attribute = path === undefined ? undefined : readPath(subject.profile, path);
  const text = typeof value === 'string' ? value : undefined;
  switch (operator) {
    case 'EQ':
      return text !== undefined && asString(attribute) === text;
    case 'NEQ':
      return text !== undefined && asString(attribute) !== text;
    case 'STARTS_WITH':
      return text !== undefined && typeof attribute === 'string' && attribute.startsWith(text);
    case 'ENDS_WITH':
      return text !== undefined && typeof attribute === 'string' && attribute.endsWith(text);
    case 'INCLUDES':
      return includesAny(attribute, value);
    case 'OMIT':
      return !includesAny(attribute, value);
    case 'GT':
      return compareAs(parseNumber, attribute, value, (a, v) => a > v);
    case 'GTE':
      return compareAs(parseNumber, attribute, value, (a, v) => a >= v);
    case 'LT':
      return compareAs(parseNumber, attribute, value, (a, v) => a < v);
    case 'LTE':
      return compareAs(parseNumber, attribute, value, (a, v) => a <= v);
    case 'IS_BEFORE':
      return compareAs(parseDate, attribute, value, (a, v) => a < v);
    case 'IS_AFTER':
      return compareAs(parseDate, attribute, value, (a, v) => a > v);
    case 'EXISTS': {
      const exists = attribute !== undefined && attribute !== null;
      const wanted = value ?? 'true';
      return (wanted === 'true' && exists) || (wanted === 'false' && !exists);
    }
    default:
      return false;
  }
}

/** An empty group matches nobody, where `every` alone would make an empty AND match everybody. */
function matchesGroup(operator: GroupOperator, filters: readonly FilterConfig[], subject: AudienceSubject): boolean {
  if (filters.length === 0) return false;
  const matches = (f: FilterConfig): boolean => (isGroupOperator(f.operator) ? matchesGroup(f.operator, f.filters ?? [], subject) : matchesRule(f, subject));
  return operator === 'OR' ? filters.some(matches) : filters.every(matches);
}

/**
 * Whether the user is a member of the audience: the top-level `operator` (default AND) combines
 * `filter.filters`; AND/OR nodes nest. An audience without filters matches nobody.
 */
export function matchesAudience(def: AudienceDefinition, subject: AudienceSubject): boolean {
  return matchesGroup(def.operator ?? 'AND', def.filter?.filters ?? [], subject);
}

/** Does the filter use MEMBER_OF (so membership changes must re-evaluate it)? */
export function usesMembership(def: AudienceDefinition): boolean {
  const uses = (filters: readonly FilterConfig[]): boolean => filters.some((f) => f.operator === 'MEMBER_OF' || uses(f.filters ?? []));
  return uses(def.filter?.filters ?? []);
}
