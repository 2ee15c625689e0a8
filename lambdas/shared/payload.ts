import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';

/** A REST API (payload 1.0) event: it has `httpMethod` and `resource`, where 2.0 has `version: '2.0'`. */
export const isPayloadV1 = (event: unknown): event is APIGatewayProxyEvent =>
  typeof event === 'object' &&
  event !== null &&
  (event as { version?: string }).version !== '2.0' &&
  typeof (event as { httpMethod?: unknown }).httpMethod === 'string';

/** Joins repeated values with commas, as payload 2.0 does. */
function joined(
  multi: Record<string, string[] | undefined> | null | undefined,
  single: Record<string, string | undefined> | null | undefined,
  lower: boolean,
): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (k: string, v: string) => {
    const key = lower ? k.toLowerCase() : k;
    out[key] = out[key] === undefined ? v : `${out[key]},${v}`;
  };
  if (multi && Object.keys(multi).length) for (const [k, vs] of Object.entries(multi)) for (const v of vs ?? []) add(k, v);
  else for (const [k, v] of Object.entries(single ?? {})) if (v !== undefined) add(k, v);
  return out;
}

/**
 * Turns a REST API (payload 1.0) proxy event into the HTTP API (payload 2.0) shape the handlers are
 * written for, so `-c api=rest` runs the same code. The path is rebuilt from `resource` and the
 * path parameters, which API Gateway hands over percent-decoded like 2.0's `rawPath` (1.0's `path`
 * is still encoded, and carries a custom domain's base path); headers are lower-cased and repeated
 * headers and query values comma-joined, as in 2.0.
 */
export function toPayloadV2(e: APIGatewayProxyEvent): APIGatewayProxyEventV2 {
  const rawPath = e.resource.replace(/\{([^}+]+)\+?\}/g, (_, name: string) => e.pathParameters?.[name] ?? '');
  const query = joined(e.multiValueQueryStringParameters, e.queryStringParameters, false);
  const rawQueryString = Object.entries(e.multiValueQueryStringParameters ?? {})
    .flatMap(([k, vs]) => (vs ?? []).map((v) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`))
    .join('&');
  const headers = joined(e.multiValueHeaders, e.headers, true);
  const ctx = e.requestContext;
  return {
    version: '2.0',
    routeKey: `${e.httpMethod} ${e.resource}`,
    rawPath,
    rawQueryString,
    headers,
    queryStringParameters: Object.keys(query).length ? query : undefined,
    pathParameters: e.pathParameters ?? undefined,
    requestContext: {
      accountId: ctx.accountId,
      apiId: ctx.apiId,
      domainName: ctx.domainName ?? headers.host ?? '',
      domainPrefix: ctx.domainPrefix ?? '',
      http: {
        method: e.httpMethod,
        path: rawPath,
        protocol: ctx.protocol,
        sourceIp: ctx.identity?.sourceIp ?? '',
        userAgent: ctx.identity?.userAgent ?? headers['user-agent'] ?? '',
      },
      requestId: ctx.requestId,
      routeKey: `${e.httpMethod} ${e.resource}`,
      stage: ctx.stage,
      time: ctx.requestTime ?? new Date(ctx.requestTimeEpoch).toISOString(),
      timeEpoch: ctx.requestTimeEpoch,
    },
    body: e.body ?? undefined,
    isBase64Encoded: e.isBase64Encoded,
  };
}
