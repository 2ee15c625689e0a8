import { z } from 'zod';
import { createRouter, ok, route, withoutNulls, type Route } from '../../../lambdas/shared/router';
import { dispatcher } from '../../../lambdas/shared/api';
import { httpEvent } from '../../helpers/events';

const echo = (path: string, method: 'GET' | 'PUT' | 'DELETE' = 'GET', greedy?: string): Route =>
  route({ method, path, greedy, handler: async ({ params }) => ok({ path, params }) });

const routes = [
  echo('/profiles/:user_id', 'GET', 'user_id'),
  echo('/profiles/:user_id', 'PUT', 'user_id'),
  echo('/profiles/:user_id/lists', 'GET', 'user_id'),
  echo('/lists/:list_id/subscriptions/:user_id', 'GET', 'user_id'),
  echo('/tenants/:tenant_id/users'),
  echo('/tenants/:tenant_id/templates/:template_id'),
  echo('/notifications/:id'),
  echo('/notifications/:id', 'DELETE'),
  echo('/notifications/:id/versions'),
  echo('/notifications/:id/:submission_id/checks'),
  echo('/notifications/:id/elements/:element_id'),
];
const router = createRouter(routes);

describe('router on decoded API Gateway paths', () => {
  it.each([
    ['/profiles/u1', '/profiles/:user_id', { user_id: 'u1' }],
    ['/profiles/team/a b@x.io', '/profiles/:user_id', { user_id: 'team/a b@x.io' }],
    ['/profiles/team/a b/lists', '/profiles/:user_id/lists', { user_id: 'team/a b' }],
    ['/profiles/u1/', '/profiles/:user_id', { user_id: 'u1' }],
    ['/lists/a.b/subscriptions/u/1', '/lists/:list_id/subscriptions/:user_id', { list_id: 'a.b', user_id: 'u/1' }],
    ['/tenants/acme/users', '/tenants/:tenant_id/users', { tenant_id: 'acme' }],
    ['/tenants/acme/templates/users', '/tenants/:tenant_id/templates/:template_id', { tenant_id: 'acme', template_id: 'users' }],
    ['/profiles/50%', '/profiles/:user_id', { user_id: '50%' }],
    ['/notifications/n1', '/notifications/:id', { id: 'n1' }],
    ['/notifications/n1/versions', '/notifications/:id/versions', { id: 'n1' }],
    ['/notifications/n1/s1/checks', '/notifications/:id/:submission_id/checks', { id: 'n1', submission_id: 's1' }],
    ['/notifications/n1/elements/checks', '/notifications/:id/elements/:element_id', { id: 'n1', element_id: 'checks' }],
  ])('%s matches %s', (path, pattern, params) => {
    const m = router.match('GET', path);
    expect([m.route.path, m.params]).toEqual([pattern, params]);
  });

  it('matches a parameter to one segment unless the route declares it greedy', () => {
    // Without a greedy declaration `/tenants/t/1/users` is no tenant `t/1`, and a sub-path no route serves is no notification `x/s/checks`.
    expect(() => router.match('GET', '/tenants/t/1/users')).toThrow(expect.objectContaining({ status: 404 }));
    expect(() => router.match('DELETE', '/notifications/x/s/checks')).toThrow(expect.objectContaining({ status: 405 }));
    expect(() => router.match('PUT', '/notifications/x/content')).toThrow(expect.objectContaining({ status: 404 }));
  });

  it('tells an unknown path (404) from a known path with the wrong method (405)', () => {
    expect(() => router.match('GET', '/nothing/here')).toThrow(expect.objectContaining({ status: 404 }));
    expect(() => router.match('DELETE', '/profiles/u1')).toThrow(expect.objectContaining({ status: 405 }));
    expect(() => router.match('GET', '/profiles/')).toThrow(expect.objectContaining({ status: 404 }));
  });

  it('refuses, when it is made, a table with two routes of one method and one shape', () => {
    expect(() => createRouter([echo('/brands/:brand_id'), echo('/brands/:id')])).toThrow('Ambiguous routes: GET /brands/:brand_id and /brands/:id');
    expect(() => createRouter([echo('/brands/:brand_id'), echo('/brands/:id', 'DELETE')])).not.toThrow();
    expect(() => route({ method: 'GET', path: '/a/:id', greedy: 'user_id', handler: async () => ok({}) })).toThrow('greedy parameter user_id');
  });
});

describe('route validation', () => {
  const handle = dispatcher([
    route({
      method: 'PUT',
      path: '/things/:id',
      query: z.object({ limit: z.coerce.number().int().max(100).optional() }),
      body: z.object({ name: z.string(), tags: z.array(z.string()).optional() }),
      handler: async ({ params, query, body }) => ok({ params, query, body }),
    }),
  ]);

  it('passes parsed path, query and body to the handler', async () => {
    const event = httpEvent('PUT', '/things/a b', { query: { limit: '5' } });
    event.body = { name: 'n' } as never; // the body parser has already run
    const res = (await handle(event)) as { statusCode: number; body: string };
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ params: { id: 'a b' }, query: { limit: 5 }, body: { name: 'n' } });
  });

  it.each([
    ['a body field of the wrong type', { body: { name: 1 } }, /body\.name/],
    ['a missing body', {}, /body/],
    ['a nested field', { body: { name: 'x', tags: [1] } }, /body\.tags\.0/],
    ['a query value out of range', { body: { name: 'x' }, query: { limit: '500' } }, /query\.limit/],
    // A key the route does not take is named, never accepted and dropped.
    ['a key the body does not have', { body: { name: 'x', nmae: 'y' } }, /body: Unrecognized key: "nmae"/],
  ])('names the field for %s', async (_, opts, message) => {
    const event = httpEvent('PUT', '/things/x', opts as never);
    event.body = (opts as { body?: unknown }).body as never; // the body parser has already run
    await expect(handle(event)).rejects.toMatchObject({ status: 400, message: expect.stringMatching(message) });
  });

  it('refuses a path id longer than 256 characters', async () => {
    const event = httpEvent('PUT', `/things/${'x'.repeat(257)}`);
    event.body = { name: 'x' } as never;
    await expect(handle(event)).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/path\.id/) });
  });
});

describe('withoutNulls: null is "not set", except in the caller’s own data', () => {
  it.each<[string, unknown, unknown]>([
    ['a null field left out', { a: null, b: 1 }, { b: 1 }],
    ['nested', { message: { to: { user_id: 'u', email: null }, routing: null } }, { message: { to: { user_id: 'u' } } }],
    ['array elements kept, their objects cleaned', { to: [null, { user_id: 'u', locale: null }] }, { to: [null, { user_id: 'u' }] }],
    ['data kept as sent', { message: { data: { a: null } } }, { message: { data: { a: null } } }],
    ['a profile kept as sent', { profile: { email: null } }, { profile: { email: null } }],
    ['a JSON Patch value kept', { patch: [{ op: 'replace', path: '/a', value: null }] }, { patch: [{ op: 'replace', path: '/a', value: null }] }],
    ['a body that is not an object', 'text', 'text'],
  ])('%s', (_, body, expected) => {
    expect(withoutNulls(body)).toEqual(expected);
  });
});
