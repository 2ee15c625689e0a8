import Courier, { AuthenticationError, NotFoundError } from '@trycourier/courier';
import { startTestStack, type TestStack } from '../helpers/stack';

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s?.stop());

const enc = encodeURIComponent;

describe('profiles over HTTP', () => {
  it('stores a profile under an id holding /, space and @, and reads it back', async () => {
    const put = await s.http('PUT', `/profiles/${enc('team/a b@x.io')}`, { profile: { email: 'a@b.c', n: 1.5, deep: { list: [1, 'x', null] } } });
    expect(put).toMatchObject({ status: 200, json: { status: 'SUCCESS' } });
    const get = await s.http('GET', `/profiles/${enc('team/a b@x.io')}`);
    expect(get.status).toBe(200);
    expect(get.json).toEqual({ profile: { email: 'a@b.c', n: 1.5, deep: { list: [1, 'x', null] } }, preferences: { notifications: {} } });
    expect(get.headers.get('content-type')).toBe('application/json');
  });

  it('accepts a JSON body sent as form data, as curl -d does', async () => {
    const res = await fetch(`${s.url}/profiles/curl-user`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${s.apiKey}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: '{"profile":{"email":"a@b.c"}}',
    });
    expect(res.status).toBe(200);
    expect((await s.http('GET', '/profiles/curl-user')).json.profile.email).toBe('a@b.c');
  });

  it('answers 401 authentication_error without a key, with a wrong key, and with a malformed header', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: s.apiKey }] as Record<string, string>[]) {
      const res = await s.http('PUT', '/profiles/intruder', { profile: { a: 1 } }, { key: null, headers });
      expect([res.status, res.json.type]).toEqual([401, 'authentication_error']);
    }
    expect((await s.http('GET', '/profiles/intruder')).status).toBe(404);
  });

  it('POST merges top-level keys and creates a missing profile', async () => {
    await s.http('POST', '/profiles/merge-me', { profile: { email: 'm@x.io', address: { city: 'Oslo' } } });
    await s.http('POST', '/profiles/merge-me', { profile: { phone_number: '+1555', address: { zip: '0150' } } });
    expect((await s.http('GET', '/profiles/merge-me')).json.profile).toEqual({ email: 'm@x.io', phone_number: '+1555', address: { zip: '0150' } });
  });

  it('concurrent merges keep every key', async () => {
    await Promise.all(Array.from({ length: 8 }, (_, i) => s.http('POST', '/profiles/racy', { profile: { [`k${i}`]: i } })));
    expect(Object.keys((await s.http('GET', '/profiles/racy')).json.profile).sort()).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']);
  });

  it('PATCH applies JSON-Patch operations and refuses a failing test op without changing anything', async () => {
    await s.http('PUT', '/profiles/patchy', { profile: { tier: 'free', tags: ['a'] } });
    const ok = await s.http('PATCH', '/profiles/patchy', {
      patch: [
        { op: 'replace', path: '/tier', value: 'gold' },
        { op: 'add', path: '/tags/-', value: 'b' },
        { op: 'add', path: '/locale', value: 'nb-NO' },
      ],
    });
    expect(ok.status).toBe(200);
    const bad = await s.http('PATCH', '/profiles/patchy', {
      patch: [
        { op: 'remove', path: '/locale' },
        { op: 'test', path: '/tier', value: 'free' },
      ],
    });
    expect([bad.status, bad.json.type]).toEqual([400, 'invalid_request_error']);
    expect(bad.json.message).toMatch(/body\.patch\.1/);
    expect((await s.http('GET', '/profiles/patchy')).json.profile).toEqual({ tier: 'gold', tags: ['a', 'b'], locale: 'nb-NO' });
  });

  it('PATCH of a missing profile is 404', async () => {
    const res = await s.http('PATCH', '/profiles/nobody-here', { patch: [{ op: 'add', path: '/a', value: 1 }] });
    expect(res.status).toBe(404);
  });

  it.each([
    ['not JSON', '{not json', /not valid JSON/],
    ['profile of the wrong type', { profile: 'text' }, /body\.profile/],
    ['profile missing', { other: 1 }, /body\.profile/],
    ['profile as an array', { profile: [1, 2] }, /body\.profile/],
    ['no body at all', undefined, /body/],
  ])('refuses a body with %s with 400 naming the problem and stores nothing', async (_, body, message) => {
    const res = await s.http('PUT', '/profiles/bad-input', body);
    expect([res.status, res.json.type]).toEqual([400, 'invalid_request_error']);
    expect(res.json.message).toMatch(message);
    expect((await s.http('GET', '/profiles/bad-input')).status).toBe(404);
  });

  it('refuses a body over the size limit with 413 and stores nothing', async () => {
    const res = await s.http('PUT', '/profiles/huge', { profile: { blob: 'x'.repeat(300 * 1024) } });
    expect([res.status, res.json.type]).toEqual([413, 'invalid_request_error']);
    expect((await s.http('GET', '/profiles/huge')).status).toBe(404);
  });

  it('DELETE removes the profile; a later GET is 404', async () => {
    await s.http('PUT', '/profiles/gone', { profile: { email: 'g@x.io' } });
    expect((await s.http('DELETE', '/profiles/gone')).status).toBe(204);
    expect((await s.http('GET', '/profiles/gone')).status).toBe(404);
  });

  it('answers 404 for an unknown path and 405 for a wrong method, both Courier-shaped', async () => {
    const unknown = await s.http('GET', '/nowhere/at/all');
    expect([unknown.status, unknown.json.type]).toEqual([404, 'invalid_request_error']);
    const wrong = await s.http('POST', '/profiles/x/y/lists/z/w/q/extra', {});
    expect(wrong.status).toBeGreaterThanOrEqual(400);
  });

  it('GET /health answers 200 without a key', async () => {
    expect((await s.http('GET', '/health', undefined, { key: null })).status).toBe(200);
  });
});

describe('profiles through the official Courier SDK', () => {
  it('replace, merge (create), retrieve and delete', async () => {
    const id = 'sdk/user 1@x.io';
    await s.client.profiles.replace(id, { profile: { email: 'a@example.test', plan: 'pro' } });
    await s.client.profiles.create(id, { profile: { phone_number: '+15550001' } });
    const { profile } = await s.client.profiles.retrieve(id);
    expect(profile).toEqual({ email: 'a@example.test', plan: 'pro', phone_number: '+15550001' });
    await s.client.profiles.update(id, { patch: [{ op: 'replace', path: '/plan', value: 'team' }] });
    expect((await s.client.profiles.retrieve(id)).profile?.plan).toBe('team');
    await s.client.profiles.delete(id);
    await expect(s.client.profiles.retrieve(id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('a wrong key surfaces as the SDK AuthenticationError', async () => {
    const wrong = new Courier({ apiKey: 'wrong', baseURL: s.url, maxRetries: 0 });
    await expect(wrong.profiles.retrieve('x')).rejects.toBeInstanceOf(AuthenticationError);
  });
});
