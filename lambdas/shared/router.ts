import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { z, type ZodType } from 'zod';
import { MethodNotAllowedError, NotFoundError, ValidationError } from './errors';
import { idSchema } from '../domain/ids';

export type Method = 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

/** What a route handler returns; turned into the Lambda proxy result by the router. */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** A binary body (base64), sent as it is instead of `body` as JSON (the open pixel's GIF). */
  base64Body?: string;
  /** The audit event the call records (set by `route()` from the route's `audit`, on a 2xx reply; never sent). */
  audit?: AuditedChange;
}

/** What an audited call changed: the event's type (`brand:updated`) and target (`brand:acme`). */
export interface AuditedChange {
  type: string;
  target: string;
}

/**
 * A route's audit declaration: a successful (2xx) call records an audit event of this `type`, whose
 * target `target` names from the validated request and the reply (lambdas/shared/api.ts writes it).
 */
export interface AuditSpec<P, B> {
  type: string;
  target: (call: { params: P; body: B; reply: Reply }) => string;
}

export interface Request<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  headers: Record<string, string | undefined>;
  event: APIGatewayProxyEventV2;
}

export interface RouteSpec<P, Q, B> {
  method: Method;
  /** Courier's path with `:name` parameters, e.g. `/profiles/:user_id/lists`. Each matches one path segment... */
  path: string;
  /**
   * ...except this one, which may span several (`/profiles/a/b` is user `a/b`): API Gateway hands
   * the function a percent-decoded path, so an id containing `%2F` arrives as two segments.
   */
  greedy?: string;
  params?: ZodType<P>;
  query?: ZodType<Q>;
  body?: ZodType<B>;
  handler: (req: Request<P, Q, B>) => Promise<Reply>;
  /** Admin writes declare the audit event they record (README "Audit events"); reads and sends do not. */
  audit?: AuditSpec<P, B>;
}

export interface Route {
  method: Method;
  path: string;
  greedy?: string;
  /** The type of the audit event a successful call records, when the route declares one. */
  auditType?: string;
  handle(event: APIGatewayProxyEventV2, params: Record<string, string>): Promise<Reply>;
}

/** Identifiers in paths: any characters (they arrive percent-decoded), 1-256 long. */
export const pathId = idSchema;

/**
 * Keys whose values are the caller's own data, kept exactly as sent (a `null` in a profile, in
 * `data`, in a JSON Patch `value` or a provider `override` is a value): withoutNulls does not look inside them.
 */
const OPAQUE_KEYS = new Set(['data', 'profile', 'properties', 'user_profile', 'traits', 'override', 'raw', 'custom', 'headers', 'value', 'patch']);

/**
 * The body with every object key whose value is `null` left out, as if it were not sent: wherever
 * the official SDK types a field `| null`, null means "not set" (it serialises unset optional
 * fields that way), so schemas need not repeat `.nullish()`. Array elements are kept as they are,
 * nulls included, and the caller's own data (OPAQUE_KEYS) is not looked into.
 */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'object' && v !== null ? withoutNulls(v) : v));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = OPAQUE_KEYS.has(k) ? v : withoutNulls(v);
  return out;
}

/**
 * A body's own keys are checked strictly: a key the route does not take is a 400 naming it, never
 * accepted and dropped (a schema that says what to do with other keys, loose or strict, stays as it is).
 */
function strictBody<B>(schema: ZodType<B>): ZodType<B> {
  return schema instanceof z.ZodObject && schema.def.catchall === undefined ? (schema.strict() as unknown as ZodType<B>) : schema;
}

/** Declares a route; zod schemas validate path, query and body before the handler runs. */
export function route<P = Record<string, string>, Q = Record<string, never>, B = undefined>(spec: RouteSpec<P, Q, B>): Route {
  const names = [...spec.path.matchAll(/:(\w+)/g)].map((m) => m[1]);
  if (spec.greedy !== undefined && !names.includes(spec.greedy)) throw new Error(`${spec.path}: greedy parameter ${spec.greedy} is not in the path`);
  const params = spec.params ?? (z.object(Object.fromEntries(names.map((n) => [n, pathId]))) as unknown as ZodType<P>);
  const bodySchema = spec.body && strictBody(spec.body);
  return {
    method: spec.method,
    path: spec.path,
    greedy: spec.greedy,
    auditType: spec.audit?.type,
    async handle(event, rawParams) {
      const p = params.safeParse(rawParams);
      if (!p.success) throw ValidationError.fromZod('path', p.error);
      // The official SDK serialises a null query value as `key=`: an empty value is a value not set.
      const query = Object.fromEntries(Object.entries(event.queryStringParameters ?? {}).filter(([, v]) => v !== ''));
      const q = (spec.query ?? z.object({})).safeParse(query);
      if (!q.success) throw ValidationError.fromZod('query', q.error);
      let body = undefined as B;
      if (bodySchema) {
        const b = bodySchema.safeParse(withoutNulls(event.body ?? undefined));
        if (!b.success) throw ValidationError.fromZod('body', b.error);
        body = b.data;
      }
      const reply = await spec.handler({ params: p.data, query: q.data as Q, body, headers: event.headers ?? {}, event });
      if (!spec.audit || reply.status < 200 || reply.status > 299) return reply;
      return { ...reply, audit: { type: spec.audit.type, target: spec.audit.target({ params: p.data, body, reply }) } };
    },
  };
}

