import { createHash } from 'node:crypto';
import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { z } from 'zod';
import type { IdempotencyStore, StoredResponse } from '../store/idempotency';
import { ApiError, ConflictError, PayloadTooLargeError, ValidationError } from './errors';
import { logger } from './logger';
import { errorResponder } from './middleware';
import { now } from './clock';
import { humanDurationMs } from '../domain/durations';

type HttpMiddleware = middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyResultV2>;
type HttpRequest = middy.Request<APIGatewayProxyEventV2, APIGatewayProxyResultV2>;

export const KEY_HEADER = 'idempotency-key';
export const EXPIRATION_HEADER = 'x-idempotency-expiration';
/** Added to every replayed response. */
export const REPLAYED_HEADER = 'idempotent-replayed';
export const DEFAULT_EXPIRY_SECONDS = 24 * 3600;
/** "At most 1 year": 366 days, so a calendar year ahead is accepted in a leap year too. */
export const MAX_EXPIRY_SECONDS = 366 * 24 * 3600;
/** An in-flight record older than this may be taken over; longer than any API function's timeout (29 s). */
export const LEASE_MS = 60_000;

const invalid = (header: string, problem: string) => new ValidationError(`Invalid request: header ${header} ${problem}`);

/** The key of a request: undefined without the header; 1-255 printable ASCII characters, else 400. */
export function parseIdempotencyKey(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^[\x20-\x7e]{1,255}$/.test(value)) throw invalid(KEY_HEADER, 'must be 1-255 printable ASCII characters');
  return value;
}

const ISO_TIME = z.union([z.iso.date(), z.iso.datetime({ offset: true, local: true })]);

/**
 * When the record expires (epoch seconds), from `x-idempotency-expiration`: epoch seconds, an
 * ISO-8601 date or time (UTC when it names no offset), or, as older SDKs send, a duration such as
 * `1 Day` or `2 Hours`. Default 24 h; it must lie in the future and at most a year ahead, else 400.
 */
export function parseExpiration(value: string | undefined, nowMs: number): number {
  const now = Math.floor(nowMs / 1000);
  if (value === undefined) return now + DEFAULT_EXPIRY_SECONDS;
  const text = value.trim();
  const duration = humanDurationMs(text);
  let at: number;
  if (/^\d{1,15}$/.test(text)) at = Number(text);
  else if (duration !== undefined) at = now + Math.ceil(duration / 1000);
  else if (ISO_TIME.safeParse(text).success) at = Math.ceil(Date.parse(/T[^Zz+-]*$/.test(text) ? `${text}Z` : text) / 1000);
  else throw invalid(EXPIRATION_HEADER, 'must be epoch seconds, an ISO-8601 time or a duration such as "1 Day"');
  if (at <= now) throw invalid(EXPIRATION_HEADER, 'must be in the future');
  if (at - now > MAX_EXPIRY_SECONDS) throw invalid(EXPIRATION_HEADER, 'must be at most 1 year ahead');
  return at;
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** The record's id: method, path and key together, so a key is scoped per endpoint. */
export const scopeHash = (method: string, path: string, key: string): string => sha256(JSON.stringify([method.toUpperCase(), path, key]));

/** The raw body as received (this middleware runs before jsonBody parses it). */
function rawBody(event: APIGatewayProxyEventV2): Buffer {
  const body: unknown = event.body;
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body !== 'string') return Buffer.from(JSON.stringify(body));
  return Buffer.from(body, event.isBase64Encoded ? 'base64' : 'utf8');
}

const NOT_REPLAYED = new Set(['date', 'content-length', 'connection', 'transfer-encoding', 'set-cookie', REPLAYED_HEADER]);

function toStored(result: APIGatewayProxyResultV2 | null | undefined): StoredResponse {
  if (result === null || result === undefined || typeof result === 'string') return { status: 200, headers: {}, body: result ?? undefined };
  const headers = Object.entries(result.headers ?? {})
    .filter(([name]) => !NOT_REPLAYED.has(name.toLowerCase()))
    .map(([name, value]) => [name, String(value)]);
  return {
    status: result.statusCode ?? 200,
    headers: Object.fromEntries(headers),
    body: result.body,
    ...(result.isBase64Encoded ? { isBase64Encoded: true } : {}),
  };
}

const replay = (r: StoredResponse): APIGatewayProxyStructuredResultV2 => ({
  statusCode: r.status,
  headers: { ...r.headers, [REPLAYED_HEADER]: 'true' },
  ...(r.body !== undefined ? { body: r.body } : {}),
  ...(r.isBase64Encoded ? { isBase64Encoded: true } : {}),
});

/** Errors raised while checking the request, before the endpoint did anything: safe to retry. */
const isRequestValidation = (e: ApiError): boolean => e instanceof ValidationError || e instanceof PayloadTooLargeError;

/** The error response exactly as the error responder (first in the chain) will build it. */
const errorResponse = errorResponder().onError!;

interface Held {
  scope: string;
  token: string;
}

/** What a handler may know of the Idempotency-Key it runs under. */
export interface IdempotentOperation {
  /** The key's record id (method, path and key hashed). */
  scope: string;
  /** When the key's operation first claimed it (epoch ms): the same on a retry after a failure. */
  created: number;
  /** Set by `markSideEffect`: the request changed something, so its key is never released. */
  sideEffects: boolean;
}

