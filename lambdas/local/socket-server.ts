import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyWebsocketEventV2, Context } from 'aws-lambda';
import { WebSocketServer, type WebSocket } from 'ws';
import { wallNow } from '../shared/clock';
import { SOCKET_IDLE_MS, SOCKET_MAX_MS } from '../shared/topology';
import { lambdaContext } from './poller';

/**
 * The local API Gateway WebSocket API (docs/decisions.md D24): a WebSocket server (npm `ws`) on its
 * own port that invokes the socket function with the events API Gateway builds for a WebSocket
 * Lambda integration (`$connect`, `$disconnect`, `$default`), refuses the upgrade with the status
 * `$connect` answers when it is not 2xx, sends `$default`'s answer back (the route response), and
 * closes connections as API Gateway does: after `idleMs` without a message either way and after
 * `maxMs` (1001 "Going away"). On the same port it answers the management API's REST calls that
 * `@aws-sdk/client-apigatewaymanagementapi` makes (`POST|GET|DELETE /<stage>/@connections/<id>`,
 * 410 GoneException for an unknown id), so the functions' pushes work unchanged.
 */
export type SocketHandler = (event: APIGatewayProxyWebsocketEventV2, context: Context) => Promise<unknown>;

export interface SocketServerOptions {
  port: number;
  stage: string;
  /** The id of the API in the events (`requestContext.apiId`). */
  apiId: string;
  /**
   * The function behind the routes (with its name and timeout) and the route whose answer goes back
   * to the client: read at each event, as the function is loaded after the server listens.
   */
  route: () => { fn: string; handler: SocketHandler; timeoutSeconds: number; answering: string };
  /** API Gateway's idle timeout (10 minutes) and maximum connection time (2 hours); tests shorten them. */
  idleMs?: number;
  maxMs?: number;
}

export interface SocketServer {
  /** `ws://127.0.0.1:<port>/<stage>`: what a page's `apiUrls.inbox.webSocket` is. */
  url: string;
  /** The management API's endpoint (`WEBSOCKET_MANAGEMENT_URL`): `http://127.0.0.1:<port>/<stage>`. */
  managementUrl: string;
  close(): Promise<void>;
}

/** API Gateway's largest message (frames are at most 32 KB; `ws` sees whole messages). */
const MAX_MESSAGE_BYTES = 128 * 1024;
const GOING_AWAY = 1001;

interface Connection {
  ws: WebSocket;
  connectedAt: number;
  lastActiveAt: number;
  sourceIp: string;
  userAgent: string;
  idle?: NodeJS.Timeout;
  max: NodeJS.Timeout;
}

/** A connection id as API Gateway makes them: 16 base64 characters (`L0SM9cOFvHcCIhw=`). */
const connectionId = (): string => randomBytes(11).toString('base64');

const singleAndMulti = (pairs: [string, string][]) => {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [k, v] of pairs) {
    single[k] = v;
    (multi[k] ??= []).push(v);
  }
  return { single, multi };
};

