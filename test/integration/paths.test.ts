import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/**
 * Issue 14, paths: a `:param` is one path segment unless its route declares it greedy (user ids,
 * which may hold a `/` that API Gateway hands over decoded), and a path no route serves, whatever
 * its first segment, is Courier's `{ message, type }` 404 (the API's `$default` route), not API
 * Gateway's own `{"message":"Not Found"}`.
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s?.stop());

const notFound = (method: string, path: string) => ({ message: `No route for ${method} ${path}`, type: 'invalid_request_error' });

it('answers an unknown first segment with Courier’s 404, with or without an API key', async () => {
  for (const key of [undefined, null]) {
    const res = await s.http('POST', '/nothing/here', {}, { key });
    expect([res.status, res.json]).toEqual([404, notFound('POST', '/nothing/here')]);
  }
  const root = await s.http('GET', '/');
  expect([root.status, root.json]).toEqual([404, notFound('GET', '/')]);
});

it('does not let an id swallow the segments after it: a sub-path no route serves is a 404 that changes nothing', async () => {
  const brand = await s.client.brands.create({ name: 'Kept', settings: {} } as never);
  // Before, `DELETE /brands/<id>/extra` was the deletion of brand `<id>/extra`, answered 204.
  const res = await s.http('DELETE', `/brands/${brand.id}/extra`);
  expect([res.status, res.json]).toEqual([404, notFound('DELETE', `/brands/${brand.id}/extra`)]);
  const put = await s.http('PUT', `/notifications/${uid('n')}/nothing`, { notification: {} });
  expect(put.status).toBe(404);
  expect((await s.client.brands.retrieve(brand.id)).name).toBe('Kept');
});

it('still serves user ids holding a slash, on every route that names a user', async () => {
  const user = `${uid('team')}/ada`;
  await s.client.profiles.replace(user, { profile: { email: 'ada@example.test' } });
  expect((await s.client.profiles.retrieve(user)).profile).toEqual({ email: 'ada@example.test' });
  const tenant = uid('t');
  await s.client.tenants.update(tenant, { name: 'T' });
  await s.client.users.tenants.addSingle(tenant, { user_id: user } as never);
  expect((await s.client.users.tenants.list(user)).items).toHaveLength(1);
  expect((await s.client.profiles.lists.retrieve(user)).results).toEqual([]);
});
