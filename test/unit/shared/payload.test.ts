import type { APIGatewayProxyEvent } from 'aws-lambda';
import { isPayloadV1, toPayloadV2 } from '../../../lambdas/shared/payload';

/** A REST API proxy event as API Gateway sends it (the fields the conversion reads). */
const v1 = (over: Partial<APIGatewayProxyEvent>): APIGatewayProxyEvent =>
  ({
    resource: '/profiles/{proxy+}',
    path: '/profiles/u%2F1',
    httpMethod: 'GET',
    headers: { Host: 'api.example.com', 'Content-Type': 'application/json' },
    multiValueHeaders: { Host: ['api.example.com'], 'Content-Type': ['application/json'] },
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { proxy: 'u/1' },
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      httpMethod: 'GET',
      identity: { sourceIp: '203.0.113.9', userAgent: 'Courier/JS' },
      path: '/prod/profiles/u%2F1',
      protocol: 'HTTP/1.1',
      requestId: 'req-1',
      requestTime: '29/Nov/2026:10:00:00 +0000',
      requestTimeEpoch: 1795946400000,
      resourcePath: '/profiles/{proxy+}',
      stage: 'prod',
    },
    body: null,
    isBase64Encoded: false,
    ...over,
  }) as unknown as APIGatewayProxyEvent;

describe('REST API (payload 1.0) events in the HTTP API (2.0) shape', () => {
  it.each([
    ['a greedy parameter, decoded (an id holding a slash)', v1({}), '/profiles/u/1'],
    ['an exact resource', v1({ resource: '/profiles', path: '/profiles', pathParameters: null }), '/profiles'],
    ['a custom domain base path in `path`, ignored', v1({ path: '/v1/profiles/u%2F1' }), '/profiles/u/1'],
    ['spaces and @ in an id', v1({ path: '/profiles/a%20b%40c', pathParameters: { proxy: 'a b@c' } }), '/profiles/a b@c'],
  ])('rebuilds the decoded path from the resource: %s', (_name, event, rawPath) => {
    const e = toPayloadV2(event);
    expect(e.rawPath).toBe(rawPath);
    expect(e.requestContext.http.path).toBe(rawPath);
  });

  it('lower-cases header names and comma-joins repeated headers and query values, as 2.0 does', () => {
    const e = toPayloadV2(
      v1({
        headers: { Authorization: 'Bearer k', Accept: 'b' },
        multiValueHeaders: { Authorization: ['Bearer k'], Accept: ['a', 'b'] },
        queryStringParameters: { tag: 'y', limit: '5' },
        multiValueQueryStringParameters: { tag: ['x', 'y'], limit: ['5'] },
      }),
    );
    expect(e.headers).toEqual({ authorization: 'Bearer k', accept: 'a,b' });
    expect(e.queryStringParameters).toEqual({ tag: 'x,y', limit: '5' });
    expect(e.rawQueryString).toBe('tag=x&tag=y&limit=5');
  });

  it('keeps method, body, base64 flag, request id, source ip and stage', () => {
    const e = toPayloadV2(v1({ httpMethod: 'POST', body: 'eyJhIjoxfQ==', isBase64Encoded: true }));
    expect(e).toMatchObject({
      version: '2.0',
      body: 'eyJhIjoxfQ==',
      isBase64Encoded: true,
      requestContext: { http: { method: 'POST', sourceIp: '203.0.113.9', userAgent: 'Courier/JS' }, requestId: 'req-1', stage: 'prod' },
    });
    expect(e.queryStringParameters).toBeUndefined();
  });

  it('tells the two versions apart', () => {
    expect(isPayloadV1(v1({}))).toBe(true);
    expect(isPayloadV1(toPayloadV2(v1({})))).toBe(false);
    expect(isPayloadV1({ version: '1.0', httpMethod: 'GET' })).toBe(true);
    expect(isPayloadV1(undefined)).toBe(false);
  });
});
