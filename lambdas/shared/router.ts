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
  /** Courier's path with `:name` parameters, e.g. `/profiles/:user_id/lists`. */
  path: string;
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
  /** The type of the audit event a successful call records, when the route declares one. */
  auditType?: string;
  handle(event: APIGatewayProxyEventV2, params: Record<string, string>): Promise<Reply>;
}

/** Identifiers in paths: any characters (they arrive percent-decoded), 1-256 long. */
export const pathId = idSchema;

/** Declares a route; zod schemas validate path, query and body before the handler runs. */
export function route<P = Record<string, string>, Q = Record<string, never>, B = undefined>(spec: RouteSpec<P, Q, B>): Route {
  const names = [...spec.path.matchAll(/:(\w+)/g)].map((m) => m[1]);
  const params = spec.params ?? (z.object(Object.fromEntries(names.map((n) => [n, pathId]))) as unknown as ZodType<P>);
  return {
    method: spec.method,
    path: spec.path,
    auditType: spec.audit?.type,
    async handle(event, rawParams) {
      const p = params.safeParse(rawParams);
      if (!p.success) throw ValidationError.fromZod('path', p.error);
      const q = (spec.query ?? z.object({})).safeParse(event.queryStringParameters ?? {});
      if (!q.success) throw ValidationError.fromZod('query', q.error);
      let body = undefined as B;
      if (spec.body) {
        const b = spec.body.safeParse(event.body ?? undefined);
        if (!b.success) throw ValidationError.fromZod('body', b.error);
        body = b.data;
      }
      const reply = await spec.handler({ params: p.data, query: q.data as Q, body, headers: event.headers ?? {}, event });
      if (!spec.audit || reply.status < 200 || reply.status > 299) return reply;
      return { ...reply, audit: { type: spec.audit.type, target: spec.audit.target({ params: p.data, body, reply }) } };
    },
  };
}

interface Compiled {
  route: Route;
  regex: RegExp;
  names: string[];
  literals: number;
  segments: number;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * API Gateway HTTP APIs hand the function a percent-DECODED `rawPath`, so `/profiles/a%2Fb`
 * arrives as `/profiles/a/b`. A parameter may therefore span several segments: each compiles to
 * `(.+?)`, and routes with more literal segments are tried first, so
 * `/profiles/a/b/lists` is the lists route of user `a/b`. An id that itself ends in a literal
 * route segment (a user called `x/lists`) is the one ambiguous case; the README documents it.
 */
function compile(route: Route): Compiled {
  const segments = route.path.split('/').filter(Boolean);
  const names: string[] = [];
  const parts = segments.map((s) => {
    if (!s.startsWith(':')) return escapeRegex(s);
    names.push(s.slice(1));
    return '(.+?)';
  });
  return {
    route,
    regex: new RegExp(`^/${parts.join('/')}/?$`),
    names,
    literals: segments.filter((s) => !s.startsWith(':')).length,
    segments: segments.length,
  };
}

export interface Match {
  route: Route;
  params: Record<string, string>;
}

export function createRouter(routes: Route[]) {
  const compiled = routes.map(compile).sort((a, b) => b.literals - a.literals || b.segments - a.segments);
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
