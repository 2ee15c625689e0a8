import http from 'node:http';
import https from 'node:https';
import addressparser from 'nodemailer/lib/addressparser';
import type { z } from 'zod';
import type { AddressOf } from '../domain/addresses';
import type net from 'node:net';
import { checkLiteral, configuredPolicy, EgressRefused, guardedLookup, type EgressPolicy } from '../shared/egress';
import type { ProviderOverride } from '../domain/overrides';
import { httpFailure, ProviderError } from './port';

/**
 * Parses a provider's settings with its catalog schema. The error names the fields, never their
 * values: settings hold secrets.
 */
export function parseSettings<T extends z.ZodType>(schema: T, settings: unknown, provider: string): z.output<T> {
  const parsed = schema.safeParse(settings);
  if (parsed.success) return parsed.data;
  const fields = [...new Set(parsed.error.issues.map((i) => ['settings', ...i.path.map(String)].join('.')))];
  throw new ProviderError(`${provider} settings are invalid: ${fields.join(', ')}`, false);
}

/** The recipient's address did not fit the provider: failing over is the only remedy. */
export const invalidAddress = (provider: string, detail: string): ProviderError => new ProviderError(`${provider}: ${detail}`, false);

/** A connection the egress policy refused (lambdas/shared/egress.ts): permanent, and it names no address. */
export const refusedEgress = (what: string): ProviderError => new ProviderError(`${what}: private address refused`, false);

/** One mailbox: no spaces, commas, quotes, brackets or a second `@` on either side of its `@`. */
const MAILBOX = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+$/u;

/**
 * The one recipient of an email. Mail libraries read an address field as a list (`a@x, b@y`, a
 * group, two angle addresses), so a profile's email could otherwise add recipients; anything but
 * exactly one mailbox, optionally with a display name, is an invalid address.
 */
export function emailRecipient(address: AddressOf<'email'>, provider: string): string | { name: string; address: string } {
  const refuse = () => invalidAddress(provider, 'the address is not exactly one email address');
  if (/[\r\n\0]/.test(address)) throw refuse();
  const parsed = addressparser(address.trim());
  if (parsed.length !== 1 || parsed[0].group !== undefined) throw refuse();
  const { name, address: mailbox } = parsed[0];
  // `a@x <b@y>` and `<a@x> <b@y>` parse as one mailbox whose name is another address.
  if (!mailbox || !MAILBOX.test(mailbox) || /[@<>]/.test(name)) throw refuse();
  return name ? { name, address: mailbox } : mailbox;
}

/**
 * A call that got no HTTP answer: a timeout (the AbortSignal's TimeoutError) or a network failure.
 * Both are transient. Only the error code goes into the message; URLs stay out of it because
 * webhook URLs (Teams, Slack, custom ones) often carry a token.
 */
