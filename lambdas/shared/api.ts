import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { isActiveKeyHash } from '../store/api-keys';
import { dynamoIdempotencyStore } from '../store/idempotency';
import { config } from './config';
import { idempotency } from './idempotency';
import { apiKeyAuth, errorResponder, jsonBody, payloadV2 } from './middleware';
import { createRouter, toResult, type Route } from './router';

export type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

/** Routes a decoded API Gateway v2 event to one of `routes`; no middleware (used by tests and the wrapper). */
export function dispatcher(routes: Route[]) {
  const router = createRouter(routes);
  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyResultV2> => {
    const { route, params } = router.match(event.requestContext.http.method.toUpperCase(), event.rawPath);
    return toResult(await route.handle(event, params));
  };
}

/**
 * The Lambda handler of an API resource group: either API Gateway payload version (lib/api.ts
 * `-c api=rest`), errors as Courier's `{ message, type }`, the API key
 * checked before anything else, then `Idempotency-Key` on POSTs (it hashes the raw body, so it comes
 * before the body is parsed), then the JSON body parsed within the size limit.
 */
export function apiHandler(routes: Route[]): HttpHandler {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
    .use(payloadV2())
    .use(errorResponder())
    .use(apiKeyAuth(isActiveKeyHash))
    .use(idempotency(dynamoIdempotencyStore))
    .use(jsonBody(config.MAX_BODY_BYTES))
    .handler(dispatcher(routes)) as unknown as HttpHandler;
}