const OPERATION = Symbol('idempotent-operation');
type WithOperation = APIGatewayProxyEventV2 & { [OPERATION]?: IdempotentOperation };

/**
 * The operation of a request that carries an Idempotency-Key (undefined without one). A handler
 * that creates something names it after the operation (`scope`, `created`), so a retry of the same
 * key after a failure finds and finishes the same thing instead of making a second one.
 */
export const idempotentOperation = (event: APIGatewayProxyEventV2): IdempotentOperation | undefined => (event as WithOperation)[OPERATION];

/**
 * Says that the request is about to change something. From then on a failure (5xx) no longer
 * releases the key: it ends the claim's lease but keeps the record, so the client's retry with
 * the same key takes the same operation over (same `created`) and repeats it idempotently.
 */
export function markSideEffect(event: APIGatewayProxyEventV2): void {
  const op = (event as WithOperation)[OPERATION];
  if (op) op.sideEffects = true;
}

/**
 * Courier's `Idempotency-Key` on every POST (other methods ignore the header). Use it after the API
 * key check and before `jsonBody` (it hashes the raw body).
 *
 * - The first request with a key claims it with a conditional write (an in-flight record, the body's
 *   hash, expiry from `x-idempotency-expiration`), runs, and stores its response: status, body and
 *   headers, errors included.
 * - The same key and body again replays that response with `idempotent-replayed: true`; a changed
 *   body is 409, and so is a key still in flight, both with `x-should-retry: false`.
 * - Nothing is stored when the request failed validation (400/413) or on a 5xx: the record is
 *   released and the client may retry with the same key; but once the handler said it changed
 *   something (`markSideEffect`), a 5xx only ends the claim's lease, so the retry takes over the
 *   same operation (`idempotentOperation`) and finishes it instead of doing it twice.
 *
 * Powertools' idempotency utility was considered and not used, its semantics differ: it deletes the
 * record when the handler throws (Courier replays stored error responses), its expiry is fixed per
 * function (Courier takes it per request from `x-idempotency-expiration`), and a changed payload is
 * either a new key or its own validation error (Courier answers 409 for the same key).
 */
export function idempotency(store: IdempotencyStore, clock: () => number = now): HttpMiddleware {
  const held = new WeakMap<HttpRequest, Held>();

  const take = (request: HttpRequest): Held | undefined => {
    const h = held.get(request);
    held.delete(request);
    return h;
  };

  const release = async (h: Held, request: HttpRequest): Promise<void> => {
    const changed = idempotentOperation(request.event)?.sideEffects === true;
    try {
      if (changed) await store.abandon(h.scope, h.token);
      else await store.release(h.scope, h.token);
    } catch (error) {
      // The lease runs out instead; the client may retry then.
      logger.warn('could not release an idempotency record', { error: error as Error, changed });
    }
  };

  const settle = async (h: Held, request: HttpRequest): Promise<void> => {
    const response = toStored(request.response);
    if (response.status >= 500) return release(h, request);
    // A response that must not be kept (a user token) is never stored: the key is released, and a
    // retry simply runs again (issuing a token changes nothing).
    if (/\bno-store\b/i.test(Object.entries(response.headers).find(([k]) => k.toLowerCase() === 'cache-control')?.[1] ?? '')) return release(h, request);
    try {
      await store.complete(h.scope, h.token, response);
    } catch (error) {
      logger.warn('could not store an idempotent response', { error: error as Error, status: response.status });
      await release(h, request);
    }
  };

  return {
    before: async (request) => {
      const { event } = request;
      const method = event.requestContext.http.method.toUpperCase();
      if (method !== 'POST') return;
      const headers = event.headers ?? {};
      const key = parseIdempotencyKey(headers[KEY_HEADER]);
      if (key === undefined) return;
      const now = clock();
      const expiresAt = parseExpiration(headers[EXPIRATION_HEADER], now);
      const scope = scopeHash(method, event.rawPath, key);
      const bodyHash = sha256(rawBody(event));
      const claim = await store.claim(scope, { bodyHash, expiresAt, leaseMs: LEASE_MS, now });
      if (claim.claimed) {
        held.set(request, { scope, token: claim.token });
        (event as WithOperation)[OPERATION] = { scope, created: claim.created, sideEffects: false };
        return;
      }
      const { existing } = claim;
      if (existing && existing.bodyHash !== bodyHash) {
        throw new ConflictError(`The ${KEY_HEADER} was already used with a different request body; use a new key for a new request`);
      }
      if (existing?.state === 'COMPLETED' && existing.response) return replay(existing.response);
      throw new ConflictError(`A request with this ${KEY_HEADER} is still in progress; retry once it has completed`);
    },

    after: async (request) => {
      const h = take(request);
      if (h) await settle(h, request);
    },

    onError: async (request) => {
      const h = take(request);
      if (!h) return;
      const error = request.error;
      if (error instanceof ApiError && error.status < 500 && !isRequestValidation(error)) {
        await errorResponse(request);
        await settle(h, request);
      } else {
        await release(h, request);
      }
    },
  };
}
