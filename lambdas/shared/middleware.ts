import { createHash } from 'node:crypto';
import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { ApiError, AuthenticationError, PayloadTooLargeError, ValidationError } from './errors';
import { logger } from './logger';
import { isPayloadV1, toPayloadV2 } from './payload';
import { toResult } from './router';

type HttpMiddleware = middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyResultV2>;

/**
 * Maps every error to Courier's `{ message, type }` body. ApiErrors are the client's to see;
 * anything else is logged with its detail and answered with a generic 500.
 *
 * @example middy(handler).use(errorResponder()) // use it first: its onError runs last
 */
export function errorResponder(): HttpMiddleware {
  return {
    onError: async (request) => {
      const error = request.error;
      if (error instanceof ApiError) {
        request.response = toResult({ status: error.status, body: { message: error.message, type: error.type }, headers: error.headers });
        return;
      }
      logger.error('unhandled error', { error: error as Error, path: request.event.rawPath, method: request.event.requestContext?.http?.method });
      request.response = toResult({ status: 500, body: { message: 'Internal server error', type: 'api_error' } });
    },
  };
}

/**
 * Accepts REST API (payload 1.0) events as well as HTTP API (2.0) ones: a 1.0 event is turned into
 * the 2.0 shape before anything else reads it (lambdas/shared/payload.ts). The 2.0 result the
 * handlers return is also a valid 1.0 result.
 */
export function payloadV2(): HttpMiddleware {
  return {
    before: async (request) => {
      if (isPayloadV1(request.event)) request.event = toPayloadV2(request.event);
    },
  };
}

/**
 * Parses a JSON body whatever the content-type says (curl's `-d` sends form encoding), refuses
 * bodies over `limit` bytes with 413 and malformed JSON with 400. An empty body stays undefined.
 */
export function jsonBody(limit: number): HttpMiddleware {
  return {
    before: async (request) => {
      const { body, isBase64Encoded } = request.event;
      if (body === undefined || body === null || body === '') {
        (request.event as { body?: unknown }).body = undefined;
        return;
      }
      const text = isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
      if (Buffer.byteLength(text) > limit) throw new PayloadTooLargeError(limit);
      try {
        (request.event as { body?: unknown }).body = JSON.parse(text);
      } catch (e) {
        throw new ValidationError(`Invalid request: body is not valid JSON (${(e as Error).message})`);
      }
    },
  };
}

export const hashApiKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** Reads the bearer credential; undefined when the header is missing or not a bearer header. */
export function bearerToken(headers: Record<string, string | undefined> | undefined): string | undefined {
  const value = headers?.authorization ?? headers?.Authorization;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(value ?? '');
  return m?.[1];
}

/**
 * Accepts a request only with `Authorization: Bearer <key>` for a key whose SHA-256 is stored and
 * not revoked. No cache: a revoked key is refused on the very next request.
 */
export function apiKeyAuth(isActiveKeyHash: (hash: string) => Promise<boolean>): HttpMiddleware {
  return {
    before: async (request) => {
      const key = bearerToken(request.event.headers);
      if (!key) throw new AuthenticationError();
      if (!(await isActiveKeyHash(hashApiKey(key)))) throw new AuthenticationError('Unauthorized: the API key is not valid');
    },
  };
}

/**
 * Accepts a request only when `verify` accepts its credentials, given the raw body (Segment signs
 * the body): the inbound webhooks of customer data platforms, which carry a shared secret, never
 * an API key. Runs before the body is parsed.
 */
export function webhookAuth(verify: (event: APIGatewayProxyEventV2, rawBody: string) => Promise<string | undefined>): HttpMiddleware {
  return {
    before: async (request) => {
      const { body, isBase64Encoded } = request.event;
      const raw = body === undefined || body === null ? '' : isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
      const refusal = await verify(request.event, raw);
      if (refusal !== undefined) throw new AuthenticationError(refusal);
    },
  };
}
