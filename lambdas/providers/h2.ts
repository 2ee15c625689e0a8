import http2 from 'node:http2';
import { checkLiteral, configuredPolicy, EgressRefused, guardedLookup, type EgressPolicy } from '../shared/egress';
import { ProviderError } from './port';
import { networkFailure, refusedEgress, type HttpReply } from './transport';

/** One HTTP/2 exchange: the path, headers and body sent on a session to `origin`. */
export interface H2Call {
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  what: string;
}

const MAX_REPLY_BYTES = 1024 * 1024;

/**
 * HTTP/2 calls (APNs speaks nothing else) under the egress policy: one session per origin, kept
 * open for the life of the function as Apple asks, its connection resolved through the policy's
 * check. `http:` origins speak h2c with prior knowledge (the local stand-ins); `https:` negotiate h2.
 */
export class Http2Client {
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();

  constructor(readonly policy: EgressPolicy = configuredPolicy()) {}

  private session(origin: URL): http2.ClientHttp2Session {
    const key = origin.origin;
    const open = this.sessions.get(key);
    if (open && !open.closed && !open.destroyed) return open;
    checkLiteral(origin.hostname, this.policy);
    const session = http2.connect(key, { lookup: guardedLookup(this.policy) } as http2.SecureClientSessionOptions);
    // An idle session must not keep the process alive; errors surface on the streams.
    session.unref();
    session.on('error', () => this.sessions.delete(key));
    session.on('close', () => this.sessions.delete(key));
    session.on('goaway', () => this.sessions.delete(key));
    this.sessions.set(key, session);
    return session;
  }

  async exchange(call: H2Call): Promise<HttpReply> {
    let origin: URL;
    try {
      origin = new URL(call.origin);
    } catch {
      throw new ProviderError(`${call.what}: the url is invalid`, false);
    }
    if (origin.protocol !== 'http:' && origin.protocol !== 'https:') throw new ProviderError(`${call.what}: the url is not http or https`, false);
    try {
      const session = this.session(origin);
      return await new Promise<HttpReply>((resolve, reject) => {
        const body = Buffer.from(call.body);
        const stream = session.request(
          { ':method': 'POST', ':path': call.path, ...call.headers, 'content-length': String(body.length) },
          { signal: AbortSignal.timeout(call.timeoutMs) },
        );
        let status = 0;
        const headers = new Headers();
        const chunks: Buffer[] = [];
        let size = 0;
        stream.on('response', (h) => {
          status = Number(h[':status']);
          for (const [k, v] of Object.entries(h)) if (!k.startsWith(':') && v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : String(v));
        });
        stream.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_REPLY_BYTES) chunks.push(c);
        });
        stream.on('end', () => resolve({ status, headers, text: Buffer.concat(chunks).toString('utf8') }));
        stream.on('error', reject);
        stream.end(body);
      });
    } catch (e) {
      if (e instanceof EgressRefused || (e as { cause?: unknown }).cause instanceof EgressRefused) throw refusedEgress(call.what);
      if ((e as { name?: string }).name === 'AbortError') throw new ProviderError(`${call.what} timed out after ${call.timeoutMs} ms`, true);
      throw networkFailure(e, call.what, call.timeoutMs);
    }
  }

  /** Closes every session (tests). */
  close(): void {
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
  }
}

let shared: Http2Client | undefined;
export const sharedHttp2 = (): Http2Client => (shared ??= new Http2Client());
