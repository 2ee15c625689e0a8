import { expect } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Channel } from '../../../lambdas/domain/routing';
import type { ProviderSend } from '../../../lambdas/providers/port';

/** A request as it arrived over the wire. */
export interface Recorded {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** What the stand-in answers; `hang` never answers (for timeouts). */
export type Reply = { status: number; headers?: Record<string, string>; body?: string | object } | 'hang';

export interface Recorder {
  url: string;
  requests: Recorded[];
  /** Sets how the following requests are answered (default: 200 `{}`). */
  reply(fn: (req: Recorded) => Reply): void;
  close(): Promise<void>;
}

/** A local HTTP server standing in for a provider's API: it records every request and answers as told. */
export async function startRecorder(): Promise<Recorder> {
  const requests: Recorded[] = [];
  let respond: (req: Recorded) => Reply = () => ({ status: 200, body: {} });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(recorded);
      const reply = respond(recorded);
      if (reply === 'hang') return;
      const body = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      res.writeHead(reply.status, { ...(typeof reply.body === 'object' ? { 'content-type': 'application/json' } : {}), ...reply.headers });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    reply: (fn) => (respond = fn),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * A message as the delivery worker hands it to an adapter; tests override what they exercise. An
 * email by default; a message on another channel names its channel and that channel's address.
 */
export type SendOver<C extends Channel> = Partial<ProviderSend<C>>;
export function sendOf(over: SendOver<'email'>): ProviderSend<'email'>;
export function sendOf<C extends Channel>(over: Partial<ProviderSend<C>> & Pick<ProviderSend<C>, 'channel' | 'address'>): ProviderSend<C>;
export function sendOf(over: Partial<ProviderSend>): ProviderSend {
  return {
    messageId: '1700000000000-msg1',
    idempotencyKey: '1700000000000-msg1:email',
    channel: 'email',
    recipient: { userId: 'user-1', tenantId: 'acme' },
    address: 'ada@example.test',
    content: { channel: 'email', subject: 'Hello Ada', text: 'Your order shipped.', html: '<p>Your order shipped.</p>' },
    settings: {},
    timeoutMs: 3000,
    ...over,
  };
}

/** A port nothing listens on: connecting fails at once. */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** A header a contract test compares: its name, or its name and what of its value counts (the media type of a content-type, say). */
export type ContractHeader = string | [name: string, part: (value: string | undefined) => unknown];

/**
 * One vendor-client contract check: the vendor's official client and our adapter are run, in that
 * order, against the same stand-in (its requests cleared first), and each request of ours must
 * agree with the client's at the same position on method, path, the named headers (the auth scheme
 * and its credentials by default) and body fields. Answers both request lists, for the checks
 * a vendor needs besides (a JWT's claims, say).
 */
export async function contractCase(c: {
  api: { requests: Recorded[] };
  /** Sends through the vendor's client (pointed at the stand-in). */
  vendor: () => Promise<unknown>;
  /** Sends through our adapter (pointed at the stand-in). */
  ours: () => Promise<unknown>;
  /** Default: `authorization`. */
  headers?: ContractHeader[];
  /** The part of the path compared (default: all of it, query included). */
  path?: (path: string) => string;
  /** The body as compared (default: parsed as JSON). */
  body?: (r: Recorded) => unknown;
  /** The vendor's body as compared, when it is read otherwise than ours (default: `body`). */
  vendorBody?: (r: Recorded) => unknown;
}): Promise<{ theirs: Recorded[]; ours: Recorded[] }> {
  const { api, headers = ['authorization'], path = (p) => p, body = (r) => JSON.parse(r.body) as unknown } = c;
  api.requests.length = 0;
  await c.vendor();
  const made = api.requests.length;
  await c.ours();
  const theirs = api.requests.slice(0, made);
  const ours = api.requests.slice(made);
  expect(made).toBeGreaterThan(0);
  expect(ours.map((r) => [r.method, path(r.path)])).toEqual(theirs.map((r) => [r.method, path(r.path)]));
  const shown = (r: Recorded) =>
    headers.map((h) => {
      const [name, part] = typeof h === 'string' ? [h, (v: string | undefined) => v] : h;
      return [name, part(r.headers[name] as string | undefined)];
    });
  for (const [i, mine] of ours.entries()) {
    expect(shown(mine)).toEqual(shown(theirs[i]));
    expect(await body(mine)).toEqual(await (c.vendorBody ?? body)(theirs[i]));
  }
  return { theirs, ours };
}

/** The media type of a content-type header (its parameters, a multipart boundary or a charset, left out). */
export const mediaType = (v: string | undefined): string | undefined => v?.split(';')[0].trim();