/** A path segment of a route: a literal, a one-segment parameter, or the greedy parameter. */
type Token = { kind: 'literal'; text: string } | { kind: 'param' | 'greedy'; name: string };

interface Compiled {
  route: Route;
  regex: RegExp;
  names: string[];
  tokens: Token[];
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const RANK = { literal: 0, param: 1, greedy: 2 } as const;

function compile(route: Route): Compiled {
  const tokens: Token[] = route.path
    .split('/')
    .filter(Boolean)
    .map((s) => (!s.startsWith(':') ? { kind: 'literal', text: s } : { kind: s.slice(1) === route.greedy ? 'greedy' : 'param', name: s.slice(1) }));
  const parts = tokens.map((t) => (t.kind === 'literal' ? escapeRegex(t.text) : t.kind === 'param' ? '([^/]+)' : '(.+?)'));
  return { route, regex: new RegExp(`^/${parts.join('/')}/?$`), names: tokens.flatMap((t) => (t.kind === 'literal' ? [] : [t.name])), tokens };
}

/**
 * The order routes are tried in: segment by segment from the left, a literal before a parameter,
 * a one-segment parameter before the greedy one; where one route's segments are the start of the
 * other's, the longer first. So `/profiles/a/b/lists` is the lists route of user `a/b`, and
 * `/notifications/x/elements/y` is an element, not the checks of submission `elements`.
 */
function precedence(a: Compiled, b: Compiled): number {
  for (let i = 0; i < Math.min(a.tokens.length, b.tokens.length); i++) {
    const [x, y] = [a.tokens[i], b.tokens[i]];
    if (x.kind !== y.kind) return RANK[x.kind] - RANK[y.kind];
    if (x.kind === 'literal' && y.kind === 'literal' && x.text !== y.text) return x.text < y.text ? -1 : 1;
  }
  return b.tokens.length - a.tokens.length;
}

/** The route's shape with its parameters' names left out: two routes of one method with one shape can never be told apart. */
const shape = (c: Compiled) => `${c.route.method} /${c.tokens.map((t) => (t.kind === 'literal' ? t.text : t.kind === 'param' ? ':' : ':+')).join('/')}`;

export interface Match {
  route: Route;
  params: Record<string, string>;
}

/** Routes requests to `routes`; throws at once for a table where two routes of one method have the same shape. */
export function createRouter(routes: Route[]) {
  const compiled = routes.map(compile).sort(precedence);
  const shapes = new Map<string, string>();
  for (const c of compiled) {
    const other = shapes.get(shape(c));
    if (other) throw new Error(`Ambiguous routes: ${c.route.method} ${other} and ${c.route.path}`);
    shapes.set(shape(c), c.route.path);
  }
  return {
    match(method: string, path: string): Match {
      let pathMatched = false;
      for (const c of compiled) {
        const m = c.regex.exec(path);
        if (!m) continue;
        pathMatched = true;
        if (c.route.method !== method) continue;
        return { route: c.route, params: Object.fromEntries(c.names.map((n, i) => [n, m[i + 1]])) };
      }
      if (pathMatched) throw new MethodNotAllowedError(method, path);
      throw new NotFoundError(`No route for ${method} ${path}`);
    },
  };
}

export function toResult(reply: Reply): APIGatewayProxyStructuredResultV2 {
  const headers = { ...reply.headers };
  if (reply.base64Body !== undefined) return { statusCode: reply.status, headers, body: reply.base64Body, isBase64Encoded: true };
  if (reply.body === undefined) return { statusCode: reply.status, headers };
  return {
    statusCode: reply.status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(reply.body),
  };
}

/** The `id` of a reply's body: the target of a create whose id the server chose. */
export const replyId = (reply: Reply): string => String((reply.body as { id?: unknown } | undefined)?.id);

export const ok = (body: unknown): Reply => ({ status: 200, body });
export const created = (body: unknown): Reply => ({ status: 201, body });
export const accepted = (body: unknown): Reply => ({ status: 202, body });
export const noContent = (): Reply => ({ status: 204 });
