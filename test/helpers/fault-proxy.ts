import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP proxy in front of an emulator (fauxqs, DynamoDB Local) that answers the next N requests
 * of one API action (X-Amz-Target, e.g. `AmazonSQS.SendMessageBatch`) with a 500, as AWS does in a
 * transient failure, and forwards everything else unchanged. Point the functions' endpoint at it
 * (startTestStack({ env: { SQS_ENDPOINT: proxy.url } })).
 */
export async function startFaultProxy(upstream: string) {
  const failures = new Map<string, { left: number; match?: string }>();
  const seen: string[] = [];
  const target = new URL(upstream);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const action = String(req.headers['x-amz-target'] ?? '');
      seen.push(action);
      const body = Buffer.concat(chunks);
      const failure = failures.get(action);
      if (failure && failure.left > 0 && (failure.match === undefined || body.includes(failure.match))) {
        failure.left -= 1;
        res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify({ __type: 'InternalFailure', message: 'injected failure' }));
        return;
      }
      const forward = http.request(
        { hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host } },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      forward.on('error', () => res.writeHead(502).end());
      forward.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** The next `times` requests of `action` (whose body contains `match`, if given) fail with 500. */
    fail(action: string, times: number, match?: string) {
      failures.set(action, { left: times, match });
    },
    /** Actions requested so far, oldest first. */
    seen: () => [...seen],
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
