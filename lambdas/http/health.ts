import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { errorResponder, payloadV2 } from '../shared/middleware';
import { toResult } from '../shared/router';

/** `GET /health`: answers without an API key and without touching the table. */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(payloadV2())
  .use(errorResponder())
  .handler(async () => toResult({ status: 200, body: { status: 'ok' } }));
