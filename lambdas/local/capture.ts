import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { z } from 'zod';
import { wallNow } from '../shared/clock';

/** An email the SMTP capture received. */
interface EmailReceived {
  via: 'smtp';
  channel: 'email';
  messageId?: string;
  from: string;
  /** The envelope recipients: where the message was delivered. */
  to: string[];
  subject: string;
  text: string;
  html?: string;
  /** Header lines as sent, by lower-case name, folding undone. */
  headers: Record<string, string>;
}

/** A local-capture POST (sms and push in local mode). */
interface HttpReceived {
  via: 'http';
  channel: string;
  messageId: string;
  address: unknown;
  content: unknown;
}

/**
 * What a local provider target received. `messageId` is the platform's message id (from the
 * `X-Courier-Message-Id` header of an email, from the body of an HTTP capture), so a capture can
 * be matched with `GET /messages`. `seq` orders captures.
 */
export type Capture = (EmailReceived | HttpReceived) & { seq: number; capturedAt: string };

export interface CaptureServer {
  smtpUrl: string;
  /** Where the local-capture provider POSTs. */
  captureUrl: string;
  /** Serves /_local/... requests; false for any other path, which the caller then serves. */
  handleHttp(req: http.IncomingMessage, res: http.ServerResponse): boolean;
  captures(): Capture[];
  stop(): Promise<void>;
}

/** The oldest captures are dropped past this, so a long-running `npm start` stays small. */
const MAX_CAPTURES = 1000;
const MAX_BODY_BYTES = 1024 * 1024;

const httpCapture = z.object({ messageId: z.string().min(1), channel: z.string().min(1), address: z.unknown(), content: z.unknown() });

const send = (res: http.ServerResponse, status: number, body?: unknown) => {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  res.writeHead(status, payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) });
  res.end(payload);
};

/** Header lines as a record: `{ 'x-courier-message-id': 'm1', subject: 'Hi' }`. */
function headerRecord(lines: readonly { key: string; line: string }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, line } of lines)
    out[key] = line
      .slice(line.indexOf(':') + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .trim();
  return out;
}

/** Captures in memory, newest last, at most MAX_CAPTURES. */
function captureStore() {
  const store: Capture[] = [];
  let seq = 0;
  return {
    keep(c: EmailReceived | HttpReceived): number {
      store.push({ ...c, seq: ++seq, capturedAt: new Date(wallNow()).toISOString() });
      if (store.length > MAX_CAPTURES) store.splice(0, store.length - MAX_CAPTURES);
      return seq;
    },
    find: (messageId: string | null, channel: string | null) =>
      store.filter((c) => (!messageId || c.messageId === messageId) && (!channel || c.channel === channel)),
    all: () => [...store],
    clear: () => void (store.length = 0),
  };
}
type CaptureStore = ReturnType<typeof captureStore>;

/** The SMTP server: every message parsed and kept, whoever sends it to whomever. */
function smtpCapture(captures: CaptureStore): SMTPServer {
  return new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    size: 10 * 1024 * 1024,
    closeTimeout: 1000,
    onAuth: (auth, _session, callback) => callback(null, { user: auth.username ?? 'local' }),
    onData: (stream, session, callback) => {
      simpleParser(stream)
        .then((mail) => {
          const headers = headerRecord(mail.headerLines);
          captures.keep({
            via: 'smtp',
            channel: 'email',
            messageId: headers['x-courier-message-id'],
            from: mail.from?.text ?? '',
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: mail.subject ?? '',
            text: mail.text ?? '',
            html: typeof mail.html === 'string' ? mail.html : undefined,
            headers,
          });
          callback();
        })
        .catch((e: Error) => callback(e));
    },
  });
}

/** `POST /_local/capture`: one capture of the HTTP local-capture provider. */
function receive(captures: CaptureStore, req: http.IncomingMessage, res: http.ServerResponse) {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= MAX_BODY_BYTES) chunks.push(c);
  });
  req.on('end', () => {
    if (size > MAX_BODY_BYTES) return send(res, 413, { message: 'Request Entity Too Large', type: 'invalid_request_error' });
    let json: unknown;
    try {
      json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      json = undefined;
    }
    const body = httpCapture.safeParse(json);
    if (!body.success) return send(res, 400, { message: 'expected JSON { messageId, channel, address, content }', type: 'invalid_request_error' });
    send(res, 202, { seq: captures.keep({ via: 'http', ...body.data }) });
  });
}

/** The `/_local/` routes (also served on the API port): read and clear captures, take an HTTP capture. False for any other path. */
function captureRoutes(captures: CaptureStore) {
  return (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (!url.pathname.startsWith('/_local/')) return false;
    if (url.pathname === '/_local/captures' && req.method === 'GET') {
      send(res, 200, { results: captures.find(url.searchParams.get('messageId'), url.searchParams.get('channel')) });
    } else if (url.pathname === '/_local/captures' && req.method === 'DELETE') {
      captures.clear();
      send(res, 204);
    } else if (url.pathname === '/_local/capture' && req.method === 'POST') {
      receive(captures, req, res);
    } else {
      send(res, 404, { message: 'Not Found', type: 'invalid_request_error' });
    }
    return true;
  };
}

/** Listens on a free loopback port; resolves with it. */
async function listenLocal(
  server: { once(event: 'error', f: (e: Error) => void): unknown; listen(port: number, host: string, f: () => void): unknown },
  address: () => AddressInfo,
): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return address().port;
}

/**
 * The local provider targets (README "Quick start"; docs/decisions.md#d10), both on 127.0.0.1 and free ports: an SMTP server
 * that accepts any sender, recipient and credentials (STARTTLS off, so a plain client never tries
 * to upgrade to a certificate it cannot verify), and an HTTP server taking the local-capture
 * POSTs. Captures are kept in memory and served over HTTP:
 * - `GET /_local/captures[?messageId=&channel=]`: `{ results: Capture[] }`, oldest first;
 * - `DELETE /_local/captures`: forgets them all (204);
 * - `POST /_local/capture`: `{ messageId, channel, address, content }` (202).
 * `handleHttp` serves the same paths on another server (the local API port).
 */
export async function startCapture(): Promise<CaptureServer> {
  const captures = captureStore();
  const smtp = smtpCapture(captures);
  const smtpPort = await listenLocal(smtp, () => smtp.server.address() as AddressInfo);
  const handleHttp = captureRoutes(captures);
  const httpServer = http.createServer((req, res) => {
    if (!handleHttp(req, res)) send(res, 404, { message: 'Not Found', type: 'invalid_request_error' });
  });
  const httpPort = await listenLocal(httpServer, () => httpServer.address() as AddressInfo);

  return {
    smtpUrl: `smtp://127.0.0.1:${smtpPort}`,
    captureUrl: `http://127.0.0.1:${httpPort}/_local/capture`,
    handleHttp,
    captures: captures.all,
    stop: async () => {
      httpServer.closeAllConnections();
      await Promise.all([new Promise<void>((r) => httpServer.close(() => r())), new Promise<void>((r) => smtp.close(() => r()))]);
    },
  };
}
