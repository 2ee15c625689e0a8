import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Recorded, Reply } from './recorder';

export interface H2Recorder {
  url: string;
  requests: Recorded[];
  reply(fn: (req: Recorded) => Reply): void;
  close(): Promise<void>;
}

/** A local HTTP/2 server (h2c, prior knowledge) standing in for APNs: it records every request and answers as told. */
export async function startH2Recorder(): Promise<H2Recorder> {
  const requests: Recorded[] = [];
  let respond: (req: Recorded) => Reply = () => ({ status: 200 });
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const plain = Object.fromEntries(Object.entries(headers).filter(([k]) => !k.startsWith(':')));
      const recorded: Recorded = {
        method: String(headers[':method']),
        path: String(headers[':path']),
        headers: plain,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      const reply = respond(recorded);
      if (reply === 'hang') return;
      const body = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      stream.respond({ ':status': reply.status, ...(typeof reply.body === 'object' ? { 'content-type': 'application/json' } : {}), ...reply.headers });
      stream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    reply: (fn) => (respond = fn),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sessions) s.destroy();
        server.close(() => r());
      }),
  };
}
