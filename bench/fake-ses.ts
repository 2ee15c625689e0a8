import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the SESv2 API that the `ses` provider calls (SES_ENDPOINT): it answers every
 * SendEmail with a fresh MessageId at once and counts them. What a provider charges is not part of
 * the bench; the HTTP call, the provider's claim and outcome writes around it are.
 */
export interface FakeSes {
  url: string;
  /** SendEmail calls received so far. */
  sent(): number;
  close(): Promise<void>;
}

export async function startFakeSes(): Promise<FakeSes> {
  let sent = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST' && req.url?.startsWith('/v2/email/outbound-emails')) {
        sent += 1;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ MessageId: `fake-ses-${sent}` }));
      } else {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{}');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sent: () => sent,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
