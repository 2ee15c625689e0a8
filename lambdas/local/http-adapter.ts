import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { lambdaContext } from './poller';

export type LambdaHttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

/** API Gateway's own payload limit; the functions enforce their smaller, documented one. */
const GATEWAY_MAX_BYTES = 10 * 1024 * 1024;

const TEXT_TYPES = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+json)/i;

const json = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/**
 * Builds the API Gateway HTTP API (payload 2.0) event for a Node request, as AWS does: `rawPath`
 * percent-decoded, `rawQueryString` as sent, repeated query keys and headers comma-joined, header
 * names lower-cased, non-text bodies base64-encoded.
 */
export function toEvent(req: http.IncomingMessage, body: Buffer, routeKey: string): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://local');
  const rawPath = decodeURIComponent(url.pathname);
  const headers: Record<string, string> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    headers[name] = headers[name] === undefined ? req.rawHeaders[i + 1] : `${headers[name]},${req.rawHeaders[i + 1]}`;
  }
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
  const isText = body.length === 0 || TEXT_TYPES.test(headers['content-type'] ?? 'application/json');
  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: Object.keys(query).length ? query : undefined,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: (req.method ?? 'GET').toUpperCase(),
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    body: body.length ? (isText ? body.toString('utf8') : body.toString('base64')) : undefined,
    isBase64Encoded: body.length > 0 && !isText,
  };
}

export interface RouteTarget {
  handler: LambdaHttpHandler;
  functionName: string;
  timeoutSeconds: number;
}

/**
 * The local API Gateway: routes by the first path segment, as the CDK app's `ANY /<segment>` and
 * `ANY /<segment>/{proxy+}` routes do, and invokes the same handler functions Lambda runs.
 * `extra` serves non-API paths (the local captures) before routing.
 */
export function startHttpAdapter(opts: {
  port: number;
  host?: string;
  targets: Record<string, RouteTarget>;
  extra?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
}): Promise<{ url: string; server: http.Server; close(): Promise<void> }> {
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
      void respond(req, res, tooLarge ? undefined : Buffer.concat(chunks));
    });
  });

  async function respond(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer | undefined) {
    let result: APIGatewayProxyStructuredResultV2;
    try {
      if (!body) result = json(413, { message: 'Request Entity Too Large', type: 'invalid_request_error' });
      else {
        const segment = decodeURIComponent(new URL(req.url ?? '/', 'http://local').pathname).split('/')[1] ?? '';
        const target = opts.targets[segment];
        if (!target) result = json(404, { message: 'Not Found', type: 'invalid_request_error' });
        else {
          const event = toEvent(req, body, `ANY /${segment}/{proxy+}`);
          const out = await target.handler(event, lambdaContext(target.functionName, target.timeoutSeconds));
          result = typeof out === 'string' ? { statusCode: 200, body: out } : (out as APIGatewayProxyStructuredResultV2);
        }
      }
    } catch (e) {
      // A malformed percent-encoding, or a handler that threw past its middleware: API Gateway's 500.
      result = e instanceof URIError ? json(400, { message: 'Malformed path encoding', type: 'invalid_request_error' }) : json(500, { message: 'Internal Server Error', type: 'api_error' });
    }
    const payload = result.body === undefined ? undefined : result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body);
    res.writeHead(result.statusCode ?? 200, { ...(result.headers as Record<string, string>), ...(payload ? { 'content-length': String(payload.length) } : {}) });
    res.end(payload);
  }

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
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
