import { BadRequestError, ConflictError, NotFoundError } from '@trycourier/courier';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually, uid } from '../helpers/wait';

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s?.stop());

const enc = encodeURIComponent;

describe('tenants', () => {
  it('creates, replaces and reads a tenant with every field, through the SDK', async () => {
    const id = uid('acme/eng');
    const body = {
      name: 'Acme Engineering',
      brand_id: 'acme-brand',
      properties: { timezone: 'America/Los_Angeles', budget: 12 },
      user_profile: { company_name: 'Acme Corp' },
      default_preferences: { items: [{ id: 'alerts', status: 'OPTED_IN' as const, has_custom_routing: true, custom_routing: ['email' as const] }] },
    };
    const created = await s.client.tenants.update(id, body);
    expect(created).toMatchObject({ id, ...body, parent_tenant_id: null });
    expect(await s.client.tenants.retrieve(id)).toEqual(created);
    await s.client.tenants.update(id, { name: 'Renamed' });
    expect(await s.client.tenants.retrieve(id)).toMatchObject({ id, name: 'Renamed', properties: {}, brand_id: null });
  });

  it('refuses a missing parent and a bad body with 400 naming the field, and stores nothing', async () => {
    const id = uid('orphan');
    const missing = await s.http('PUT', `/tenants/${id}`, { name: 'x', parent_tenant_id: 'no-such-parent' });
    expect([missing.status, missing.json.message]).toEqual([400, expect.stringContaining('body.parent_tenant_id')]);
    const bad = await s.http('PUT', `/tenants/${id}`, { name: 5, properties: [] });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toMatch(/body\.name/);
    await expect(s.client.tenants.retrieve(id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('builds a 6-level tree, refuses every cycle, and loads the nearest four layers as context', async () => {
    const ids = Array.from({ length: 6 }, (_, i) => uid(`lvl${i}`));
    for (const [i, id] of ids.entries()) await s.client.tenants.update(id, { name: `level ${i}`, ...(i ? { parent_tenant_id: ids[i - 1] } : {}) });
    await expect(s.client.tenants.update(ids[0], { name: 'root', parent_tenant_id: ids[5] })).rejects.toBeInstanceOf(BadRequestError);
    await expect(s.client.tenants.update(ids[2], { name: 'self', parent_tenant_id: ids[2] })).rejects.toBeInstanceOf(BadRequestError);
    expect((await s.client.tenants.retrieve(ids[0])).parent_tenant_id).toBeNull();

    const explain = await s.http('GET', `/users/someone/preferences/alerts/explain?tenant_id=${ids[5]}`);
    expect(explain.status).toBe(200);
    expect(explain.json.loaded_tenants).toEqual(ids.slice(2));
    const mid = await s.http('GET', `/users/someone/preferences/alerts/explain?tenant_id=${ids[3]}`);
    expect(mid.json.loaded_tenants).toEqual(ids.slice(0, 4));
  });

  it('lists children by parent and all tenants, paging with the tenants-style envelope', async () => {
    const parent = uid('parent');
    await s.client.tenants.update(parent, { name: 'p' });
    const kids = Array.from({ length: 105 }, (_, i) => `${parent}-kid-${String(i).padStart(3, '0')}`);
    await Promise.all(kids.map((k) => s.client.tenants.update(k, { name: k, parent_tenant_id: parent })));
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await s.client.tenants.list({ parent_tenant_id: parent, limit: 40, cursor });
      expect(page).toMatchObject({ type: 'list', url: '/tenants' });
      seen.push(...page.items!.map((t) => t.id));
      cursor = page.has_more ? page.cursor! : undefined;
      if (cursor) expect(page.next_url).toContain('cursor=');
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(kids);
    const all = await s.http('GET', '/tenants?limit=100');
    expect(all.json.items.length).toBe(100);
    expect(all.json.has_more).toBe(true);
  });

  it('refuses to delete a tenant with children (409) and deletes a leaf with its memberships', async () => {
    const parent = uid('dp');
    const leaf = uid('dl');
    await s.client.tenants.update(parent, { name: 'p' });
    await s.client.tenants.update(leaf, { name: 'l', parent_tenant_id: parent });
    await s.client.users.tenants.addSingle(leaf, { user_id: 'member-1' });
    await expect(s.client.tenants.delete(parent)).rejects.toBeInstanceOf(ConflictError);
    await s.client.tenants.delete(leaf);
    await expect(s.client.tenants.retrieve(leaf)).rejects.toBeInstanceOf(NotFoundError);
    await eventually(
      () => s.client.users.tenants.list('member-1'),
      (p) => !p.items!.some((m) => m.tenant_id === leaf),
    );
    await s.client.tenants.delete(parent);
  });

  it('rejects a forged cursor with 400 and an out-of-range limit with 400', async () => {
    expect((await s.http('GET', '/tenants?cursor=forged')).status).toBe(400);
    const foreign = Buffer.from(JSON.stringify({ pk: 'PROFILE#x', sk: 'y', gsi1pk: 'OTHER', gsi1sk: 'z' })).toString('base64url');
    expect((await s.http('GET', `/tenants?cursor=${foreign}`)).status).toBe(400);
    expect((await s.http('GET', '/tenants?limit=500')).json.message).toMatch(/query\.limit/);
  });

  it('sets and removes one default preference item', async () => {
    const t = uid('prefs');
    await s.client.tenants.update(t, { name: 't' });
    await s.client.tenants.preferences.items.update('alerts', { tenant_id: t, status: 'OPTED_OUT' });
    await s.client.tenants.preferences.items.update('news', { tenant_id: t, status: 'OPTED_IN', has_custom_routing: true, custom_routing: ['sms'] });
    expect((await s.client.tenants.retrieve(t)).default_preferences?.items).toEqual([
      { id: 'alerts', status: 'OPTED_OUT' },
      { id: 'news', status: 'OPTED_IN', has_custom_routing: true, custom_routing: ['sms'] },
    ]);
    await s.client.tenants.preferences.items.delete('alerts', { tenant_id: t });
    expect((await s.client.tenants.retrieve(t)).default_preferences?.items?.map((i) => i.id)).toEqual(['news']);
    expect((await s.http('PUT', `/tenants/${uid('nope')}/default_preferences/items/x`, { status: 'OPTED_IN' })).status).toBe(404);
  });
});

describe('memberships', () => {
  it('adds, lists both ways past 100, and removes memberships', async () => {
    const t = uid('big');
    await s.client.tenants.update(t, { name: 'big' });
    const users = Array.from({ length: 105 }, (_, i) => `${t}-u${String(i).padStart(3, '0')}`);
    await Promise.all(users.map((u) => s.client.users.tenants.addSingle(t, { user_id: u, profile: { seat: u } })));
    const seen: { user_id?: string | null; profile?: unknown }[] = [];
    let cursor: string | undefined;
    do {
      const page = await s.client.tenants.listUsers(t, { cursor, limit: 50 });
      expect(page).toMatchObject({ type: 'list', url: `/tenants/${enc(t)}/users` });
      seen.push(...page.items!);
      cursor = page.has_more ? page.cursor! : undefined;
    } while (cursor);
    expect(seen.map((m) => m.user_id)).toEqual(users);
    expect(seen[0]).toEqual({ type: 'user', tenant_id: t, user_id: users[0], profile: { seat: users[0] } });

    const other = uid('other');
    await s.client.tenants.update(other, { name: 'other' });
    await s.client.users.tenants.addMultiple(users[0], { tenants: [{ tenant_id: other, profile: { role: 'admin' } }] });
    const mine = await eventually(
      () => s.client.users.tenants.list(users[0]),
      (p) => p.items!.length === 2,
    );
    expect(mine.items!.map((m) => m.tenant_id).sort()).toEqual([t, other].sort());

    await s.client.users.tenants.removeSingle(other, { user_id: users[0] });
    await eventually(
      () => s.client.users.tenants.list(users[0]),
      (p) => p.items!.length === 1,
    );
    await s.client.users.tenants.removeAll(users[0]);
    await eventually(
      () => s.client.users.tenants.list(users[0]),
      (p) => p.items!.length === 0,
    );
  });

  it('flags every membership of a user in several tenants as shared, even when added concurrently', async () => {
    const { listTenantMembers } = require('../../lambdas/store/tenants') as typeof import('../../lambdas/store/tenants');
    const p = uid('shared');
    const tenants = Array.from({ length: 6 }, (_, i) => `${p}-t${i}`);
    for (const t of tenants) await s.client.tenants.update(t, { name: t });
    await s.client.users.tenants.addSingle(tenants[5], { user_id: `${p}-alone` });
    await Promise.all(tenants.slice(0, 5).map((t) => s.client.users.tenants.addSingle(t, { user_id: `${p}-many` })));
    const flags = async (t: string) => (await listTenantMembers(t, 10)).items.map((m) => [m.user_id, m.shared]);
    for (const t of tenants.slice(0, 5)) expect(await flags(t)).toEqual([[`${p}-many`, true]]);
    expect(await flags(tenants[5])).toEqual([[`${p}-alone`, false]]);
    await s.client.users.tenants.addSingle(tenants[5], { user_id: `${p}-many` });
    expect(await flags(tenants[5])).toEqual([
      [`${p}-alone`, false],
      [`${p}-many`, true],
    ]);
  });

  it('refuses a membership of an unknown tenant with 400 naming it', async () => {
    const res = await s.http('PUT', '/users/u1/tenants', { tenants: [{ tenant_id: uid('ghost') }] });
    expect([res.status, res.json.message]).toEqual([400, expect.stringContaining('body.tenants.0.tenant_id')]);
    expect((await s.http('PUT', `/users/u1/tenants/${uid('ghost')}`, {})).status).toBe(400);
  });
});

describe('access patterns', () => {
  it('never issues a Scan: every read above was a GetItem, BatchGetItem or Query', () => {
    const commands = new Set(s.commands());
    expect(commands.has('Query')).toBe(true);
    expect([...commands].filter((c) => c.includes('Scan'))).toEqual([]);
  });
});
