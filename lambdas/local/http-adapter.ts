import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyResult,
  APIGatewayProxyResultV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { lambdaContext } from './poller';
import { guardClientSockets } from './socket-guard';
import { wallNow } from '../shared/clock';
import { UNMATCHED_ROUTE } from '../shared/topology';
import { allowedOrigin, CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS, CORS_MAX_AGE_SECONDS } from '../shared/cors';

export type LambdaHttpHandler = (
  event: APIGatewayProxyEventV2 | APIGatewayProxyEvent,
  context: Context,
) => Promise<APIGatewayProxyResultV2 | APIGatewayProxyResult>;

/** Which API Gateway the adapter stands in for: an HTTP API (payload 2.0) or a REST API (1.0). */
export type ApiKind = 'http' | 'rest';

/** API Gateway's own payload limit; the functions enforce their smaller, documented one. */
const GATEWAY_MAX_BYTES = 10 * 1024 * 1024;

const TEXT_TYPES = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+json)/i;

/** The stage name of the REST API (lib/api.ts). */
const REST_STAGE = 'prod';

const json = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** A route as API Gateway declares it: `ANY /profiles/{proxy+}`, `GET /health`. */
export interface Route {
  routeKey: string;
  handler: LambdaHttpHandler;
  functionName: string;
  timeoutSeconds: number;
}

interface Matched {
  route: Route;
  /** The route's resource path (`/profiles/{proxy+}`) and the greedy parameter, decoded. */
  resource: string;
  proxy?: string;
}

/**
 * API Gateway's route selection for these simple keys: the exact path, else the `{proxy+}` with the
 * longest base the path is below, else `$default` (a REST API's `ANY /` and `ANY /{proxy+}`).
 */
export function matchRoute(routes: Route[], method: string, decodedPath: string): Matched | undefined {
  let found: Matched | undefined;
  let unmatched: Route | undefined;
  for (const route of routes) {
    if (route.routeKey === UNMATCHED_ROUTE) {
      unmatched = route;
      continue;
    }
    const [m, resource] = route.routeKey.split(' ');
    if (m !== 'ANY' && m !== method) continue;
    const proxy = resource.endsWith('/{proxy+}');
    const base = proxy ? resource.slice(0, -'/{proxy+}'.length) : resource;
    if (!proxy && decodedPath === base) return { route, resource };
    if (proxy && decodedPath.startsWith(`${base}/`) && (!found || found.resource.length < resource.length))
      found = { route, resource, proxy: decodedPath.slice(base.length + 1) };
  }
  if (found || !unmatched) return found;
  return decodedPath === '/' ? { route: unmatched, resource: '/' } : { route: unmatched, resource: '/{proxy+}', proxy: decodedPath.slice(1) };
}

interface Incoming {
  url: URL;
  headers: [string, string][];
  body: Buffer;
  method: string;
  protocol: string;
  sourceIp: string;
}

function incoming(req: http.IncomingMessage, body: Buffer): Incoming {
  const headers: [string, string][] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
  return {
    url: new URL(req.url ?? '/', 'http://local'),
    headers,
    body,
    method: (req.method ?? 'GET').toUpperCase(),
    protocol: `HTTP/${req.httpVersion}`,
    sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
  };
}

const isText = (r: Incoming) => r.body.length === 0 || TEXT_TYPES.test(r.headers.find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? 'application/json');
const bodyOf = (r: Incoming) => (r.body.length ? (isText(r) ? r.body.toString('utf8') : r.body.toString('base64')) : undefined);

/**
 * The HTTP API (payload 2.0) event, as AWS builds it: `rawPath` percent-decoded, `rawQueryString`
 * as sent, repeated query keys and headers comma-joined, header names lower-cased, non-text
 * bodies base64-encoded.
 */
export function toEvent(r: Incoming, routeKey: string): APIGatewayProxyEventV2 {
  const rawPath = decodeURIComponent(r.url.pathname);
  const headers: Record<string, string> = {};
  for (const [k, v] of r.headers) {
    const name = k.toLowerCase();
    headers[name] = headers[name] === undefined ? v : `${headers[name]},${v}`;
  }
  const query: Record<string, string> = {};
  for (const [k, v] of r.url.searchParams) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
  const now = new Date(wallNow());
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: r.url.search.slice(1),
    headers,
    queryStringParameters: Object.keys(query).length ? query : undefined,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: { method: r.method, path: rawPath, protocol: r.protocol, sourceIp: r.sourceIp, userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    body: bodyOf(r),
    isBase64Encoded: r.body.length > 0 && !isText(r),
  };
}

/**
 * The REST API (payload 1.0) proxy event, as AWS builds it: `path` as sent (still percent-encoded),
 * `resource` and the decoded greedy path parameter, headers and query both single-valued (the last
 * value) and multi-valued, the stage in `requestContext.path`.
 */
export function toEventV1(r: Incoming, m: Matched): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiHeaders: Record<string, string[]> = {};
  for (const [k, v] of r.headers) {
    headers[k] = v;
    (multiHeaders[k] ??= []).push(v);
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [k, v] of r.url.searchParams) {
    query[k] = v;
    (multiQuery[k] ??= []).push(v);
  }
  const now = new Date(wallNow());
  const hasQuery = Object.keys(query).length > 0;
  return {
    resource: m.resource,
    path: r.url.pathname,
    httpMethod: r.method,
    headers,
    multiValueHeaders: multiHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: m.proxy === undefined ? null : { proxy: m.proxy },
    stageVariables: null,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: undefined,
      domainName: headers.Host ?? headers.host ?? 'localhost',
      domainPrefix: 'local',
      extendedRequestId: randomUUID(),
      httpMethod: r.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: r.sourceIp,
        user: null,
        userAgent: headers['User-Agent'] ?? headers['user-agent'] ?? null,
        userArn: null,
      },
      path: `/${REST_STAGE}${r.url.pathname}`,
      protocol: r.protocol,
      requestId: randomUUID(),
      requestTime: now.toISOString(),
      requestTimeEpoch: now.getTime(),
      resourceId: 'local',
      resourcePath: m.resource,
      stage: REST_STAGE,
    },
    body: bodyOf(r) ?? null,
    isBase64Encoded: r.body.length > 0 && !isText(r),
  };
}