export async function startSocketServer(o: SocketServerOptions): Promise<SocketServer> {
  const open = new Map<string, Connection>();
  const idleMs = o.idleMs ?? SOCKET_IDLE_MS;
  const maxMs = o.maxMs ?? SOCKET_MAX_MS;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  let domainName = '127.0.0.1';

  const event = (
    id: string,
    eventType: 'CONNECT' | 'DISCONNECT' | 'MESSAGE',
    routeKey: string,
    connectedAt: number,
    more: Partial<APIGatewayProxyWebsocketEventV2> & Record<string, unknown> = {},
    context: Record<string, unknown> = {},
  ): APIGatewayProxyWebsocketEventV2 => {
    const at = wallNow();
    return {
      requestContext: {
        routeKey,
        eventType,
        ...(eventType === 'MESSAGE' ? { messageId: randomBytes(6).toString('base64') } : {}),
        extendedRequestId: randomUUID(),
        requestTime: new Date(at).toISOString(),
        messageDirection: 'IN',
        stage: o.stage,
        connectedAt,
        requestTimeEpoch: at,
        requestId: randomUUID(),
        domainName,
        connectionId: id,
        apiId: o.apiId,
        ...context,
      } as APIGatewayProxyWebsocketEventV2['requestContext'],
      isBase64Encoded: false,
      ...more,
    };
  };

  const invoke = async (e: APIGatewayProxyWebsocketEventV2): Promise<{ statusCode?: number; body?: string } | undefined> => {
    const r = o.route();
    return (await r.handler(e, lambdaContext(r.fn, r.timeoutSeconds))) as { statusCode?: number; body?: string } | undefined;
  };

  /** Data went either way: the idle timeout starts again. */
  const touch = (c: Connection) => {
    c.lastActiveAt = wallNow();
    clearTimeout(c.idle);
    c.idle = setTimeout(() => c.ws.close(GOING_AWAY, 'Going away'), idleMs);
  };

  function accept(ws: WebSocket, id: string, connectedAt: number, sourceIp: string, userAgent: string) {
    const c: Connection = {
      ws,
      connectedAt,
      lastActiveAt: connectedAt,
      sourceIp,
      userAgent,
      max: setTimeout(() => ws.close(GOING_AWAY, 'Going away'), maxMs),
    };
    open.set(id, c);
    touch(c);
    // One message at a time per connection, in order, as each is an invocation of the function.
    let chain = Promise.resolve();
    ws.on('message', (data, isBinary) => {
      touch(c);
      const body = isBinary ? Buffer.from(data as Buffer).toString('base64') : (data as Buffer).toString('utf8');
      chain = chain.then(async () => {
        try {
          const out = await invoke(event(id, 'MESSAGE', '$default', connectedAt, { body, isBase64Encoded: isBinary }));
          if (o.route().answering === '$default' && out?.body !== undefined && open.has(id)) ws.send(out.body);
        } catch (e) {
          console.error(`[local socket] $default failed: ${(e as Error).message}`);
        }
      });
    });
    ws.on('close', (code, reason) => {
      clearTimeout(c.idle);
      clearTimeout(c.max);
      if (open.get(id) !== c) return;
      open.delete(id);
      const disconnect = event(id, 'DISCONNECT', '$disconnect', connectedAt, {}, { disconnectStatusCode: code, disconnectReason: reason.toString() });
      invoke(disconnect).catch((e: unknown) => console.error(`[local socket] $disconnect failed: ${(e as Error).message}`));
    });
    ws.on('error', () => ws.terminate());
  }

  /** The management API: `/<stage>/@connections/<id>`. */
  function manage(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) {
    const m = new RegExp(`^/${o.stage}/@connections/([^/?]+)$`).exec(req.url ?? '');
    if (!m) return res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Not Found' }));
    const id = decodeURIComponent(m[1]);
    const c = open.get(id);
    if (!c) return res.writeHead(410, { 'content-type': 'application/json', 'x-amzn-errortype': 'GoneException' }).end(JSON.stringify({ message: null }));
    switch (req.method) {
      case 'POST':
        touch(c);
        c.ws.send(body.toString('utf8'));
        return res.writeHead(200).end();
      case 'DELETE':
        // API Gateway closes the connection normally (1000); its `$disconnect` follows.
        c.ws.close(1000, '');
        return res.writeHead(204).end();
      case 'GET':
        return res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            ConnectedAt: new Date(c.connectedAt).toISOString(),
            LastActiveAt: new Date(c.lastActiveAt).toISOString(),
            Identity: { SourceIp: c.sourceIp, UserAgent: c.userAgent },
          }),
        );
      default:
        return res.writeHead(405).end();
    }
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => manage(req, res, Buffer.concat(chunks)));
  });

  server.on('upgrade', (req: http.IncomingMessage, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const refuse = (status: number, body: string) => {
      socket.end(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    };
    if (url.pathname !== `/${o.stage}`) return refuse(403, JSON.stringify({ message: 'Forbidden' }));
    const id = connectionId();
    const connectedAt = wallNow();
    const headers: [string, string][] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    const h = singleAndMulti(headers);
    const q = singleAndMulti([...url.searchParams]);
    const hasQuery = url.searchParams.size > 0;
    const connect = event(id, 'CONNECT', '$connect', connectedAt, {
      headers: h.single,
      multiValueHeaders: h.multi,
      ...(hasQuery ? { queryStringParameters: q.single, multiValueQueryStringParameters: q.multi } : {}),
    });
    invoke(connect)
      .then((out) => {
        const status = out?.statusCode ?? 200;
        if (status < 200 || status > 299) return refuse(status, out?.body ?? '');
        wss.handleUpgrade(req, socket, head, (ws) =>
          accept(ws, id, connectedAt, req.socket.remoteAddress ?? '127.0.0.1', String(req.headers['user-agent'] ?? '')),
        );
      })
      .catch((e: unknown) => {
        console.error(`[local socket] $connect failed: ${(e as Error).message}`);
        refuse(500, JSON.stringify({ message: 'Internal server error' }));
      });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  domainName = `127.0.0.1:${port}`;
  return {
    url: `ws://127.0.0.1:${port}/${o.stage}`,
    managementUrl: `http://127.0.0.1:${port}/${o.stage}`,
    close: async () => {
      // Stopping the stack: the connections end without running $disconnect (the table may be gone).
      const all = [...open.values()];
      open.clear();
      for (const c of all) c.ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
