import type { z } from 'zod';
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
  method?: 'GET' | 'POST' | 'PUT';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** Names the callee in errors, e.g. `slack`, `firebase-fcm token endpoint`. */
  what: string;
}

export interface HttpReply {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * One HTTP exchange within the provider timeout, the body read in full. Redirects are not
 * followed: a provider endpoint that redirects is misconfigured, and following one would resend a
 * signed or authenticated request somewhere else.
 */
export async function exchange(call: HttpCall): Promise<HttpReply> {
  try {
    const res = await fetch(call.url, {
      method: call.method ?? 'POST',
      headers: call.headers,
      body: call.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(call.timeoutMs),
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  } catch (e) {
    throw networkFailure(e, call.what, call.timeoutMs);
  }
}

/** `exchange`, throwing the classified ProviderError for any non-2xx answer (see httpFailure). */
export async function request(call: HttpCall): Promise<HttpReply> {
  const reply = await exchange(call);
  const failure = httpFailure(reply.status, reply.headers.get('retry-after'), call.what);
  if (failure) throw failure;
  return reply;
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
