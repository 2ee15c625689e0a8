import { startHttpAdapter } from '../../lambdas/local/http-adapter';
import { startTestStack, type TestStack } from '../helpers/stack';

/**
 * CORS_ALLOWED_ORIGINS as a list: behind a REST API (the functions set the header, API Gateway
 * passes it; preflights answered by its mock integration) and, for the HTTP API kind, the local
 * adapter standing in for API Gateway's own CORS handling. The default (`*`) is in browser-access.test.ts.
 */
const PAGE = 'https://app.example.test';
const OTHER = 'https://evil.example.test';
let rest: TestStack;
beforeAll(async () => {
  rest = await startTestStack({ api: 'rest', env: { CORS_ALLOWED_ORIGINS: `${PAGE},http://localhost:5173` } });
});
afterAll(() => rest?.stop());

const preflight = (url: string, origin: string) =>
  fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' } });

it('behind a REST API, the functions answer a listed origin with it (and Vary), another with nothing', async () => {
  const ok = await fetch(`${rest.url}/health`, { headers: { origin: PAGE } });
  expect([ok.status, ok.headers.get('access-control-allow-origin'), ok.headers.get('vary')]).toEqual([200, PAGE, 'Origin']);
  const refused = await fetch(`${rest.url}/profiles/x`, { headers: { origin: 'http://localhost:5173' } });
  expect([refused.status, refused.headers.get('access-control-allow-origin')]).toEqual([401, 'http://localhost:5173']);
  const other = await fetch(`${rest.url}/health`, { headers: { origin: OTHER } });
  expect(other.headers.get('access-control-allow-origin')).toBeNull();
  const pre = await preflight(`${rest.url}/client/q`, PAGE);
  expect([pre.status, pre.headers.get('access-control-allow-origin')]).toEqual([204, PAGE]);
  expect((await preflight(`${rest.url}/client/q`, OTHER)).headers.get('access-control-allow-origin')).toBeNull();
});

it('an HTTP API sets the listed origin itself and drops the function’s CORS headers', async () => {
  const api = await startHttpAdapter({
    port: 0,
    corsOrigins: [PAGE],
    routes: [
      {
        routeKey: 'GET /x',
        functionName: 'x',
        timeoutSeconds: 5,
        handler: async () => ({ statusCode: 200, headers: { 'access-control-allow-origin': '*', 'content-type': 'text/plain' }, body: 'x' }),
      },
    ],
  });
  try {
    const ok = await fetch(`${api.url}/x`, { headers: { origin: PAGE } });
    expect([ok.headers.get('access-control-allow-origin'), ok.headers.get('vary'), await ok.text()]).toEqual([PAGE, 'Origin', 'x']);
    const other = await fetch(`${api.url}/x`, { headers: { origin: OTHER } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const pre = await preflight(`${api.url}/x`, PAGE);
    expect([pre.status, pre.headers.get('access-control-allow-origin'), pre.headers.get('access-control-allow-methods')]).toEqual([
      204,
      PAGE,
      'GET,POST,PUT,PATCH,DELETE',
    ]);
  } finally {
    await api.close();
  }
});
