import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { ConflictError, NotFoundError } from '../../../lambdas/shared/errors';
import { apiKeyAuth, bearerToken, errorResponder, hashApiKey, jsonBody } from '../../../lambdas/shared/middleware';
import { httpEvent } from '../../helpers/events';

const ctx = {} as Context;
const wrap = (fn: (e: APIGatewayProxyEventV2) => Promise<unknown>, ...extra: middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyResultV2>[]) => {
  let h = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>().use(errorResponder());
  for (const m of extra) h = h.use(m);
  return h.handler(async (e) => ({ statusCode: 200, body: JSON.stringify(await fn(e)) }));
};

describe('errorResponder', () => {
  it('maps ApiErrors to Courier-shaped bodies with their headers', async () => {
    const res = (await wrap(async () => {
      throw new ConflictError('busy', false);
    })(httpEvent('GET', '/x'), ctx)) as { statusCode: number; body: string; headers: Record<string, string> };
    expect(res.statusCode).toBe(409);
    expect(JSON.parse(res.body)).toEqual({ message: 'busy', type: 'invalid_request_error' });
    expect(res.headers['x-should-retry']).toBe('false');
    const nf = (await wrap(async () => {
      throw new NotFoundError('nope');
    })(httpEvent('GET', '/x'), ctx)) as { statusCode: number };
    expect(nf.statusCode).toBe(404);
  });

  it('hides the detail of unexpected errors behind a generic 500 api_error', async () => {
    const res = (await wrap(async () => {
      throw new Error('secret internals');
    })(httpEvent('GET', '/x'), ctx)) as { statusCode: number; body: string };
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body)).toEqual({ message: 'Internal server error', type: 'api_error' });
  });
});

describe('jsonBody', () => {
  const h = wrap(async (e) => ({ body: e.body ?? null }), jsonBody(100));
  const call = async (body: string | undefined, extra: Partial<APIGatewayProxyEventV2> = {}) => {
    const res = (await h({ ...httpEvent('POST', '/x'), body, ...extra }, ctx)) as { statusCode: number; body: string };
    return { status: res.statusCode, json: JSON.parse(res.body) };
  };

  it('parses JSON whatever the content type, and base64 bodies', async () => {
    expect(await call('{"a":1}')).toEqual({ status: 200, json: { body: { a: 1 } } });
    expect(await call(Buffer.from('{"b":2}').toString('base64'), { isBase64Encoded: true })).toEqual({ status: 200, json: { body: { b: 2 } } });
  });

  it('leaves an empty body undefined', async () => {
    expect(await call(undefined)).toEqual({ status: 200, json: { body: null } });
    expect(await call('')).toEqual({ status: 200, json: { body: null } });
  });

  it('refuses malformed JSON with 400 and oversized bodies with 413', async () => {
    expect(await call('{nope')).toMatchObject({ status: 400, json: { type: 'invalid_request_error' } });
    expect(await call(JSON.stringify({ s: 'x'.repeat(200) }))).toMatchObject({ status: 413, json: { type: 'invalid_request_error' } });
  });
});

describe('apiKeyAuth', () => {
  const stored = new Set([hashApiKey('good-key')]);
  const h = wrap(
    async () => ({ ok: true }),
    apiKeyAuth(async (hash) => stored.has(hash)),
  );
  const status = async (headers: Record<string, string>) => ((await h(httpEvent('GET', '/x', { headers }), ctx)) as { statusCode: number }).statusCode;

  it('accepts a stored key and refuses everything else with 401', async () => {
    expect(await status({ authorization: 'Bearer good-key' })).toBe(200);
    expect(await status({ authorization: 'bearer good-key' })).toBe(200);
    expect(await status({})).toBe(401);
    expect(await status({ authorization: 'Bearer bad-key' })).toBe(401);
    expect(await status({ authorization: 'good-key' })).toBe(401);
    expect(await status({ authorization: 'Basic Z29vZC1rZXk=' })).toBe(401);
  });

  it('stores and compares only SHA-256 hashes', () => {
    expect(hashApiKey('good-key')).toMatch(/^[0-9a-f]{64}$/);
    expect(bearerToken({ authorization: 'Bearer abc' })).toBe('abc');
  });
});