function stripStage(r: Incoming): Incoming | undefined {
  const prefix = `/${REST_STAGE}/`;
  if (!r.url.pathname.startsWith(prefix)) return undefined;
  const url = new URL(r.url);
  url.pathname = r.url.pathname.slice(prefix.length - 1);
  return { ...r, url };
}

/**
 * The local API Gateway: selects a route as the CDK app's API does (lambdas/shared/topology.ts
 * routeKeys) and invokes the same handler functions Lambda runs, with an HTTP API (2.0) or REST API
 * (1.0) event. `extra` serves non-API paths (the local captures) before routing.
 */
export function startHttpAdapter(opts: {
  port: number;
  host?: string;
  routes: Route[];
  api?: ApiKind;
  extra?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
  /** CORS_ALLOWED_ORIGINS, parsed: preflights are answered as API Gateway's CORS configuration does (lib/api.ts). */
  corsOrigins?: string[];
}): Promise<{ url: string; server: http.Server; close(): Promise<void> }> {
  const kind = opts.api ?? 'http';
  // The functions run in this process: a connection of theirs that breaks must not end it.
  guardClientSockets();
  const server = http.createServer((req, res) => {
    if (opts.extra?.(req, res)) return;
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > GATEWAY_MAX_BYTES) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      respond(req, res, tooLarge ? undefined : Buffer.concat(chunks)).catch((e: unknown) => {
        // Writing the answer failed (a header Node refuses, a client gone): this request ends, the server stays.
        console.error(`[local] ${req.method} ${req.url}: could not answer: ${(e as Error).message}`);
        res.destroy();
      });
    });
  });

  async function respond(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer | undefined) {
    let result: APIGatewayProxyStructuredResultV2;
    const origin = allowedOrigin(opts.corsOrigins ?? [], req.headers.origin);
    const preflight = req.method === 'OPTIONS' && req.headers.origin !== undefined && req.headers['access-control-request-method'] !== undefined;
    try {
      if (preflight && opts.corsOrigins?.length)
        // A preflight, answered by API Gateway itself (an HTTP API's CORS configuration, a REST API's mock integration); no function runs.
        result = {
          statusCode: 204,
          headers: origin
            ? {
                'access-control-allow-origin': origin,
                'access-control-allow-methods': CORS_ALLOW_METHODS.join(','),
                'access-control-allow-headers': CORS_ALLOW_HEADERS.join(','),
                'access-control-max-age': String(CORS_MAX_AGE_SECONDS),
              }
            : {},
        };
      else if (!body) result = json(413, { message: 'Request Entity Too Large', type: 'invalid_request_error' });
      else {
        const r = incoming(req, body);
        // A REST API is reached under its stage (`<ApiUrl>` ends in /prod); its events leave it out.
        const staged = kind === 'rest' ? stripStage(r) : r;
        const m = staged && matchRoute(opts.routes, r.method, decodeURIComponent(staged.url.pathname));
        if (!m) {
          // What each kind of API Gateway answers when no route matches.
          result = kind === 'rest' ? json(403, { message: 'Missing Authentication Token' }) : json(404, { message: 'Not Found' });
        } else {
          const event = kind === 'rest' ? toEventV1(staged, m) : toEvent(r, m.route.routeKey);
          const out = await m.route.handler(event, lambdaContext(m.route.functionName, m.route.timeoutSeconds));
          result = typeof out === 'string' ? { statusCode: 200, body: out } : (out as APIGatewayProxyStructuredResultV2);
        }
      }
    } catch (e) {
      // A malformed percent-encoding, or a handler that threw past its middleware: API Gateway's 500.
      result =
        e instanceof URIError
          ? json(400, { message: 'Malformed path encoding', type: 'invalid_request_error' })
          : json(500, { message: 'Internal Server Error', type: 'api_error' });
    }
    const payload = result.body === undefined ? undefined : result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body);
    // An HTTP API with CORS configured sets the allowed origin on every answer and ignores the function's CORS headers; a REST API passes the function's.
    const headers = Object.fromEntries(
      Object.entries((result.headers ?? {}) as Record<string, string>).filter(
        ([k]) => kind === 'rest' || preflight || !k.toLowerCase().startsWith('access-control-'),
      ),
    );
    if (kind === 'http' && origin && !preflight) {
      headers['access-control-allow-origin'] = origin;
      if (origin !== '*') headers.vary = 'Origin';
    }
    res.writeHead(result.statusCode ?? 200, {
      ...headers,
      ...(payload ? { 'content-length': String(payload.length) } : {}),
    });
    res.end(payload);
  }

  // Idle keep-alive connections outlive the client's own idle timeout (undici's is 4 s), so the
  // client always closes first: with Node's 5 s default, a process busy for seconds (a test compiling
  // the SDK's types) let the server close a connection the client then reused, and the request
  // failed with ECONNRESET. API Gateway keeps idle connections far longer too.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}${kind === 'rest' ? `/${REST_STAGE}` : ''}`,
        server,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}