export function networkFailure(error: unknown, what: string, timeoutMs: number): ProviderError {
  const e = error as { name?: string; code?: string; cause?: { code?: string; name?: string } };
  if (e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError') return new ProviderError(`${what} timed out after ${timeoutMs} ms`, true);
  const code = e?.cause?.code ?? e?.code;
  return new ProviderError(`${what} unreachable${code ? ` (${code})` : ''}`, true);
}

export interface HttpCall {
  url: string;
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  /** A string is sent as UTF-8; a Buffer as it is (a multipart body with binary attachments). */
  body?: string | Buffer;
  timeoutMs: number;
  /** Names the callee in errors, e.g. `slack`, `firebase-fcm token endpoint`. */
  what: string;
}

/**
 * A provider override's `headers` and `query` applied to a call: headers added (the call's own
 * credentials and framing win; the send was refused if it named them), query parameters set on
 * the URL. The body is merged by the adapter before it serialises (and signs) it.
 */
export function withOverride(call: HttpCall, override: Pick<ProviderOverride, 'headers' | 'query'> | undefined): HttpCall {
  if (!override?.headers && !override?.query) return call;
  let url = call.url;
  if (override.query) {
    const u = new URL(call.url);
    for (const [k, v] of Object.entries(override.query)) u.searchParams.set(k, v);
    url = u.toString();
  }
  const own = new Set(Object.keys(call.headers ?? {}).map((k) => k.toLowerCase()));
  const extra = Object.entries(override.headers ?? {}).filter(([k]) => !own.has(k.toLowerCase()));
  return { ...call, url, headers: { ...Object.fromEntries(extra), ...call.headers } };
}

export interface HttpReply {
  status: number;
  headers: Headers;
  text: string;
}

/** Largest answer body read; a provider's answers are small, a hostile endpoint's need not be. */
const MAX_REPLY_BYTES = 1024 * 1024;

/**
 * Provider HTTP calls under one egress policy (lambdas/shared/egress.ts): keep-alive agents whose
 * connections resolve through the policy's check, so every socket connects to an address that
 * passed it. The adapters share one client under the configured policy (`sharedHttp`); a test
 * gives an adapter its own client with the policy it checks.
 */
/**
 * Connections open at once to one provider origin; more calls wait for one (kept alive). A delivery
 * worker runs every recipient of its jobs at once (25 a job, ten jobs a batch): without a bound that
 * is hundreds of simultaneous connections to one endpoint, which a server's accept backlog answers
 * with resets (seen as ECONNRESET against the local stand-ins under load, each a needless retry).
 */
export const MAX_SOCKETS_PER_ORIGIN = 64;

export class HttpClient {
  private readonly lookup: net.LookupFunction;
  private readonly agents: Record<'http:' | 'https:', http.Agent>;

  constructor(readonly policy: EgressPolicy = configuredPolicy()) {
    this.lookup = guardedLookup(policy);
    const pool = { keepAlive: true, maxSockets: MAX_SOCKETS_PER_ORIGIN };
    this.agents = { 'http:': new http.Agent(pool), 'https:': new https.Agent(pool) };
  }

  /**
   * One HTTP exchange within the provider timeout, the body read in full (up to 1 MiB). Redirects are
   * not followed: a provider endpoint that redirects is misconfigured, and following one would
   * resend a signed or authenticated request somewhere else. Only http and https URLs, and only to
   * addresses the egress policy allows (checked on the resolved address, in the connection itself).
   */
  async exchange(call: HttpCall): Promise<HttpReply> {
    let url: URL;
    try {
      url = new URL(call.url);
    } catch {
      throw new ProviderError(`${call.what}: the url is invalid`, false);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ProviderError(`${call.what}: the url is not http or https`, false);
    try {
      checkLiteral(url.hostname, this.policy);
      return await send(url, call, { agent: this.agents[url.protocol], lookup: this.lookup });
    } catch (e) {
      if (e instanceof EgressRefused) throw refusedEgress(call.what);
      throw networkFailure(e, call.what, call.timeoutMs);
    }
  }

  /** `exchange`, throwing the classified ProviderError for any non-2xx answer (see httpFailure). */
  async request(call: HttpCall): Promise<HttpReply> {
    const reply = await this.exchange(call);
    const failure = httpFailure(reply.status, reply.headers.get('retry-after'), call.what);
    if (failure) throw failure;
    return reply;
  }
}

let shared: HttpClient | undefined;
/** The adapters' client under the configured egress policy: one set of keep-alive agents per process. */
export const sharedHttp = (): HttpClient => (shared ??= new HttpClient());

function send(url: URL, call: HttpCall, via: { agent: http.Agent; lookup: net.LookupFunction }): Promise<HttpReply> {
  const signal = AbortSignal.timeout(call.timeoutMs);
  const body = call.body === undefined ? undefined : Buffer.from(call.body);
  return new Promise<HttpReply>((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    const req = client.request(
      url,
      {
        method: call.method ?? 'POST',
        headers: { ...call.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
        agent: via.agent,
        lookup: via.lookup,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () =>
          settle(() => {
            const headers = new Headers();
            for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
              try {
                headers.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
              } catch {
                // a header value fetch would refuse: left out
              }
            }
            resolve({ status: res.statusCode ?? 0, headers, text: Buffer.concat(chunks).toString('utf8') });
          });
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_REPLY_BYTES) return void chunks.push(chunk);
          done();
          res.destroy();
        });
        res.on('end', done);
        res.on('error', (e) => settle(() => reject(e)));
      },
    );
    function onAbort() {
      settle(() => reject(signal.reason));
      req.destroy();
    }
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e) => settle(() => reject(e)));
    req.end(body);
  });
}

/** A `retry-after` header (seconds or an HTTP date) in ms, parsed as httpFailure parses it. */
export const retryAfterMs = (header: string | null): number | undefined => httpFailure(503, header, '')?.retryAfterMs;

export const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** One client per region, made on first use and kept for the life of the function. */
export function perRegion<C>(make: (region: string) => C): (region: string) => C {
  const clients = new Map<string, C>();
  return (region) => {
    let c = clients.get(region);
    if (!c) clients.set(region, (c = make(region)));
    return c;
  };
}

/** AWS SDK v3 errors carry these; a missing status means the request never got an answer. */
interface AwsError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
  $response?: { headers?: Record<string, string | undefined> };
}

const THROTTLING = /Throttl|TooManyRequests|RequestLimitExceeded|SlowDown/;

/**
 * Classifies an AWS SDK error like an HTTP answer (408/429/5xx transient, other 4xx permanent),
 * with throttling errors transient whatever their status (SNS answers `Throttling` with a 400).
 * The message holds the status and the AWS error code, which name the problem without any
 * recipient data.
 */
export function awsFailure(error: unknown, what: string, timeoutMs: number): ProviderError {
  const e = error as AwsError;
  // The only signal passed to the SDK is the timeout's, so an abort is the timeout.
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') return new ProviderError(`${what} timed out after ${timeoutMs} ms`, true);
  const status = e?.$metadata?.httpStatusCode;
  if (status === undefined) return networkFailure(error, what, timeoutMs);
  const classified = httpFailure(status, e.$response?.headers?.['retry-after'], what) ?? new ProviderError(`${what} answered ${status}`, true);
  const throttled = e.$retryable?.throttling === true || THROTTLING.test(e.name ?? '');
  return new ProviderError(`${classified.message} ${e.name ?? 'error'}`, classified.transient || throttled, classified.retryAfterMs, status);
}
