import middy from '@middy/core';
import httpCors from '@middy/http-cors';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { isActiveKeyHash, keyIdOf } from '../store/api-keys';
import { recordAuditEvent } from '../store/audit-events';
import { dynamoIdempotencyStore } from '../store/idempotency';
import { config } from './config';
import { idempotency } from './idempotency';
import { logger } from './logger';
import { apiKeyAuth, bearerToken, errorResponder, hashApiKey, jsonBody, payloadV2, webhookAuth } from './middleware';
import { isPayloadV1, toPayloadV2 } from './payload';
import { createRouter, toResult, type AuditedChange, type Route } from './router';
import { userTokenAuth } from './tokens';

export type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

/**
 * Routes a decoded API Gateway v2 event to one of `routes`; no middleware (used by tests and the
 * wrapper). A successful call of a route that declares `audit` records its audit event before the
 * answer (recordAudit); an `Idempotency-Key` replay never reaches here, so it records none.
 */
export function dispatcher(routes: Route[]) {
  const router = createRouter(routes);
  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyResultV2> => {
    const { route, params } = router.match(event.requestContext.http.method.toUpperCase(), event.rawPath);
    const reply = await route.handle(event, params);
    if (reply.audit) await recordAudit(reply.audit, event.headers);
    return toResult(reply);
  };
}

/**
 * Stores the audit event of a change already made, its actor the calling API key's id. The change
 * is not undone when this write fails (after DynamoDB's own retries): the call still answers its
 * 2xx, since a retry of it would repeat a change that happened, and the whole event goes to the
 * error log (`audit event not recorded`), where an alarm on it finds it (README "Audit events").
 */
async function recordAudit(change: AuditedChange, headers: Record<string, string | undefined> | undefined): Promise<void> {
  const key = bearerToken(headers);
  const event = { ...change, actor: { id: key ? keyIdOf(hashApiKey(key)) : 'unknown' }, source: 'api' };
  try {
    await recordAuditEvent(event);
  } catch (error) {
    logger.error('audit event not recorded', { auditEvent: event, error: error as Error });
  }
}

/**
 * Who may call a function's routes: API keys (the admin API), user tokens (the inbox), anyone
 * (health), or a webhook's shared secret (`{ webhook }` answers why it refuses a request, or
 * undefined to accept it: lambdas/http/inbound.ts).
 */
export type ApiAuth = 'apiKey' | 'userToken' | 'none' | { webhook: (event: APIGatewayProxyEventV2, rawBody: string) => Promise<string | undefined> };

/**
 * The Lambda handler of an API resource group: Powertools' Lambda context in every log line
 * (request id, cold start), either API Gateway payload version (lib/api.ts `-c api=rest`), errors
 * as Courier's `{ message, type }`, then the caller checked before anything else. With an API key,
 * `Idempotency-Key` on POSTs comes next (it hashes the raw body, so it comes before the body is
 * parsed); then the JSON body, parsed within the size limit. Every answer, errors included, carries
 * the CORS headers a browser page of an allowed origin needs (lambdas/shared/cors.ts: a REST API
 * relies on them; an HTTP API sets its own and ignores these).
 */
export function apiHandler(routes: Route[], { auth }: { auth: ApiAuth } = { auth: 'apiKey' }): HttpHandler {
  const chain = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>().use(injectLambdaContext(logger)).use(payloadV2());
  // Before the error responder, so its onError runs after the error answer is made.
  if (config.CORS_ALLOWED_ORIGINS.length) chain.use(httpCors({ origins: config.CORS_ALLOWED_ORIGINS }));
  chain.use(errorResponder());
  if (auth === 'apiKey') chain.use(apiKeyAuth(isActiveKeyHash)).use(idempotency(dynamoIdempotencyStore));
  if (auth === 'userToken') chain.use(userTokenAuth());
  if (typeof auth === 'object') chain.use(webhookAuth(auth.webhook));
  if (auth !== 'none') chain.use(jsonBody(config.MAX_BODY_BYTES));
  return chain.handler(dispatcher(routes)) as unknown as HttpHandler;
}

/**
 * One function serving routes of different credentials (the inbound group: the Courier route by
 * API key, the CDP webhooks by shared secret; the users group: device tokens by user token too):
 * `pick` chooses the handler by path and, where the path allows either, by the request.
 */
export function handlerByPath(pick: (path: string, event: APIGatewayProxyEventV2) => HttpHandler): HttpHandler {
  return (event, context) => {
    const v2 = isPayloadV1(event) ? toPayloadV2(event) : event;
    return pick(v2.rawPath ?? '', v2)(v2, context);
  };
}
